package sipx_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/adaptertest"
	"github.com/pbxbatch/pbxbatch/adapters/sipx"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/sim"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func simkitThrottleAll() simkit.Options {
	return simkit.Options{FaultRate: 1, Faults: []simkit.Fault{{Kind: simkit.Fault429}}}
}

type testSim struct {
	sim    *sim.Sim
	srv    *httptest.Server
	target adapters.Target
}

func startSim(t testing.TB, o sim.Options) *testSim {
	t.Helper()
	s := sim.New(o)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &testSim{sim: s, srv: srv, target: adapters.Target{
		Name: "sim", Adapter: "sipx", URL: srv.URL, Username: "superadmin", Password: adapters.NewSecret("1234"),
		HTTPClient: srv.Client(),
	}}
}

func open(t testing.TB, ts *testSim) adapters.Conn {
	t.Helper()
	return adaptertest.Open(t, sipx.New(), ts.target)
}

// fixture returns valid records; references name fixture 0 of their kind,
// except lines, whose key is (phone, user): line i > 0 names the user
// "line-user-<i>", which the test creates beforehand.
func fixture(kind string, i int) schemas.Record {
	n := fmt.Sprint(i)
	switch kind {
	case "permission":
		return schemas.Record{"label": "Conformance " + n, "description": "permission " + n, "defaultValue": false}
	case "user":
		return schemas.Record{"userName": fmt.Sprint(7000 + i), "firstName": "First" + n, "lastName": "Last" + n,
			"pin": "pin-" + n, "sipPassword": "sip-secret-" + n, "emailAddress": "u" + n + "@example.com",
			"aliases": []any{"alias" + n}, "groups": []any{"staff", "floor" + n}, "permissions": []any{"Conformance 0"}, "branchName": "Berlin"}
	case "call_group":
		return schemas.Record{"name": "hunt" + n, "extension": fmt.Sprint(8000 + i), "description": "group " + n, "enabled": true,
			"rings": []any{"7000"}, "ringTypes": []any{"immediate"}, "ringExpirations": []any{json.Number("15")}}
	case "park_orbit":
		return schemas.Record{"name": "park" + n, "extension": fmt.Sprint(9000 + i), "description": "orbit " + n, "enabled": true, "music": "/var/moh/" + n + ".wav"}
	case "phone":
		return schemas.Record{"serialNumber": fmt.Sprintf("0004f2%06x", i), "modelId": "polycom335", "description": "desk " + n,
			"groups": []any{"floor1"}, "deviceVersion": "polycom4.0"}
	case "line":
		user := "7000"
		if i > 0 {
			user = "line-user-" + n
		}
		return schemas.Record{"phone": "0004f2000000", "user": user}
	}
	panic("no fixture for " + kind)
}

func update(kind string, r schemas.Record) schemas.Record {
	switch kind {
	case "user":
		r["firstName"] = "Renamed"
		r["groups"] = []any{"staff", "managers", "night"}
		r["aliases"] = []any{"alias-new"}
		r["branchName"] = "Stockholm"
	case "phone":
		r["description"] = "moved to floor 2"
		r["groups"] = []any{"floor2"}
	case "permission":
		r["description"] = "changed"
		r["defaultValue"] = false
	}
	return r
}

func conformanceConfig(ts *testSim) adaptertest.Config {
	return adaptertest.Config{
		Adapter: sipx.New(), Target: ts.target, Fixture: fixture, Update: update,
		RevokeAuth:  func() { ts.sim.SetPassword("superadmin", "revoked") },
		RestoreAuth: func() { ts.sim.SetPassword("superadmin", "1234") },
	}
}

func seedLineUsers(t testing.TB, ts *testSim) {
	t.Helper()
	c := open(t, ts)
	for _, i := range []int{1} {
		rec := schemas.Record{"userName": fmt.Sprintf("line-user-%d", i)}
		if _, err := c.Apply(context.Background(), adapters.Change{Kind: "user", Action: adapters.Create, Record: rec}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConformance runs the suite, its fault mode included.
func TestConformance(t *testing.T) {
	ts := startSim(t, sim.Options{})
	seedLineUsers(t, ts)
	cfg := conformanceConfig(ts)
	cfg.Simulator = func(t testing.TB, o simkit.Options) (adapters.Target, func() simkit.StatsSnapshot) {
		ts := startSim(t, sim.Options{Options: o})
		// Seed through the simulator without its switches, uncounted.
		raw := httptest.NewServer(ts.sim)
		t.Cleanup(raw.Close)
		seed := *ts
		seed.target.URL = raw.URL
		seedLineUsers(t, &seed)
		return ts.target, ts.sim.Stats().Snapshot
	}
	adaptertest.Run(t, cfg)
}

// TestConformanceUpstreamServer runs the suite against a server that names
// array items as the upstream code does (user, permission, …).
func TestConformanceUpstreamServer(t *testing.T) {
	ts := startSim(t, sim.Options{UpstreamItemNames: true})
	seedLineUsers(t, ts)
	adaptertest.Run(t, conformanceConfig(ts))
}

// countingTransport counts the requests that reach the network.
type countingTransport struct {
	n    atomic.Int64
	body atomic.Value
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		c.body.Store(string(b))
	}
	return c.next.RoundTrip(r)
}

// TestManageNeverSentWithoutExactSearch proves the guard: whatever a
// Manage* request looks like, it leaves the adapter only with exactly one
// exact key, because sipXconfig applies a manage request without a search
// to every user or phone. The check sits in the one function every request
// goes through, so no code path can bypass it.
func TestManageNeverSentWithoutExactSearch(t *testing.T) {
	ts := startSim(t, sim.Options{})
	ct := &countingTransport{next: ts.srv.Client().Transport}
	ts.target.HTTPClient = &http.Client{Transport: ct}
	c := open(t, ts).(*sipx.Conn)
	for _, n := range []string{"201", "202"} {
		if _, err := c.Apply(context.Background(), adapters.Change{Kind: "user", Action: adapters.Create, Record: schemas.Record{"userName": n, "groups": []any{"g"}}}); err != nil {
			t.Fatal(err)
		}
	}
	yes := true
	bad := []api.Manage{
		api.ManageUser{DeleteUser: &yes},
		&api.ManageUser{DeleteUser: &yes},
		api.ManageUser{Search: &api.UserSearch{}, DeleteUser: &yes},
		api.ManageUser{Search: &api.UserSearch{ByFuzzyUserNameOrAlias: "20"}, DeleteUser: &yes},
		api.ManageUser{Search: &api.UserSearch{ByGroup: "g"}, DeleteUser: &yes},
		api.ManageUser{Search: &api.UserSearch{ByUserName: "201", ByGroup: "g"}, DeleteUser: &yes},
		api.ManageUser{Search: &api.UserSearch{ByUserName: " 201"}, DeleteUser: &yes},
		func() api.ManageUser { m := api.ManageUser{Search: &api.UserSearch{}}; m.Search.Nil = "true"; return m }(),
		api.ManagePhone{DeletePhone: &yes},
		api.ManagePhone{Search: &api.PhoneSearch{ByGroup: "g"}, DeletePhone: &yes},
		api.ManagePermission{DeletePermission: &yes},
		api.ManagePermission{Search: &api.PermissionSearch{ByName: "perm_1", ByLabel: "x"}, DeletePermission: &yes},
	}
	before := ct.n.Load()
	for i, m := range bad {
		err := sipx.SendManage(c, context.Background(), m)
		if adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), "refusing to send") {
			t.Errorf("case %d (%+v): got %v, want a refusal", i, m, err)
		}
	}
	// Sent under a lying op name, through the raw call path, too.
	if err := sipx.SendRaw(c, context.Background(), api.UserService, "ManageUser", struct{ DeleteUser bool }{true}); err == nil {
		t.Error("a ManageUser that is not an api.ManageUser was sent")
	}
	if n := ct.n.Load() - before; n != 0 {
		t.Fatalf("%d manage requests reached the server", n)
	}
	if len(ts.sim.Snapshot().Users) != 3 {
		t.Fatalf("users were deleted: %+v", ts.sim.Snapshot().Users)
	}
	// The one accepted form goes out with its search in the envelope.
	if err := sipx.SendManage(c, context.Background(), api.ManageUser{Search: &api.UserSearch{ByUserName: "201"}, DeleteUser: &yes}); err != nil {
		t.Fatal(err)
	}
	if body := ct.body.Load().(string); !strings.Contains(body, "<search><byUserName>201</byUserName></search>") {
		t.Fatalf("sent %s", body)
	}
	if snap := ts.sim.Snapshot(); snap.User("201") != nil || snap.User("202") == nil {
		t.Fatalf("exact delete: %+v", snap.Users)
	}
}

func TestErrorClassification(t *testing.T) {
	ts := startSim(t, sim.Options{})
	c := open(t, ts)
	ctx := context.Background()
	apply := func(kind string, act adapters.Action, r schemas.Record) error {
		_, err := c.Apply(ctx, adapters.Change{Kind: kind, Action: act, Record: r})
		return err
	}
	if err := apply("user", adapters.Create, schemas.Record{"userName": "300", "aliases": []any{"reception"}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		err   error
		class adapters.Class
		text  string
	}{
		{"alias taken by a user", apply("call_group", adapters.Create, schemas.Record{"name": "reception"}), adapters.Conflict, "one namespace"},
		{"unknown model", apply("phone", adapters.Create, schemas.Record{"serialNumber": "0004f2aaaaaa", "modelId": "nokia3310"}), adapters.Permanent, "phone model doesn't exist: nokia3310"},
		{"ring to unknown user", apply("call_group", adapters.Create, schemas.Record{"name": "hg", "rings": []any{"999"}}), adapters.Permanent, "Cannot find user with userName: 999"},
		{"unknown permission label", apply("user", adapters.Create, schemas.Record{"userName": "301", "permissions": []any{"Nope"}}), adapters.Permanent, `permission "Nope" does not exist`},
		{"unknown branch", apply("user", adapters.Create, schemas.Record{"userName": "302", "branchName": "Atlantis"}), adapters.Permanent, `branch "Atlantis" does not exist`},
		{"built-in permission", apply("permission", adapters.Delete, schemas.Record{"label": "Voicemail"}), adapters.Permanent, "built into sipXconfig"},
		{"superadmin", apply("user", adapters.Delete, schemas.Record{"userName": "superadmin"}), adapters.Permanent, "belongs to the PBX"},
		{"park orbit update", apply("park_orbit", adapters.Update, schemas.Record{"name": "p"}), adapters.Permanent, "web UI"},
		{"ring lists", apply("call_group", adapters.Create, schemas.Record{"name": "hg2", "rings": []any{"300"}, "ringTypes": []any{"delayed", "immediate"}}), adapters.Permanent, "2 values for 1 members"},
	}
	for _, tc := range cases {
		var e *adapters.Error
		if !errors.As(tc.err, &e) || e.Class != tc.class || !strings.Contains(e.Error(), tc.text) {
			t.Errorf("%s: got %v, want class %s mentioning %q", tc.name, tc.err, tc.class, tc.text)
		}
	}

	bad := ts.target
	bad.Password = adapters.NewSecret("wrong")
	if _, err := sipx.New().Open(ctx, bad); adapters.ClassOf(err) != adapters.Auth || strings.Contains(err.Error(), "wrong") {
		t.Errorf("bad password: %v", err)
	}
	seedOnly := startSim(t, sim.Options{SeedOnly: true})
	c2 := open(t, seedOnly)
	if _, err := c2.Apply(ctx, adapters.Change{Kind: "call_group", Action: adapters.Create, Record: schemas.Record{"name": "g"}}); err != nil {
		t.Fatal(err)
	}
	_, err := c2.Apply(ctx, adapters.Change{Kind: "call_group", Action: adapters.Delete, Record: schemas.Record{"name": "g"}})
	if adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), "does not have the operation") {
		t.Errorf("removeCallGroup on a seed-only server: %v", err)
	}
}

func TestCapabilities(t *testing.T) {
	a := sipx.New()
	for _, tc := range []struct {
		kind string
		act  adapters.Action
		ok   bool
	}{
		{"call_group", adapters.Create, true}, {"call_group", adapters.Update, false}, {"call_group", adapters.Delete, true},
		{"park_orbit", adapters.Create, true}, {"park_orbit", adapters.Update, false}, {"park_orbit", adapters.Delete, false},
		{"user", adapters.Update, true}, {"line", adapters.Update, false}, {"line", adapters.Delete, true},
	} {
		if got := a.Supports(tc.kind, tc.act) == ""; got != tc.ok {
			t.Errorf("Supports(%s, %s) = %q", tc.kind, tc.act, a.Supports(tc.kind, tc.act))
		}
	}
}

func TestUserPinChangeAndPermissionsOnUpdate(t *testing.T) {
	ts := startSim(t, sim.Options{})
	c := open(t, ts)
	ctx := context.Background()
	rec := schemas.Record{"userName": "400", "pin": "1111"}
	if _, err := c.Apply(ctx, adapters.Change{Kind: "user", Action: adapters.Create, Record: rec}); err != nil {
		t.Fatal(err)
	}
	// The new PIN works as the user's password (non-admins get 403, not 401).
	rec["pin"] = "2222"
	if _, err := c.Apply(ctx, adapters.Change{Kind: "user", Action: adapters.Update, Record: rec}); err != nil {
		t.Fatal(err)
	}
	as400 := ts.target
	as400.Username, as400.Password = "400", adapters.NewSecret("2222")
	if _, err := sipx.New().Open(ctx, as400); err == nil || !strings.Contains(err.Error(), "not an administrator") {
		t.Errorf("log in with the new PIN: %v, want the not-an-administrator refusal", err)
	}
	rec["permissions"] = []any{"InternationalDialing"}
	_, err := c.Apply(ctx, adapters.Change{Kind: "user", Action: adapters.Update, Record: rec})
	if adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), "cannot change the permissions") {
		t.Errorf("permission change: %v", err)
	}
}

type countingPacer struct{ waits, throttled, ok atomic.Int64 }

func (p *countingPacer) Wait(ctx context.Context) error { p.waits.Add(1); return ctx.Err() }
func (p *countingPacer) Observe(o adapters.Observation) {
	if o.Throttled {
		p.throttled.Add(1)
	} else if !o.Unreachable && !o.Abandoned {
		p.ok.Add(1)
	}
}

// TestEveryRequestWaitsOnThePacer: a line create is two requests, and both
// are paced; a 429 is reported to the pacer as a throttle.
func TestEveryRequestWaitsOnThePacer(t *testing.T) {
	ts := startSim(t, sim.Options{})
	seed := open(t, ts)
	ctx := context.Background()
	for _, ch := range []adapters.Change{
		{Kind: "user", Action: adapters.Create, Record: schemas.Record{"userName": "201"}},
		{Kind: "phone", Action: adapters.Create, Record: schemas.Record{"serialNumber": "0004f2000001", "modelId": "snom370"}},
	} {
		if _, err := seed.Apply(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	p := &countingPacer{}
	ts.target.Pacer = p
	c := open(t, ts) // one request: the credential check
	if _, err := c.Apply(ctx, adapters.Change{Kind: "line", Action: adapters.Create, Record: schemas.Record{"phone": "0004f2000001", "user": "201"}}); err != nil {
		t.Fatal(err)
	}
	if p.waits.Load() != 3 || p.ok.Load() != 3 {
		t.Fatalf("waits %d, successes %d; want 3 requests paced", p.waits.Load(), p.ok.Load())
	}

	busy := httptest.NewServer(ts.sim.Wrap(simkitThrottleAll()))
	t.Cleanup(busy.Close)
	bt := ts.target
	bt.URL = busy.URL
	if _, err := sipx.New().Open(ctx, bt); adapters.ClassOf(err) != adapters.Throttled || p.throttled.Load() != 1 {
		t.Fatalf("429: %v, throttles reported %d", err, p.throttled.Load())
	}
}

// TestOpenOverTLS: the adapter talks HTTPS to https://host:port, verifying
// the server against the CA it is given, and refuses an unknown one.
func TestOpenOverTLS(t *testing.T) {
	srv, _, err := sim.Start("127.0.0.1:0", sim.Options{Options: simkit.Options{TLS: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	target := adapters.Target{URL: srv.URL, Username: "superadmin", Password: adapters.NewSecret("1234"), TLS: &tls.Config{RootCAs: pool}}
	c, err := sipx.New().Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Get(context.Background(), "permission", schemas.Record{"label": "Voicemail"}); err != nil {
		t.Fatal(err)
	}
	target.TLS = nil // system roots: the self-signed certificate is refused
	if _, err := sipx.New().Open(context.Background(), target); adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("unverified server: %v", err)
	}
}
