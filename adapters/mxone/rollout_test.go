package mxone_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/adaptertest"
	"github.com/pbxbatch/pbxbatch/adapters/mxone"
	"github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// rollout is a small workbook's worth of records, in dependency order.
func rollout() map[string][]schemas.Record {
	out := map[string][]schemas.Record{
		"location": {{"locationName": "Stockholm", "description": "HQ", "cmgCustomerGroup": "1"}},
		"subsystem": {{"subsystemName": "MX-STO", "subsystemType": "TelephonyServer", "location": "Stockholm",
			"numberSeries":   []any{"EX:2000-2999", "R1:5000-5009"},
			"mxoneSubsystem": map[string]any{"ipOrFQDNAddress": "mx.sto.example", "port": "443", "userId": "pm", "password": "exch-pw"}}},
		"department": {
			{"departmentName": "Company", "location": "Stockholm"},
			{"departmentName": "Sales", "location": "Stockholm", "parentDepartment": "Company", "udf1": "SE-01"},
			{"departmentName": "Inbound", "location": "Stockholm", "parentDepartment": "Sales"},
		},
		"security_profile": {{"securityProfileName": "Helpdesk", "accessPrivileges": []any{"User Administration", "Extension Administration"}}},
	}
	types := []string{"virtual", "ip", "mobile", "cordless", "multi_terminal"}
	for i := range 12 {
		uid := fmt.Sprintf("u%02d", i)
		deps := []any{"Inbound"}
		if i%3 == 0 {
			deps = []any{"Sales", "Company"}
		}
		out["user"] = append(out["user"], schemas.Record{"userId": uid, "firstName": "User", "lastName": fmt.Sprint(i),
			"departments": deps, "emailAddress": uid + "@example.com", "newPassword": "pw-" + uid})
		// Every user gets two extensions, written concurrently: their
		// links must both survive.
		for j := range 2 {
			n := 2000 + i*2 + j
			typ := types[(i*2+j)%len(types)]
			x := schemas.Record{"extensionNumber": fmt.Sprint(n), "subsystemName": "MX-STO", "extensionType": typ,
				"owner": uid, "nameIdentity": map[string]any{"firstName": "User", "lastName": fmt.Sprint(i)}}
			switch typ {
			case "ip":
				x["macAddress"] = fmt.Sprintf("00:1A:2B:3C:4D:%02X", n%256)
				x["phoneType"] = "6867i"
			case "mobile":
				x["defaultRemoteNumber"] = fmt.Sprintf("+467012%05d", n)
				x["extensionRouteType"] = "ISDN"
			case "cordless":
				x["internationalPortableEquipmentIdentity"] = fmt.Sprintf("00777%05d", n)
				x["authenticationKey"] = "31415926"
			case "multi_terminal":
				x["ipExtension"] = map[string]any{"macAddress": fmt.Sprintf("00:1A:2B:3C:4E:%02X", n%256), "maximumTerminals": 2}
				x["mobileExtension"] = map[string]any{"defaultRemoteNumber": fmt.Sprintf("+467013%05d", n)}
			}
			out["extension"] = append(out["extension"], x)
		}
	}
	return out
}

var rolloutOrder = []string{"location", "subsystem", "department", "security_profile", "user", "extension"}

// applyAll creates every record, kind by kind, concurrently within a kind
// (departments in order: children need their parents).
func applyAll(t *testing.T, c adapters.Conn, recs map[string][]schemas.Record) {
	t.Helper()
	ctx := context.Background()
	for _, kind := range rolloutOrder {
		if kind == "department" {
			for _, r := range recs[kind] {
				if _, err := c.Apply(ctx, adapters.Change{Kind: kind, Action: adapters.Create, Record: r}); err != nil {
					t.Fatalf("create department: %v", err)
				}
			}
			continue
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(recs[kind]))
		for _, r := range recs[kind] {
			wg.Go(func() {
				if _, err := c.Apply(ctx, adapters.Change{Kind: kind, Action: adapters.Create, Record: r}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("create %s: %v", kind, err)
		}
	}
}

// checkState asserts the simulator holds exactly the rollout, linked as
// the records say.
func checkState(t *testing.T, snap sim.Snapshot, recs map[string][]schemas.Record) {
	t.Helper()
	if len(snap.Users) != len(recs["user"]) || len(snap.Extensions) != len(recs["extension"]) || len(snap.Departments) != 3 {
		t.Fatalf("simulator holds %d users, %d extensions, %d departments; want %d, %d, 3",
			len(snap.Users), len(snap.Extensions), len(snap.Departments), len(recs["user"]), len(recs["extension"]))
	}
	want := map[string][]string{}
	for _, x := range recs["extension"] {
		want[x.String("owner")] = append(want[x.String("owner")], x.String("extensionNumber")+"@MX-STO")
	}
	for _, u := range snap.Users {
		got := slices.Clone(u.Extensions)
		slices.Sort(got)
		if !slices.Equal(got, want[u.UserID]) {
			t.Errorf("user %s is linked to %v, want %v", u.UserID, got, want[u.UserID])
		}
	}
	if d, _ := snap.Department("Inbound"); d.Parent != "Sales" || d.Location != "Stockholm" {
		t.Errorf("department Inbound = %+v", d)
	}
	if u, _ := snap.User("u00"); !slices.Equal(u.Departments, []string{"Sales", "Company"}) || !u.HasPassword {
		t.Errorf("user u00 = %+v, want departments [Sales Company] (primary first) and a password", u)
	}
}

func TestRolloutRoundTrip(t *testing.T) {
	ts := startSim(t, sim.Options{})
	c := open(t, ts)
	ctx := context.Background()
	recs := rollout()
	applyAll(t, c, recs)
	checkState(t, ts.sim.Snapshot(), recs)

	// Every record reads back exactly as written (secrets aside), by Get
	// and by List.
	set := schemas.MustLoad("mxone")
	for _, kind := range rolloutOrder {
		k := set.Kind(kind)
		listed := map[string]schemas.Record{}
		if err := c.List(ctx, kind, func(r schemas.Record) error { listed[k.KeyOf(r)] = r; return nil }); err != nil {
			t.Fatalf("List %s: %v", kind, err)
		}
		for _, want := range recs[kind] {
			want = want.Clone()
			for _, p := range k.SecretPaths() {
				want.Delete(p)
			}
			got, err := c.Get(ctx, kind, k.KeyRecord(want))
			if err != nil {
				t.Fatalf("Get %s %s: %v", kind, k.KeyOf(want), err)
			}
			if !got.Equal(want) {
				t.Errorf("Get %s %s =\n  %v\nwant\n  %v", kind, k.KeyOf(want), got, want)
			}
			if l := listed[k.KeyOf(want)]; !l.Equal(want) {
				t.Errorf("List %s %s =\n  %v\nwant\n  %v", kind, k.KeyOf(want), l, want)
			}
			// What comes back must pass the schema: exports are re-imported.
			if err := validate(k, got); err != nil {
				t.Errorf("%s %s read back does not validate: %v", kind, k.KeyOf(want), err)
			}
		}
	}
	// The read-only catalogues list for audits.
	for _, kind := range []string{"access_privilege", "udf_definition", "number_series"} {
		n := 0
		if err := c.List(ctx, kind, func(schemas.Record) error { n++; return nil }); err != nil || n == 0 {
			t.Errorf("List %s: %d records, %v", kind, n, err)
		}
	}
	if _, err := c.Get(ctx, "number_series", schemas.Record{"subsystemName": "MX-STO", "numberType": "EX", "start": "2000"}); err != nil {
		t.Errorf("Get number series: %v", err)
	}
	if d := ts.sim.Stats().TotalDuplicateCreates(); d != 0 {
		t.Errorf("%d duplicate creates", d)
	}
}

func validate(k *schemas.Kind, r schemas.Record) error {
	return k.Schema.Validate(map[string]any(schemas.Normalize(map[string]any(r)).(map[string]any)))
}

func TestExtensionOwnerAndTypeChanges(t *testing.T) {
	ts := startSim(t, sim.Options{})
	c := open(t, ts)
	ctx := context.Background()
	recs := rollout()
	recs["user"], recs["extension"] = recs["user"][:2], recs["extension"][:1]
	applyAll(t, c, recs)
	x := recs["extension"][0] // 2000, virtual, owner u00
	before, err := c.Get(ctx, "extension", x)
	if err != nil || before.String("owner") != "u00" {
		t.Fatalf("Get = %v, %v; want owner u00", before, err)
	}

	// Moving the extension to another user unlinks it from the first.
	moved := before.Clone()
	moved["owner"] = "u01"
	moved["description"] = "moved"
	if _, err := c.Apply(ctx, adapters.Change{Kind: "extension", Action: adapters.Update, Record: moved, Before: before}); err != nil {
		t.Fatal(err)
	}
	snap := ts.sim.Snapshot()
	if u, _ := snap.User("u00"); len(u.Extensions) != 0 {
		t.Errorf("u00 still linked to %v", u.Extensions)
	}
	if u, _ := snap.User("u01"); !slices.Equal(u.Extensions, []string{"2000@MX-STO"}) {
		t.Errorf("u01 linked to %v", u.Extensions)
	}

	// Changing the type is refused with a reason, before any request.
	retyped := moved.Clone()
	retyped["extensionType"] = "ip"
	_, err = c.Apply(ctx, adapters.Change{Kind: "extension", Action: adapters.Update, Record: retyped, Before: moved})
	if adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), "delete it and create it again") {
		t.Errorf("type change: %v", err)
	}

	// A linked extension is unlinked, then deleted.
	if _, err := c.Apply(ctx, adapters.Change{Kind: "extension", Action: adapters.Delete, Record: x}); err != nil {
		t.Fatal(err)
	}
	snap = ts.sim.Snapshot()
	if _, ok := snap.Extension("2000", "MX-STO"); ok {
		t.Error("extension 2000 still exists")
	}
	if u, _ := snap.User("u01"); len(u.Extensions) != 0 {
		t.Errorf("u01 still linked to %v", u.Extensions)
	}

	// Clearing a field: a full PUT sends it empty.
	u := recs["user"][1].Clone()
	u.Delete("newPassword")
	u["emailAddress"] = "new@example.com"
	if _, err := c.Apply(ctx, adapters.Change{Kind: "user", Action: adapters.Update, Record: u}); err != nil {
		t.Fatal(err)
	}
	u.Delete("emailAddress")
	if _, err := c.Apply(ctx, adapters.Change{Kind: "user", Action: adapters.Update, Record: u}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, "user", u)
	if err != nil || got.String("emailAddress") != "" || got.String("firstName") != "User" {
		t.Errorf("after clearing the e-mail: %v, %v", got, err)
	}
	if s, _ := ts.sim.Snapshot().User("u01"); !s.HasPassword {
		t.Error("an update without newPassword must keep the password")
	}
}

// TestRolloutWithFaultsCreatesOnce applies the rollout through the
// retrying decorator while the simulator injects every default fault,
// including writes that are applied but answered with a 500, a timeout or a
// dropped connection: everything ends created and linked, and the simulator
// never sees a duplicate create.
func TestRolloutWithFaultsCreatesOnce(t *testing.T) {
	o := sim.Options{}
	o.FaultRate = 0.15
	o.FaultSeed = 3
	o.TimeoutHold = 2 * 1e9
	o.RetryAfter = 1e6
	ts := startSim(t, o)
	ts.target.Timeout = 1e9
	c, err := adaptertest.Retrying(mxone.New()).Open(context.Background(), ts.target)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recs := rollout()
	applyAll(t, c, recs)
	checkState(t, ts.sim.Snapshot(), recs)
	st := ts.sim.Stats()
	if st.TotalFaults() == 0 {
		t.Fatal("no fault injected")
	}
	if d := st.TotalDuplicateCreates(); d != 0 {
		t.Errorf("%d duplicate create attempts (%v)", d, st.DuplicateCreates)
	}
	t.Logf("%d requests, %d faults: %v", st.TotalRequests(), st.TotalFaults(), st.Faults)
}
