package mxone_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
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

func startSim(t *testing.T, o sim.Options) *testSim {
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
		Timeout:    3 * time.Minute,
	}
}

func TestConformance(t *testing.T) {
	ts := startSim(t, sim.Options{})
	adaptertest.Run(t, conformanceConfig(ts))
}

// TestConformanceOneBasedPages runs the suite against a simulator that
// numbers style-A pages from 1 (the document's stated default).
func TestConformanceOneBasedPages(t *testing.T) {
	ts := startSim(t, sim.Options{OneBasedPages: true})
	cfg := conformanceConfig(ts)
	cfg.Kinds = []string{"location"}
	adaptertest.Run(t, cfg)
}

// TestConformanceWithFaults runs the suite through a retrying decorator,
// as the runner does, against a simulator injecting throttling anywhere and
// 500s, timeouts and dropped connections on reads. Faults on writes are
// left to TestRolloutWithFaultsCreatesOnce: after a write that may have
// landed, no client can tell "duplicate" from "my earlier attempt landed",
// which the suite's duplicate and missing-record checks would need.
func TestConformanceWithFaults(t *testing.T) {
	faults, err := simkit.ParseFaults("429,503,read/500,read/timeout,read/drop")
	if err != nil {
		t.Fatal(err)
	}
	o := sim.Options{}
	o.Faults = faults
	o.FaultRate = 0.15
	o.FaultSeed = 7
	o.TimeoutHold = 2 * time.Second
	o.RetryAfter = time.Millisecond
	ts := startSim(t, o)
	ts.target.Timeout = time.Second
	cfg := conformanceConfig(ts)
	cfg.Paging = 0
	cfg.Adapter = retryingAdapter{mxone.New()}
	adaptertest.Run(t, cfg)
	st := ts.sim.Stats()
	if st.TotalFaults() == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
	t.Logf("%d requests, %d faults injected, %d duplicate creates (the suite's own duplicate checks count here)",
		st.TotalRequests(), st.TotalFaults(), st.TotalDuplicateCreates())
}

// retryingAdapter is a test stand-in for the runner's retry policy: retry
// Retryable and Throttled, and after an Unknown (or a Conflict following a
// failed attempt) read the record back instead of repeating the write.
type retryingAdapter struct{ *mxone.Adapter }

func (a retryingAdapter) Open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	return a.open(ctx, t)
}

func (a retryingAdapter) open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	var err error
	for range 20 {
		var c adapters.Conn
		if c, err = mxone.New().Open(ctx, t); err == nil {
			return retryingConn{c}, nil
		}
		if cl := adapters.ClassOf(err); cl == adapters.Auth || cl == adapters.Permanent {
			return nil, err
		}
	}
	return nil, err
}

type retryingConn struct{ adapters.Conn }

func transient(err error) bool {
	c := adapters.ClassOf(err)
	return c == adapters.Retryable || c == adapters.Throttled || c == adapters.Unknown
}

func (c retryingConn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	for {
		r, err := c.Conn.Get(ctx, kind, key)
		if !transient(err) || ctx.Err() != nil {
			return r, err
		}
	}
}

func (c retryingConn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	for {
		var buf []schemas.Record
		err := c.Conn.List(ctx, kind, func(r schemas.Record) error { buf = append(buf, r); return nil })
		if transient(err) && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return err
		}
		for _, r := range buf {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func (c retryingConn) Apply(ctx context.Context, ch adapters.Change) (adapters.Result, error) {
	k := schemas.MustLoad("mxone").Kind(ch.Kind)
	maybeLanded := false
	for attempt := 0; ; attempt++ {
		res, err := c.Conn.Apply(ctx, ch)
		if err == nil || ctx.Err() != nil || attempt > 50 {
			return res, err
		}
		cl := adapters.ClassOf(err)
		switch {
		case cl == adapters.Throttled || cl == adapters.Retryable:
			continue
		case cl == adapters.Unknown:
			maybeLanded = true
			if ch.Action == adapters.Update {
				continue
			}
		case cl == adapters.Conflict && ch.Action == adapters.Create && maybeLanded:
		case cl == adapters.NotFound && ch.Action == adapters.Delete && maybeLanded:
			return res, nil
		default:
			return res, err
		}
		got, gerr := c.Get(ctx, ch.Kind, k.KeyRecord(ch.Record))
		switch {
		case ch.Action == adapters.Delete && adapters.IsNotFound(gerr):
			return res, nil
		case ch.Action == adapters.Create && gerr == nil:
			if sameAs(k, ch.Record, got) {
				return res, nil
			}
			ch = adapters.Change{Kind: ch.Kind, Action: adapters.Update, Record: ch.Record, Before: got}
		}
	}
}

func sameAs(k *schemas.Kind, want, got schemas.Record) bool {
	for _, f := range k.Fields {
		if f.Secret || f.ReadOnly {
			continue
		}
		if w, ok := want.Get(f.Path); ok && fmt.Sprint(schemas.Normalize(w)) != fmt.Sprint(schemas.Normalize(mustGet(got, f.Path))) {
			return false
		}
	}
	return true
}

func mustGet(r schemas.Record, p string) any { v, _ := r.Get(p); return v }

// TestTLSVerifiedByDefault: a self-signed simulator is refused unless the
// target trusts its certificate, and the refusal is not worth retrying.
func TestTLSVerifiedByDefault(t *testing.T) {
	o := sim.Options{}
	o.TLS = true
	ts := startSim(t, o)
	untrusted := ts.target
	untrusted.HTTPClient = nil
	_, err := mxone.New().Open(context.Background(), untrusted)
	if adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("Open against an untrusted certificate: %v, want a permanent 'not trusted' error", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ts.srv.CAPEM)
	trusted := untrusted
	trusted.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c, err := mxone.New().Open(context.Background(), trusted)
	if err != nil {
		t.Fatalf("Open trusting the simulator's CA: %v", err)
	}
	defer c.Close()
	if err := c.List(context.Background(), "location", func(schemas.Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
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
