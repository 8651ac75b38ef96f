package mxone_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/adaptertest"
	"github.com/pbxbatch/pbxbatch/adapters/mxone"
	"github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// testSim is a simulator on a loopback port with a clock the test can
// move forward (to expire tokens).
type testSim struct {
	sim    *sim.Sim
	srv    *simkit.Server
	offset atomic.Int64 // added to the simulator's clock, ns
	target adapters.Target
}

func startSim(t testing.TB, o sim.Options) *testSim {
	t.Helper()
	ts := &testSim{}
	o.Now = func() time.Time { return time.Now().Add(time.Duration(ts.offset.Load())) }
	s, err := sim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	user, pass := s.Credentials()
	ts.sim, ts.srv = s, srv
	ts.target = adapters.Target{Name: "sim", Adapter: "mxone", URL: srv.URL, Username: user,
		Password: adapters.NewSecret(pass), Timeout: 5 * time.Second, HTTPClient: srv.Client()}
	return ts
}

// expire moves the simulator's clock past every token's lifetime.
func (ts *testSim) expire(d time.Duration) { ts.offset.Add(int64(d)) }

func open(t *testing.T, ts *testSim) adapters.Conn {
	t.Helper()
	return adaptertest.Open(t, mxone.New(), ts.target)
}

// fixture returns valid records; references name fixture 0 of their kind.
func fixture(kind string, i int) schemas.Record {
	n := fmt.Sprint(i)
	switch kind {
	case "location":
		return schemas.Record{"locationName": "Site " + n, "description": "site number " + n}
	case "subsystem":
		return schemas.Record{"subsystemName": "MX" + n, "subsystemType": "TelephonyServer", "location": "Site 0",
			"numberSeries":   []any{"EX:1000-1999", "R1:5000-5009"},
			"mxoneSubsystem": map[string]any{"ipOrFQDNAddress": "10.0.0." + n, "port": "8443", "userId": "pm", "password": "mx-secret-" + n, "useHttps": true}}
	case "department":
		r := schemas.Record{"departmentName": "Dept " + n, "location": "Site 0", "description": "department " + n, "udf2": "cost centre " + n}
		if i > 0 {
			r["parentDepartment"] = "Dept 0"
		}
		return r
	case "security_profile":
		return schemas.Record{"securityProfileName": "Profile " + n, "description": "profile " + n,
			"accessPrivileges": []any{"User Administration", "Extension Administration"}}
	case "user":
		return schemas.Record{"userId": "user" + n, "firstName": "First" + n, "lastName": "Last" + n,
			"emailAddress": "user" + n + "@example.com", "newPassword": "pw-secret-" + n, "departments": []any{"Dept 0"},
			"sms": "+4670" + fmt.Sprintf("%07d", i), "udf7": "x" + n}
	case "extension":
		r := schemas.Record{"extensionNumber": fmt.Sprint(1000 + i%1000), "subsystemName": "MX0", "extensionType": "ip",
			"macAddress": "00:1A:2B:3C:4D:5E", "ipExtensionType": "IPManualLogin", "serverNumber": 1,
			"nameIdentity": map[string]any{"firstName": "Ext", "lastName": n}, "description": "extension " + n}
		if i == 0 {
			r["owner"] = "user0"
		}
		if i == 999_999 {
			r["extensionNumber"] = "1999"
		}
		return r
	}
	panic("no fixture for " + kind)
}

func conformanceConfig(ts *testSim) adaptertest.Config {
	return adaptertest.Config{
		Adapter: mxone.New(), Target: ts.target, Fixture: fixture,
		Paging: 205, PagingKind: "location",
		ExpireAuth: func() { ts.expire(2 * sim.DefaultTokenLifetime) },
		Written:    writtenKinds(ts),
		Timeout:    3 * time.Minute,
	}
}

// writtenKinds counts the simulator's write requests by the kind their
// route changes (an extension create also PUTs its owner's user record).
func writtenKinds(ts *testSim) func() map[string]int64 {
	kinds := []struct{ prefix, kind string }{
		{"/user-ms/user/", "user"}, {"/pm-extension-ms/", "extension"},
		{"/system-ms/location/", "location"}, {"/system-ms/department/", "department"},
		{"/system-ms/subsystem/", "subsystem"}, {"/system-ms/udf-definition/", "udf_definition"},
		{"/administrator-ms/security-profiles/", "security_profile"},
	}
	return func() map[string]int64 {
		out := map[string]int64{}
		for route, n := range ts.sim.Stats().Requests {
			method, path, _ := strings.Cut(route, " ")
			if method == http.MethodGet || method == http.MethodHead {
				continue
			}
			for _, k := range kinds {
				if strings.HasPrefix(path, k.prefix) {
					out[k.kind] += n
					break
				}
			}
		}
		return out
	}
}

// TestConformance runs the suite, its fault mode included.
func TestConformance(t *testing.T) {
	ts := startSim(t, sim.Options{})
	cfg := conformanceConfig(ts)
	cfg.Simulator = func(t testing.TB, o simkit.Options) (adapters.Target, func() simkit.StatsSnapshot) {
		ts := startSim(t, sim.Options{Options: o})
		return ts.target, ts.sim.Stats
	}
	adaptertest.Run(t, cfg)
}

// TestConformanceOneBasedPages runs the suite against a simulator that
// numbers style-A pages from 1 (the document's stated default).
func TestConformanceOneBasedPages(t *testing.T) {
	ts := startSim(t, sim.Options{OneBasedPages: true})
	cfg := conformanceConfig(ts)
	cfg.Kinds = []string{"location"}
	adaptertest.Run(t, cfg)
}

// retryingAdapter is a test stand-in for the runner's retry policy: retry
// Retryable and Throttled, and after an Unknown (or a Conflict following a
// failed attempt) read the record back instead of repeating the write.
// TestTLSVerifiedByDefault: a self-signed simulator is refused unless the
// target trusts its certificate, and the refusal is not worth retrying.
func TestTLSVerifiedByDefault(t *testing.T) {
	o := sim.Options{}
	o.TLS = true
	ts := startSim(t, o)
	adaptertest.TLSVerified(t, mxone.New(), ts.target, ts.srv.CAPEM, "location")
}

// TestSessionRenewal: an expired token is renewed with the refresh token
// (not a fresh login) while the refresh token lives, and with a fresh login
// after that.
func TestSessionRenewal(t *testing.T) {
	o := sim.Options{}
	o.TokenLifetime = 10 * time.Minute
	ts := startSim(t, o)
	c := open(t, ts)
	ctx := context.Background()
	get := func() {
		t.Helper()
		if err := c.List(ctx, "location", func(schemas.Record) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	get()
	ts.expire(11 * time.Minute)
	get()
	st := ts.sim.Stats()
	if st.Requests["POST /auth/refresh-token"] != 1 || st.Requests["POST /auth/login"] != 1 {
		t.Fatalf("after one expiry: %d refreshes, %d logins; want 1 and 1", st.Requests["POST /auth/refresh-token"], st.Requests["POST /auth/login"])
	}
	ts.expire(30 * 24 * time.Hour) // past the refresh token's life too
	get()
	st = ts.sim.Stats()
	if st.Requests["POST /auth/login"] != 2 {
		t.Errorf("after the refresh token expired: %d logins, want 2", st.Requests["POST /auth/login"])
	}
}

// TestAmbiguousDepartmentName: PM allows two departments of one name under
// different parents; pbxbatch keys departments by name, so reads of that
// name fail with a message that says what to do.
func TestAmbiguousDepartmentName(t *testing.T) {
	ts := startSim(t, sim.Options{})
	c := open(t, ts)
	ctx := context.Background()
	for _, ch := range []adapters.Change{
		{Kind: "location", Action: adapters.Create, Record: schemas.Record{"locationName": "L"}},
		{Kind: "department", Action: adapters.Create, Record: schemas.Record{"departmentName": "A", "location": "L"}},
		{Kind: "department", Action: adapters.Create, Record: schemas.Record{"departmentName": "B", "location": "L"}},
		{Kind: "department", Action: adapters.Create, Record: schemas.Record{"departmentName": "Sales", "location": "L", "parentDepartment": "A"}},
	} {
		if _, err := c.Apply(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	// The second "Sales" is stored by PM, but cannot be told apart.
	_, _ = c.Apply(ctx, adapters.Change{Kind: "department", Action: adapters.Create,
		Record: schemas.Record{"departmentName": "Sales", "location": "L", "parentDepartment": "B"}})
	_, err := c.Get(ctx, "department", schemas.Record{"departmentName": "Sales"})
	if adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), "rename all but one") {
		t.Errorf("Get of an ambiguous department: %v", err)
	}
}
