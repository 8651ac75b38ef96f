package adaptertest

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Simulator starts a fresh simulator of the adapter under test with o's
// switches and returns a target for it and a reader of its counters.
type Simulator func(t testing.TB, o simkit.Options) (adapters.Target, func() simkit.StatsSnapshot)

// ReadFaults are the standard faults of the fault mode's retried run:
// throttling anywhere, server errors, timeouts and dropped connections on
// reads. Faults on writes are checked one by one (writeFaults): after a
// write that may have landed no client can tell "duplicate" from "my
// earlier attempt landed", which the duplicate and missing-record checks
// need.
var ReadFaults = []simkit.Fault{
	{Kind: simkit.Fault429}, {Kind: simkit.Fault503},
	{Kind: simkit.Fault500, Class: simkit.ClassRead}, {Kind: simkit.FaultTimeout, Class: simkit.ClassRead}, {Kind: simkit.FaultDrop, Class: simkit.ClassRead},
}

// writeFaults are the faults a single write must survive with the class
// the runner needs: one that may have landed is Unknown (read back first).
var writeFaults = []struct {
	fault simkit.Fault
	want  adapters.Class
}{
	{simkit.Fault{Kind: simkit.FaultDrop, Class: simkit.ClassWrite}, adapters.Unknown},
	{simkit.Fault{Kind: simkit.FaultDrop, After: true, Class: simkit.ClassWrite}, adapters.Unknown},
	{simkit.Fault{Kind: simkit.FaultTimeout, Class: simkit.ClassWrite}, adapters.Unknown},
	{simkit.Fault{Kind: simkit.FaultTimeout, After: true, Class: simkit.ClassWrite}, adapters.Unknown},
	{simkit.Fault{Kind: simkit.Fault500, Class: simkit.ClassWrite}, adapters.Unknown},
	{simkit.Fault{Kind: simkit.Fault500, After: true, Class: simkit.ClassWrite}, adapters.Unknown},
	{simkit.Fault{Kind: simkit.Fault429, Class: simkit.ClassWrite}, adapters.Throttled},
}

// meter counts what an HTTP adapter does with a target: pacer waits and
// the requests its transport hook saw.
type meter struct{ waits, observed, hooked atomic.Int64 }

func (m *meter) Wait(ctx context.Context) error { m.waits.Add(1); return ctx.Err() }
func (m *meter) Observe(adapters.Observation)   { m.observed.Add(1) }
func (m *meter) hook(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) { m.hooked.Add(1); return next.RoundTrip(r) })
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (m *meter) target(t adapters.Target) adapters.Target {
	t.Pacer, t.WrapTransport = m, m.hook
	return t
}

// faults is the fault mode: against fresh simulators, the pacer and the
// transport hook see every request once, the suite passes through the
// standard harness under ReadFaults, and each write fault costs one write
// request and gets the right class.
func (s *suite) faults(t *testing.T, kinds []*schemas.Kind) {
	t.Run("every_request_paced_and_hooked", func(t *testing.T) {
		m := &meter{}
		tg, stats := s.cfg.Simulator(t, simkit.Options{})
		before := stats().TotalRequests()
		fs := s.with(t, s.cfg.Adapter, m.target(tg))
		fs.kind(t, kinds[0])
		fs.mustDelete(t, kinds[0], s.cfg.Fixture(kinds[0].Name, 0))
		sent := stats().TotalRequests() - before
		if w, h, o := m.waits.Load(), m.hooked.Load(), m.observed.Load(); w != sent || h != sent || o != sent {
			t.Errorf("the simulator got %d requests; the pacer was waited on %d times and told %d outcomes, the transport hook saw %d: want each once per request", sent, w, o, h)
		}
	})
	t.Run("retried", func(t *testing.T) {
		m := &meter{}
		tg, stats := s.cfg.Simulator(t, simkit.Options{Faults: ReadFaults, FaultRate: 0.15, FaultSeed: 7, TimeoutHold: 2 * time.Second, RetryAfter: time.Millisecond})
		before := stats().TotalRequests()
		tg.Timeout = time.Second
		fs := s.with(t, Retrying(s.cfg.Adapter), m.target(tg))
		for _, k := range kinds {
			if !t.Run(k.Name, func(t *testing.T) { fs.kind(t, k) }) {
				t.Fatalf("kind %s failed under faults; later kinds depend on it", k.Name)
			}
		}
		st := stats()
		if st.TotalFaults() == 0 {
			t.Error("no fault was injected: the run proves nothing")
		}
		// A connection dropped after the request was read may be resent by
		// net/http below the hook; the pacer and the hook see one request.
		if w, h, sent := m.waits.Load(), m.hooked.Load(), st.TotalRequests()-before; w != h || h > sent {
			t.Errorf("pacer waits %d, requests hooked %d, requests at the simulator %d: want one wait per request, retries included", w, h, sent)
		}
	})
	t.Run("one_write_per_apply", func(t *testing.T) {
		k := kinds[0]
		for _, wf := range writeFaults {
			tg, stats := s.cfg.Simulator(t, simkit.Options{Faults: []simkit.Fault{wf.fault}, FaultRate: 1, TimeoutHold: 2 * time.Second, RetryAfter: time.Millisecond})
			before := stats().TotalFaults()
			tg.Timeout = 500 * time.Millisecond
			fs := s.with(t, s.cfg.Adapter, tg)
			rec := s.cfg.Fixture(k.Name, 7)
			_, err := fs.conn.Apply(s.ctx, adapters.Change{Kind: k.Name, Action: adapters.Create, Record: rec})
			wantClass(t, err, wf.want, "create %s %s meeting a %s", k.Name, k.KeyOf(rec), wf.fault)
			if n := stats().TotalFaults() - before; n != 1 {
				t.Errorf("create %s %s meeting a %s: %d write requests reached the simulator; want one (never retry a write inside Apply)", k.Name, k.KeyOf(rec), wf.fault, n)
			}
		}
	})
}

// with is a suite over a new connection to tg.
func (s *suite) with(t *testing.T, a adapters.Adapter, tg adapters.Target) *suite {
	t.Helper()
	c, err := a.Open(s.ctx, tg)
	if err != nil {
		t.Fatalf("Open(%s): %v", tg.URL, err)
	}
	t.Cleanup(func() { c.Close() })
	return &suite{cfg: s.cfg, conn: c, ctx: s.ctx}
}
