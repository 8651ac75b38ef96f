package apio_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/adaptertest"
	"github.com/pbxbatch/pbxbatch/adapters/apio"
	"github.com/pbxbatch/pbxbatch/adapters/apio/sim"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// testSim is a simulator on a loopback port.
type testSim struct {
	sim    *sim.Sim
	srv    *simkit.Server
	target adapters.Target
}

func startSim(t testing.TB, o simkit.Options, seed simkit.Seed) *testSim {
	t.Helper()
	s, err := sim.New(o, seed)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	user, pass := s.Credentials()
	return &testSim{sim: s, srv: srv, target: adapters.Target{Name: "sim", Adapter: "apio", URL: srv.URL, Username: user,
		Password: adapters.NewSecret(pass), Timeout: 5 * time.Second, HTTPClient: srv.Client(), Options: map[string]string{}}}
}

func fixture(kind string, i int) schemas.Record {
	if kind != apio.Kind {
		panic("no fixture for " + kind)
	}
	return schemas.Record{"tenant": "footenant", "group": "foogroup", "phoneNumber": fmt.Sprintf("+3221%07d", i),
		"extension": fmt.Sprint(100000 + i), "firstName": "First" + fmt.Sprint(i), "lastName": "Last",
		"cliFirstName": "Cli" + fmt.Sprint(i), "cliLastName": "Line", "callType": "remote"}
}

func conformance(ts *testSim) adaptertest.Config {
	return adaptertest.Config{
		Adapter: apio.New(), Target: ts.target, Fixture: fixture, Paging: 150,
		ExpireAuth: ts.sim.ExpireTokens, RevokeAuth: ts.sim.Revoke, RestoreAuth: ts.sim.Restore,
		Timeout: 3 * time.Minute,
	}
}

// TestConformance runs the suite against the simulator, fault mode
// included.
func TestConformance(t *testing.T) {
	cfg := conformance(startSim(t, simkit.Options{}, nil))
	cfg.Simulator = func(t testing.TB, o simkit.Options) (adapters.Target, func() simkit.StatsSnapshot) {
		ts := startSim(t, o, nil)
		return ts.target, ts.sim.Stats
	}
	adaptertest.Run(t, cfg)
}

// TestConformanceGetAnswers201: the document's example answers the single
// GET with "201 CREATED"; the adapter reads either.
func TestConformanceGetAnswers201(t *testing.T) {
	cfg := conformance(startSim(t, simkit.Options{Settings: map[string]string{sim.SettingGetUserStatus: "201"}}, nil))
	cfg.Paging = 0
	adaptertest.Run(t, cfg)
}

func open(t *testing.T, ts *testSim) adapters.Conn {
	t.Helper()
	return adaptertest.Open(t, apio.New(), ts.target)
}

func creates(n, from int, same bool) []adapters.Change {
	var cs []adapters.Change
	for i := range n {
		r := fixture(apio.Kind, from+i)
		if same {
			r["firstName"], r["cliFirstName"] = "Desk", "Desk"
		}
		cs = append(cs, adapters.Change{Kind: apio.Kind, Action: adapters.Create, Record: r})
	}
	return cs
}

// TestBatchIsOneRequestListOrRange: a contiguous run sharing names goes
// as one range POST, other batches as one list POST; each member lands
// with the fields it was given.
func TestBatchIsOneRequestListOrRange(t *testing.T) {
	ts := startSim(t, simkit.Options{}, nil)
	var bodies []string
	ts.target.WrapTransport = func(next http.RoundTripper) http.RoundTripper {
		return roundTrip(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPost && r.Body != nil {
				b, _ := io.ReadAll(r.Body)
				bodies = append(bodies, string(b))
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
			return next.RoundTrip(r)
		})
	}
	b := open(t, ts).(adapters.Batcher)
	for k, cs := range [][]adapters.Change{creates(10, 0, true), creates(7, 100, false)} {
		bodies = nil
		before := ts.sim.Stats().Requests["POST "+usersPattern]
		res, errs, err := b.ApplyBatch(context.Background(), cs)
		if err != nil || len(res) != len(cs) || len(errs) != len(cs) {
			t.Fatalf("ApplyBatch: %v (%d results)", err, len(res))
		}
		if n := ts.sim.Stats().Requests["POST "+usersPattern] - before; n != 1 {
			t.Errorf("batch of %d: %d POSTs, want 1", len(cs), n)
		}
		want := []string{`"virtualOnNetUsersRange":{"phoneNumberRange":{"minPhoneNumber":"+32210000000","maxPhoneNumber":"+32210000009"},"extensionRange":{"minExtension":"100000","maxExtension":"100009"}`,
			`"virtualOnNetUsers":[`}[k]
		if len(bodies) != 1 || !strings.Contains(bodies[0], want) {
			t.Errorf("batch %d sent %q, want one POST containing %s", k, bodies, want)
		}
	}
	users := ts.sim.Users()
	for _, cs := range [][]adapters.Change{creates(10, 0, true), creates(7, 100, false)} {
		for _, c := range cs {
			u, ok := users["footenant/foogroup/"+c.Record.String("phoneNumber")]
			if !ok || u.Extension != c.Record.String("extension") || u.FirstName != c.Record.String("firstName") || u.CLILastName != "Line" {
				t.Errorf("%s: %+v", c.Record.String("phoneNumber"), u)
			}
		}
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

const usersPattern = "/api/v1/tenants/{tenant}/groups/{group}/services/virtual_users/{$}"

// TestRefusedBatchCreatesNothing: one member that exists refuses the
// whole batch (a batch error, so that the runner reads members back),
// and nothing of it lands.
func TestRefusedBatchCreatesNothing(t *testing.T) {
	ts := startSim(t, simkit.Options{}, nil)
	c := open(t, ts)
	if _, err := c.Apply(context.Background(), creates(1, 3, false)[0]); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.(adapters.Batcher).ApplyBatch(context.Background(), creates(6, 0, false))
	if err == nil || adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("batch with an existing member: %v, want a Permanent refusal saying already exists", err)
	}
	if n := len(ts.sim.Users()); n != 1 {
		t.Errorf("%d users after the refused batch, want 1", n)
	}
}

// TestMissingGroupSaysSo: creating in a group APIO does not have names the
// group, as a Permanent error.
func TestMissingGroupSaysSo(t *testing.T) {
	ts := startSim(t, simkit.Options{}, nil)
	ch := creates(1, 0, false)[0]
	ch.Record["group"] = "nogroup"
	_, err := open(t, ts).Apply(context.Background(), ch)
	if adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), "group nogroup does not exist") {
		t.Errorf("create in a missing group: %v", err)
	}
}

// TestListWalksEveryGroupOrTheOptions: without the groups option List
// finds every group; with it, only those.
func TestListWalksEveryGroupOrTheOptions(t *testing.T) {
	ts := startSim(t, simkit.Options{Settings: map[string]string{sim.SettingGroups: "footenant/foogroup;acme/hq"}}, nil)
	c := open(t, ts)
	for _, g := range []string{"foogroup", "hq"} {
		ch := creates(1, len(g), false)[0]
		if g == "hq" {
			ch.Record["tenant"], ch.Record["group"] = "acme", "hq"
		}
		if _, err := c.Apply(context.Background(), ch); err != nil {
			t.Fatal(err)
		}
	}
	count := func(c adapters.Conn) (n int) {
		if err := c.List(context.Background(), apio.Kind, func(schemas.Record) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(c); n != 2 {
		t.Errorf("List found %d users, want 2", n)
	}
	ts.target.Options[apio.OptGroups] = "acme/hq"
	if n := count(open(t, ts)); n != 1 {
		t.Errorf("List with groups=acme/hq found %d users, want 1", n)
	}
}

// TestTLSVerifiedByDefault: a self-signed simulator is refused unless the
// target trusts its certificate, and the refusal is not worth retrying.
func TestTLSVerifiedByDefault(t *testing.T) {
	ts := startSim(t, simkit.Options{TLS: true}, nil)
	adaptertest.TLSVerified(t, apio.New(), ts.target, ts.srv.CAPEM, apio.Kind)
}

// TestBadOptionsAreRefused: a batch size or group list that cannot be
// read is refused at Open, naming the option.
func TestBadOptionsAreRefused(t *testing.T) {
	ts := startSim(t, simkit.Options{}, nil)
	for opt, val := range map[string]string{apio.OptBatchSize: "0", apio.OptGroups: "footenant"} {
		tg := ts.target
		tg.Options = map[string]string{opt: val}
		if _, err := apio.New().Open(context.Background(), tg); adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), opt) {
			t.Errorf("option %s %q: %v", opt, val, err)
		}
	}
}

// TestGroupsAreACatalogue: groups list and read back; a missing one is
// NotFound, so that plan blocks the rows naming it.
func TestGroupsAreACatalogue(t *testing.T) {
	ts := startSim(t, simkit.Options{Settings: map[string]string{sim.SettingGroups: "footenant/foogroup;acme/hq"}}, nil)
	c := open(t, ts)
	var got []string
	if err := c.List(context.Background(), apio.GroupKind, func(r schemas.Record) error {
		got = append(got, r.String("tenant")+"/"+r.String("group"))
		return nil
	}); err != nil || strings.Join(got, " ") != "acme/hq footenant/foogroup" {
		t.Errorf("List groups: %v %v", got, err)
	}
	if _, err := c.Get(context.Background(), apio.GroupKind, schemas.Record{"tenant": "acme", "group": "hq"}); err != nil {
		t.Errorf("Get acme/hq: %v", err)
	}
	for _, key := range []schemas.Record{{"tenant": "acme", "group": "nope"}, {"tenant": "nope", "group": "hq"}} {
		if _, err := c.Get(context.Background(), apio.GroupKind, key); !adapters.IsNotFound(err) {
			t.Errorf("Get %v: %v, want NotFound", key, err)
		}
	}
}

// TestNumbersWithoutPlusReadAsE164: a user another tool created without
// the "+" lists in E.164 form and is read, updated and deleted by it.
func TestNumbersWithoutPlusReadAsE164(t *testing.T) {
	ts := startSim(t, simkit.Options{}, simkit.Seed{{Kind: apio.Kind, Origin: "seed", Record: schemas.Record{
		"tenant": "footenant", "group": "foogroup", "phoneNumber": "3212345678", "extension": "1", "firstName": "A", "lastName": "B", "callType": "default"}}})
	c := open(t, ts)
	var listed []string
	if err := c.List(context.Background(), apio.Kind, func(r schemas.Record) error {
		listed = append(listed, r.String("phoneNumber"))
		return nil
	}); err != nil || len(listed) != 1 || listed[0] != "+3212345678" {
		t.Fatalf("listed %v (%v), want +3212345678", listed, err)
	}
	key := schemas.Record{"tenant": "footenant", "group": "foogroup", "phoneNumber": "+3212345678"}
	got, err := c.Get(context.Background(), apio.Kind, key)
	if err != nil || got.String("extension") != "1" {
		t.Fatalf("Get by the E.164 name: %v %v", got, err)
	}
	if _, err := c.Apply(context.Background(), adapters.Change{Kind: apio.Kind, Action: adapters.Delete, Record: key}); err != nil {
		t.Fatal(err)
	}
	if n := len(ts.sim.Users()); n != 0 {
		t.Errorf("%d users after the delete", n)
	}
}
