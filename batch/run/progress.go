package run

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/pbxbatch/pbxbatch/batch"
)

// EventType says what an Event reports.
type EventType int

const (
	EventStart EventType = iota // the run starts (Total is known)
	EventOp                     // an operation finished (Op, Result set)
	EventEnd                    // the run ended
)

// Event is a progress report. Counts cover every operation of the plan,
// including those settled before the run started (resume, no-ops).
type Event struct {
	Type    EventType
	Op      *batch.Op
	Result  *batch.Result
	Done    int // operations with a final status
	Total   int
	Failed  int
	Blocked int
	Elapsed time.Duration
	Rate    float64 // current pacing limit, requests per second (+Inf: none)
}

// Progress receives a run's events on the scheduler goroutine.
type Progress interface {
	OnEvent(Event)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(Event)

func (f ProgressFunc) OnEvent(e Event) { f(e) }

func (r *runner) event(e Event, started time.Time) {
	if r.opts.Progress == nil {
		return
	}
	e.Done, e.Total, e.Failed, e.Blocked = r.doneN, len(r.plan.Ops), r.failedN, r.blockedN
	e.Elapsed = time.Since(started)
	e.Rate = r.pacer.Limit()
	r.opts.Progress.OnEvent(e)
}

// Terminal shows progress for a person: a bar (done/total, ops/s, ETA,
// failures) when w is a terminal, else one plain log line every Interval,
// so CI logs and pipes get no carriage returns.
type Terminal struct {
	w        io.Writer
	bar      *progressbar.ProgressBar
	interval time.Duration

	mu       sync.Mutex
	lastLine time.Time
	lastDone int
	failed   int
}

// NewTerminal returns a Terminal writing to w (normally os.Stderr). A bar
// is drawn only when w is an *os.File on a terminal. interval is the log
// line period off a terminal (0 = 5 s).
func NewTerminal(w io.Writer, interval time.Duration) *Terminal {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := &Terminal{w: w, interval: interval}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		t.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("ops"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(40),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return t
}

func (t *Terminal) OnEvent(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bar != nil {
		switch e.Type {
		case EventStart:
			t.bar.ChangeMax(e.Total)
			_ = t.bar.Set(e.Done)
		case EventOp:
			if e.Failed+e.Blocked != t.failed {
				t.failed = e.Failed + e.Blocked
				t.bar.Describe(fmt.Sprintf("%d failed/blocked", t.failed))
			}
			_ = t.bar.Set(e.Done)
		case EventEnd:
			_ = t.bar.Finish()
		}
		return
	}
	now := time.Now()
	if e.Type == EventOp && now.Sub(t.lastLine) < t.interval {
		return
	}
	fmt.Fprintln(t.w, logLine(e, now.Sub(t.lastLine), e.Done-t.lastDone))
	t.lastLine, t.lastDone = now, e.Done
}

// logLine renders one progress line: "1200/20000 done (6%), 498.7 ops/s,
// ETA 37s, 3 failed, 1 blocked, rate limit 500/s".
func logLine(e Event, since time.Duration, delta int) string {
	pct := 100.0
	if e.Total > 0 {
		pct = 100 * float64(e.Done) / float64(e.Total)
	}
	switch e.Type {
	case EventStart:
		return fmt.Sprintf("apply: %d operations, %d already settled", e.Total, e.Done)
	case EventEnd:
		return fmt.Sprintf("apply: %d/%d done in %s, %d failed, %d blocked", e.Done, e.Total, e.Elapsed.Round(time.Millisecond), e.Failed, e.Blocked)
	}
	ops := float64(delta) / since.Seconds()
	eta := "unknown"
	if ops > 0 && !math.IsInf(ops, 0) {
		eta = (time.Duration(float64(e.Total-e.Done)/ops) * time.Second).Round(time.Second).String()
	}
	limit := "none"
	if !math.IsInf(e.Rate, 1) {
		limit = fmt.Sprintf("%.4g/s", e.Rate)
	}
	return fmt.Sprintf("apply: %d/%d done (%.0f%%), %.1f ops/s, ETA %s, %d failed, %d blocked, rate limit %s",
		e.Done, e.Total, pct, ops, eta, e.Failed, e.Blocked, limit)
}

// Latency is the distribution of call latencies of one kind and action.
type Latency struct {
	Kind   string         `json:"kind"`
	Action batch.OpAction `json:"action"`
	Count  int            `json:"count"`
	P50    time.Duration  `json:"p50_ns"`
	P90    time.Duration  `json:"p90_ns"`
	P99    time.Duration  `json:"p99_ns"`
	Max    time.Duration  `json:"max_ns"`
}

type latKey struct {
	kind   string
	action batch.OpAction
}

func (r *runner) observe(kind string, a batch.OpAction, d time.Duration) {
	r.latMu.Lock()
	defer r.latMu.Unlock()
	k := latKey{kind, a}
	r.lat[k] = append(r.lat[k], d)
}

func (r *runner) latencies() []Latency {
	r.latMu.Lock()
	defer r.latMu.Unlock()
	out := make([]Latency, 0, len(r.lat))
	for k, ds := range r.lat {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(math.Ceil(p*float64(len(ds))))-1)] }
		out = append(out, Latency{Kind: k.kind, Action: k.action, Count: len(ds), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ds[len(ds)-1]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Action < out[j].Action
	})
	return out
}
