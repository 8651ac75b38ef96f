package run

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/pbxbatch/pbxbatch/batch"
)

// EventType says what an Event reports.
type EventType int

const (
	EventStart EventType = iota // the run starts (Total and the settled ops are known)
	EventOp                     // an operation finished (Op, Result set)
	EventEnd                    // the run ended
)

// Event is a progress report. Counts cover every operation of the plan,
// including those settled before the run started (resume, no-ops).
type Event struct {
	Type    EventType
	Op      *batch.Op
	Result  *batch.Result
	Done    int // operations with a final status, skipped ones included
	Total   int
	Failed  int
	Blocked int
	Skipped int // EventEnd only: not run (cancelled, failure budget spent)
	// InFlight counts the calls sent to the target and not answered yet;
	// Retrying the operations waiting out a backoff before trying again.
	InFlight int
	Retrying int
	Elapsed  time.Duration
	Rate     float64 // current pacing limit, requests per second (+Inf: none)
}

// Progress receives a run's events on the scheduler goroutine.
type Progress interface {
	OnEvent(Event)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(Event)

func (f ProgressFunc) OnEvent(e Event) { f(e) }

// live counts what the workers are doing right now, for progress: calls
// on the wire and operations backing off.
type live struct {
	sending, retrying atomic.Int64
}

func (r *runner) event(e Event, started time.Time) {
	if r.opts.Progress == nil {
		return
	}
	e.Done, e.Total, e.Failed, e.Blocked = r.doneN, len(r.plan.Ops), r.failedN, r.blockedN
	e.InFlight, e.Retrying = int(r.live.sending.Load()), int(r.live.retrying.Load())
	if e.Type == EventEnd {
		for _, res := range r.res {
			if res.Status == batch.StatusSkipped {
				e.Skipped++
			}
		}
	}
	e.Elapsed = time.Since(started)
	e.Rate = r.pacer.Limit()
	r.opts.Progress.OnEvent(e)
}

// Terminal shows progress for a person: a bar when w is a terminal (done
// of total, failed, blocked, retrying, in flight, the rate limit, an ETA),
// else one plain, timestamped log line every interval, so CI logs and pipes
// get no carriage returns. It shows the planner's reads of the live state
// the same way (Reading).
type Terminal struct {
	w        io.Writer
	tty      bool
	bar      *progressbar.ProgressBar
	interval time.Duration
	now      func() time.Time

	mu        sync.Mutex
	lastLine  time.Time
	drawn     time.Time
	speed     speed
	reading   *progressbar.ProgressBar
	readDrawn time.Time
	readLine  time.Time
}

// NewTerminal returns a Terminal writing to w (normally os.Stderr). A bar
// is drawn only when w is an *os.File on a terminal. interval is the log
// line period off a terminal (0 = 5 s).
func NewTerminal(w io.Writer, interval time.Duration) *Terminal {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := &Terminal{w: w, interval: interval, now: time.Now}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		t.tty = true
	}
	return t
}

// newBar makes a bar; a transient one is cleared when full (the reads
// before a plan), the run's stays on screen.
func (t *Terminal) newBar(what string, max int, transient bool) *progressbar.ProgressBar {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(t.w),
		progressbar.OptionShowCount(), // no throttle of its own: draw and Reading decide
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(false), // stats has an ETA from a smoothed rate
		progressbar.OptionSetDescription(what),
	}
	if transient {
		opts = append(opts, progressbar.OptionClearOnFinish())
	}
	// A known max: with -1 the bar is a spinner that a goroutine of its
	// own redraws, over whatever was printed after it.
	return progressbar.NewOptions(max, opts...)
}

// Reading shows the planner's progress reading the live state: done of
// total records (plan.Reads.Progress).
func (t *Terminal) Reading(done, total int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tty {
		if t.reading == nil {
			t.reading = t.newBar("reading live state", total, true)
		}
		now := t.now()
		if done >= total {
			_ = t.reading.Finish()
		} else if now.Sub(t.readDrawn) >= drawEvery {
			_ = t.reading.Set(done)
			t.readDrawn = now
		}
		return
	}
	now := t.now()
	if done < total && now.Sub(t.readLine) < t.interval {
		return
	}
	t.readLine = now
	fmt.Fprintf(t.w, "%s plan: reading live state: %d/%d records\n", stamp(now), done, total)
}

// Print writes a message (a notice such as "Stopping: …") without
// breaking the bar: the bar's line is cleared first and drawn again below
// it at the next event.
func (t *Terminal) Print(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bar != nil {
		_ = t.bar.Clear()
	}
	fmt.Fprint(t.w, msg)
}

func (t *Terminal) OnEvent(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.speed.observe(now, e.Done)
	if t.tty {
		t.draw(e, now)
		return
	}
	if e.Type == EventOp && now.Sub(t.lastLine) < t.interval {
		return
	}
	fmt.Fprintf(t.w, "%s %s\n", stamp(now), logLine(e, t.speed.perSecond()))
	t.lastLine = now
}

// draw updates the bar, at most every drawEvery, and replaces it with a
// summary line at the end.
func (t *Terminal) draw(e Event, now time.Time) {
	switch e.Type {
	case EventStart:
		t.bar = t.newBar("apply"+stats(e, 0), e.Total, false)
		_ = t.bar.Set(e.Done)
	case EventOp:
		if now.Sub(t.drawn) < drawEvery {
			return
		}
		t.bar.Describe("apply" + stats(e, t.speed.perSecond()))
		_ = t.bar.Set(e.Done)
	case EventEnd:
		// The bar gives way to a line of what really ended: a cancelled
		// run's skipped operations are not done.
		_ = t.bar.Clear()
		fmt.Fprintln(t.w, logLine(e, 0))
	}
	t.drawn = now
}

// drawEvery is how often the bar is redrawn: often enough to look live,
// rarely enough to cost nothing at thousands of operations a second.
const drawEvery = 100 * time.Millisecond

// stats renders what a bar shows besides the count: " · 3 failed · 1
// blocked · 2 retrying · 8 in flight · limit 50/s · ETA 2m10s". Counts
// that are zero are left out.
func stats(e Event, opsPerSecond float64) string {
	var b strings.Builder
	part := func(n int, what string) {
		if n > 0 {
			fmt.Fprintf(&b, " · %d %s", n, what)
		}
	}
	part(e.Failed, "failed")
	part(e.Blocked, "blocked")
	part(e.Retrying, "retrying")
	part(e.InFlight, "in flight")
	part(e.Skipped, "skipped")
	if !math.IsInf(e.Rate, 1) && e.Rate > 0 {
		fmt.Fprintf(&b, " · limit %.4g/s", e.Rate)
	}
	if eta := etaOf(e, opsPerSecond); eta != "" {
		b.WriteString(" · ETA " + eta)
	}
	return b.String()
}

// etaOf is the time left at the smoothed rate, "" when unknown.
func etaOf(e Event, opsPerSecond float64) string {
	if opsPerSecond <= 0 || e.Done >= e.Total {
		return ""
	}
	return (time.Duration(float64(e.Total-e.Done)/opsPerSecond*float64(time.Second)) + time.Second/2).Truncate(time.Second).String()
}

// stamp is a log line's time: CI logs interleave several tools.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// logLine renders one progress line: "apply: 1200/20000 done (6%), 498.7
// ops/s, ETA 37s, 3 failed, 1 blocked, 2 retrying, 8 in flight, rate limit
// 500/s".
func logLine(e Event, opsPerSecond float64) string {
	pct := 100.0
	if e.Total > 0 {
		pct = 100 * float64(e.Done) / float64(e.Total)
	}
	switch e.Type {
	case EventStart:
		return fmt.Sprintf("apply: %d operations, %d settled before the first call (done earlier, no-ops, blocked by the plan)", e.Total, e.Done)
	case EventEnd:
		return fmt.Sprintf("apply: %d/%d done in %s, %d failed, %d blocked, %d skipped", e.Done-e.Skipped, e.Total, e.Elapsed.Round(time.Millisecond), e.Failed, e.Blocked, e.Skipped)
	}
	eta := etaOf(e, opsPerSecond)
	if eta == "" {
		eta = "unknown"
	}
	limit := "none"
	if !math.IsInf(e.Rate, 1) {
		limit = fmt.Sprintf("%.4g/s", e.Rate)
	}
	return fmt.Sprintf("apply: %d/%d done (%.0f%%), %.1f ops/s, ETA %s, %d failed, %d blocked, %d retrying, %d in flight, rate limit %s",
		e.Done, e.Total, pct, opsPerSecond, eta, e.Failed, e.Blocked, e.Retrying, e.InFlight, limit)
}

// speed is an exponentially smoothed rate of operations per second,
// updated once a second: an ETA from the last second alone jumps with
// every retry burst and throttle.
type speed struct {
	at    time.Time
	done  int
	rate  float64
	known bool
}

// smoothing is the weight of the newest second: about the last 5 seconds count.
const smoothing = 0.3

func (s *speed) observe(now time.Time, done int) {
	if s.at.IsZero() {
		s.at, s.done = now, done
		return
	}
	d := now.Sub(s.at)
	if d < time.Second {
		return
	}
	inst := float64(done-s.done) / d.Seconds()
	if s.known {
		s.rate = smoothing*inst + (1-smoothing)*s.rate
	} else {
		s.rate, s.known = inst, true
	}
	s.at, s.done = now, done
}

func (s *speed) perSecond() float64 { return s.rate }

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
