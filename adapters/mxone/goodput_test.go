package mxone_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters/mxone"
	"github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/adapters/retry"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/pace"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// locationPlan creates n locations: independent operations of one
// request or two each.
func locationPlan(n int) *batch.Plan {
	k := mxone.New().Kinds().Kind("location")
	p := &batch.Plan{Version: 1, Adapter: mxone.Name, Target: "sim"}
	for i := range n {
		rec := fixture("location", i)
		p.Ops = append(p.Ops, &batch.Op{ID: i, Kind: k.Name, Key: k.KeyOf(rec), Action: batch.OpCreate, Record: rec,
			Origin: diag.Origin{Sheet: k.Plural, Row: i + 2}})
	}
	return p
}

// notes collects what the pacer would print on stderr.
type notes struct {
	mu   sync.Mutex
	msgs []string
}

func (n *notes) add(m string) { n.mu.Lock(); n.msgs = append(n.msgs, m); n.mu.Unlock() }
func (n *notes) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.msgs, "\n")
}

// pacedApply runs p against ts the way the CLI does: one pacer for the
// target, waited on by every request, its backoff used by the runner.
func pacedApply(t testing.TB, ts *testSim, p *batch.Plan, cfg pace.Config, concurrency int) (*run.Outcome, *pace.Pacer) {
	t.Helper()
	pacer := pace.New(cfg)
	tg := ts.target
	tg.Pacer = pacer
	conn, err := retry.Open(context.Background(), mxone.New(), tg, retry.Options{Pacer: pacer})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	out, err := run.Run(context.Background(), conn, p, mxone.New().Kinds(), run.Options{Concurrency: concurrency, Pacer: pacer})
	if err != nil {
		t.Fatal(err)
	}
	return out, pacer
}

// TestServerRateLimitIsLearnt: a server that accepts 50 requests a second
// and answers the rest 429 with Retry-After, and a target configured
// without a rate. No row fails (a 429 with Retry-After uses no attempt) and
// the rate the server sees settles at or under its limit.
func TestServerRateLimitIsLearnt(t *testing.T) {
	const limit = 50
	o := sim.Options{}
	o.RateLimit = limit
	ts := startSim(t, o)
	// The server lets a second's worth through at once (its bucket's
	// burst), so the rate it sees is measured after the first second.
	var after1s atomic.Int64
	time.AfterFunc(time.Second, func() { after1s.Store(ts.sim.Stats().TotalRequests()) })
	start := time.Now()
	out, pacer := pacedApply(t, ts, locationPlan(150), pace.Config{}, 8)
	elapsed := time.Since(start).Seconds()
	if out.Counts.Failed != 0 || out.Counts.Created != 150 {
		t.Fatalf("counts %+v: want every row created", out.Counts)
	}
	st := ts.sim.Stats()
	rate := float64(st.TotalRequests()-after1s.Load()) / (elapsed - 1)
	t.Logf("%d requests (%d refused) in %.1fs: %.1f/s at the server after the first second; pacer limit %.1f/s", st.TotalRequests(), st.RateLimited, elapsed, rate, pacer.Limit())
	if rate > limit*1.05 || pacer.Limit() > limit {
		t.Errorf("the server saw %.1f requests/s and the pacer ends at %.1f/s; want both at or under its limit of %d/s", rate, pacer.Limit(), limit)
	}
}

// TestOutagePausesDispatch: the target drops every connection for 2 s in
// the middle of a run. The circuit opens (and says so), requests wait
// instead of burning their attempts, it closes when the target answers,
// and no row fails.
func TestOutagePausesDispatch(t *testing.T) {
	var down atomic.Bool
	o := sim.Options{}
	o.Down = down.Load
	ts := startSim(t, o)
	var said notes
	var requests atomic.Int64
	p := locationPlan(300)
	go func() {
		for ts.sim.Stats().TotalRequests() < 100 {
			time.Sleep(5 * time.Millisecond)
		}
		down.Store(true)
		requests.Store(ts.sim.Stats().TotalRequests())
		time.Sleep(2 * time.Second)
		requests.Store(ts.sim.Stats().TotalRequests() - requests.Load())
		down.Store(false)
	}()
	out, pacer := pacedApply(t, ts, p, pace.Config{Rate: 200, OpenFor: 200 * time.Millisecond, Notify: said.add}, 8)
	if out.Counts.Failed != 0 || out.Counts.Blocked != 0 || out.Counts.Created != len(p.Ops) {
		t.Fatalf("counts %+v after a 2 s outage: want every row created", out.Counts)
	}
	if msgs := said.String(); !strings.Contains(msgs, "circuit open") || !strings.Contains(msgs, "circuit closed") || pacer.State() != pace.Closed {
		t.Errorf("notes %q, state %s: want the circuit to open, say so, and close again", msgs, pacer.State())
	}
	// At 200/s the outage would have met about 400 requests.
	if n := requests.Load(); n > 40 {
		t.Errorf("%d requests sent into the 2 s outage: dispatch was not paused", n)
	}
	t.Logf("requests during the outage: %d; %s", requests.Load(), said.String())
}

// BenchmarkGoodputUnderFaults applies 1,000 locations (two requests each)
// at 10 ms latency with the default settings (30 s timeout, 6 attempts,
// concurrency 8) and reports the run's ops/s (from its first to its last
// operation; connecting is not timed) and goodput (ops/s ÷ the clean
// run's): clean, under a server limit of 100 requests/s with Retry-After
// (ideal: 50 ops/s), with 10 % timeouts, and with 10 % faults of every kind
// (the simulator's standard faults).
//
//	go test -run '^$' -bench GoodputUnderFaults -benchtime 1x ./adapters/mxone
func BenchmarkGoodputUnderFaults(b *testing.B) {
	const ops, concurrency = 1000, 8
	clean := 0.0
	for _, c := range []struct {
		name string
		opts func(o *sim.Options)
	}{
		{"clean", func(*sim.Options) {}},
		{"ratelimit=100", func(o *sim.Options) { o.RateLimit = 100 }},
		{"timeouts=10%", func(o *sim.Options) {
			o.FaultRate, o.Faults = 0.1, []simkit.Fault{{Kind: simkit.FaultTimeout}}
		}},
		{"faults=10%", func(o *sim.Options) { o.FaultRate = 0.1 }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var wall time.Duration
			var requests int64
			for range b.N {
				o := sim.Options{}
				o.Latency = 10 * time.Millisecond
				o.FaultSeed = 7
				c.opts(&o)
				ts := startSim(b, o)
				ts.target.Timeout = 0 // the default
				out, _ := pacedApply(b, ts, locationPlan(ops), pace.Config{}, concurrency)
				wall += out.Duration
				requests += ts.sim.Stats().TotalRequests()
				if out.Counts.Created != ops {
					b.Fatalf("counts %+v", out.Counts)
				}
			}
			opsPerSec := float64(ops*b.N) / wall.Seconds()
			b.ReportMetric(opsPerSec, "ops/s")
			b.ReportMetric(float64(requests)/wall.Seconds(), "req/s")
			if c.name == "clean" {
				clean = opsPerSec
			} else if clean > 0 {
				b.ReportMetric(opsPerSec/clean, "goodput")
			}
		})
	}
}
