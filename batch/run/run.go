// Package run executes a plan against a target: the apply engine.
//
// Operations form a DAG (Op.Needs); an operation starts once everything it
// needs has succeeded (or had nothing to do). At most Concurrency calls are
// in flight. Pacing is not the runner's: the connection waits on the
// target's pacer before each of its requests (adapters.Target.Pacer).
// Operations whose Locks intersect never run at the same time.
//
// Every remote write is preceded by a durable in-flight mark in the journal
// and followed by its outcome, so a run stopped at any instant — Ctrl-C,
// kill -9, power loss — can be resumed (Options.Prior): what succeeded is
// skipped, what was in flight is read back from the target by natural key
// before anything is sent again, and the rest runs as planned. A create
// whose outcome is unknown is never blindly repeated.
//
// A failed operation does not stop the others; what depends on it is
// marked blocked, once, naming the row at the root of the failure.
//
// Ready writes of a kind the connection batches (adapters.Batcher) share
// one request, each journaled and reported on its own (batch.go). A
// connection's end-of-run step (adapters.Finisher) runs once every
// operation has its outcome, journaled so that resume runs it again if it
// did not finish (finish.go).
package run

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pbxbatch/pbxbatch/internal/wait"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/internal/pace"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Options tune a run. The zero value runs 4 at a time, no failure budget,
// no journal.
type Options struct {
	Concurrency int // calls in flight at most (default 4)
	// MaxFailures stops scheduling new operations once more than this many
	// have failed (0 = no limit); FailFast stops at the first failure.
	// Blocked operations do not count. What was not started is skipped.
	MaxFailures int
	FailFast    bool
	MaxAttempts int // calls per operation before giving up on transient faults (default 6)

	// Journal receives every transition; nil runs without checkpoints.
	Journal *journal.Journal
	// Prior is journal.Replay of an earlier attempt of this run: resume.
	// Every operation it records an attempt of is read back before
	// anything is sent again, whatever its recorded status.
	Prior map[int]journal.Entry
	// FromTarget reads back every operation before anything is sent, those
	// Prior records as done included: for a journal that cannot be read,
	// or a target restored from a backup since.
	FromTarget bool
	// Locker, when set, supplies the locks of operations whose plan has
	// none (normally the planner fills Op.Locks from the adapter).
	Locker adapters.Locker
	// Progress receives events from the scheduler goroutine; keep it fast.
	Progress Progress
	// DrainTimeout bounds how long calls in flight may still take after
	// the run is cancelled (default 30 s).
	DrainTimeout time.Duration

	// Pacer is the target's pacer, the one the connection waits on: it
	// supplies the retry backoff and the rate that progress shows. nil
	// backs off with the defaults and shows no rate.
	Pacer *pace.Pacer
	// BatchSize caps how many ready writes of one kind and action go out
	// in one request to a connection that batches them (adapters.Batcher);
	// 0 = as many as the connection takes, 1 = never batch.
	BatchSize int
	// Sleep waits between retries; tests replace it to count and skip
	// waits. It must return ctx's error when ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Outcome is everything a run did, for reports and summary.json.
type Outcome struct {
	Results   []batch.Result  `json:"results"` // indexed by Op.ID
	Counts    batch.RunCounts `json:"counts"`
	Started   time.Time       `json:"started"`
	Finished  time.Time       `json:"finished"`
	Duration  time.Duration   `json:"duration_ns"`
	OpsPerSec float64         `json:"ops_per_second"` // operations sent in this run ÷ Duration
	Latency   []Latency       `json:"latency"`        // per kind and action, of this run's calls
	// Stopped says why scheduling stopped early: "" (it did not),
	// "max-failures", "cancelled", "auth" or "journal".
	Stopped   string  `json:"stopped,omitempty"`
	FinalRate float64 `json:"final_rate,omitempty"` // pacing limit at the end (0 = unlimited)
	// Step is the end-of-run step's outcome; nil when the connection has
	// none or the run changed nothing it makes effective.
	Step *batch.Step `json:"step,omitempty"`
}

// Reasons scheduling stops early (Outcome.Stopped).
const (
	StopMaxFailures = "max-failures"
	StopCancelled   = "cancelled"
	StopAuth        = "auth"
	StopJournal     = "journal"
)

// ErrAuth is wrapped by the error Run returns when the target refused the
// credentials: nothing more can succeed until they are fixed.
var ErrAuth = errors.New("the target refused the credentials")

// Run executes p through conn. It returns an error only when the run could
// not finish normally: cancelled (wrapping ctx's error), credentials refused
// (ErrAuth), or the journal failed. Failed and blocked operations are not an
// error: see Outcome.Counts. The Outcome is complete in every case.
func Run(ctx context.Context, conn adapters.Conn, p *batch.Plan, kinds *schemas.Set, opts Options) (*Outcome, error) {
	r, err := newRunner(conn, p, kinds, opts)
	if err != nil {
		return nil, err
	}
	return r.run(ctx)
}

type runner struct {
	conn  adapters.Conn
	plan  *batch.Plan
	kinds *schemas.Set
	opts  Options
	pacer *pace.Pacer
	feat  adapters.Features // of conn: batching, end-of-run step

	res        []batch.Result
	final      []bool
	started    []bool  // dispatched once; never again
	waiting    []int   // needs not yet succeeded
	dependents [][]int // reverse of Needs
	locks      [][]string
	ready      []int
	unlocked   []int // ready operations whose lock was freed
	lockHeld   map[string]bool
	lockWait   map[string][]int
	inflight   int           // operations dispatched and not completed, at most window
	window     int           // Concurrency + max(Concurrency, 64): the next ops' journal syncs overlap the calls
	slots      chan struct{} // Concurrency: calls to the target at once
	halt       atomic.Bool   // set with stopped, read by workers before calling
	failures   atomic.Int64  // failed operations, counted by the workers
	budget     int64         // failures allowed before stopping; -1 = no limit
	sent       int           // operations that made a call in this run
	stopped    string
	fatal      error
	doneN      int // operations with a final status, for progress
	failedN    int
	blockedN   int
	live       live
	done       chan completion

	latMu sync.Mutex
	lat   map[latKey][]time.Duration
}

type completion struct {
	op    int
	res   batch.Result
	fatal string // a Stop* reason when the run must stop
	err   error
	sent  bool
}

func newRunner(conn adapters.Conn, p *batch.Plan, kinds *schemas.Set, opts Options) (*runner, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 6
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	if opts.Sleep == nil {
		opts.Sleep = wait.Sleep
	}
	n := len(p.Ops)
	r := &runner{
		conn: conn, plan: p, kinds: kinds, opts: opts, pacer: opts.Pacer, feat: adapters.FeaturesOf(nil, conn),
		res: make([]batch.Result, n), final: make([]bool, n), started: make([]bool, n), waiting: make([]int, n),
		dependents: make([][]int, n), locks: make([][]string, n),
		lockHeld: map[string]bool{}, lockWait: map[string][]int{},
		done: make(chan completion), lat: map[latKey][]time.Duration{},
		window: opts.Concurrency + max(opts.Concurrency, 64), slots: make(chan struct{}, opts.Concurrency),
		budget: -1,
	}
	switch {
	case opts.FailFast:
		r.budget = 0
	case opts.MaxFailures > 0:
		r.budget = int64(opts.MaxFailures)
	}
	for i, op := range p.Ops {
		if op.ID != i {
			return nil, fmt.Errorf("plan: operation %d has id %d; a plan's ids are its indexes (re-create the plan)", i, op.ID)
		}
		if op.Action != batch.OpNoop && op.Action != batch.OpBlocked && kinds.Kind(op.Kind) == nil {
			return nil, fmt.Errorf("plan: operation %d (%s): unknown kind %q for adapter %s", i, op.Origin, op.Kind, kinds.Adapter)
		}
		// Attempts carry over from earlier attempts of the run, blocked
		// and skipped included: resume reads back whatever was ever sent.
		r.res[i] = batch.Result{Op: i, Status: batch.StatusPending, Attempts: opts.Prior[i].Attempt}
		for _, need := range op.Needs {
			if need < 0 || need >= n || need == i {
				return nil, fmt.Errorf("plan: operation %d (%s) needs operation %d, which is not in the plan", i, op.Origin, need)
			}
			r.dependents[need] = append(r.dependents[need], i)
		}
		r.waiting[i] = len(op.Needs)
		r.locks[i] = op.Locks
		if len(op.Locks) == 0 && opts.Locker != nil {
			if a, ok := op.Action.Write(); ok {
				r.locks[i] = opts.Locker.Locks(adapters.Change{Kind: op.Kind, Action: a, Record: op.Record, Before: op.Before})
			}
		}
	}
	if r.pacer == nil {
		r.pacer = pace.New(pace.Config{})
	}
	if cycle := findCycle(p); cycle != nil {
		return nil, fmt.Errorf("plan: operations depend on each other in a cycle: %s (re-create the plan)", cycle)
	}
	return r, nil
}

// findCycle returns a description of a dependency cycle, or nil.
func findCycle(p *batch.Plan) []string {
	state := make([]int8, len(p.Ops)) // 1 visiting, 2 done
	var stack []int
	var found []string
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case 1:
			start := slices.Index(stack, i)
			for _, j := range append(stack[start:], i) {
				found = append(found, describe(p.Ops[j]))
			}
			return true
		case 2:
			return false
		}
		state[i] = 1
		stack = append(stack, i)
		for _, n := range p.Ops[i].Needs {
			if visit(n) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = 2
		return false
	}
	for i := range p.Ops {
		if visit(i) {
			return found
		}
	}
	return nil
}

// describe names an operation the way a user finds it: its row, kind and
// key ("Users!7 (person jdoe)").
func describe(op *batch.Op) string {
	where := batch.Where(op)
	if op.Origin == (batch.Op{}).Origin {
		where = fmt.Sprintf("operation %d", op.ID)
	}
	return fmt.Sprintf("%s (%s %s)", where, op.Kind, op.Key)
}

func (r *runner) run(ctx context.Context) (*Outcome, error) {
	started := time.Now().UTC()
	// Calls in flight outlive a cancel (so their outcome is recorded) but
	// not by more than DrainTimeout.
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	stopDrain := context.AfterFunc(ctx, func() { time.AfterFunc(r.opts.DrainTimeout, cancelCalls) })
	defer stopDrain()

	r.settleInitial()
	r.event(Event{Type: EventStart}, started) // Done: what was settled before anything is sent

	ctxDone := ctx.Done()
	for {
		r.dispatch(ctx, callCtx)
		if r.inflight == 0 {
			break
		}
		select {
		case c := <-r.done:
			r.complete(c)
			r.event(Event{Type: EventOp, Op: r.plan.Ops[c.op], Result: &r.res[c.op]}, started)
		case <-ctxDone:
			ctxDone = nil
			r.stop(StopCancelled, nil)
		}
	}
	if r.stopped == "" && ctx.Err() != nil && r.doneN < len(r.plan.Ops) {
		r.stop(StopCancelled, nil)
	}
	r.skipRest()
	step := r.endOfRun(ctx, callCtx)

	out := r.outcome(started)
	out.Step = step
	r.event(Event{Type: EventEnd}, started)
	switch r.stopped {
	case StopCancelled:
		return out, fmt.Errorf("run cancelled: %w", ctx.Err())
	case StopAuth, StopJournal:
		return out, r.fatal
	}
	return out, nil
}

// settleInitial records what needs no call — operations done in an earlier
// attempt, no-ops, operations the plan blocked — and queues what can start.
func (r *runner) settleInitial() {
	for i, op := range r.plan.Ops {
		prior, seen := r.opts.Prior[i]
		switch {
		case seen && !r.opts.FromTarget && (prior.Status == batch.StatusSucceeded || prior.Status == batch.StatusNoop):
			r.setResult(i, batch.Result{Op: i, Status: prior.Status, Message: prior.Message, TargetID: prior.TargetID, Attempts: prior.Attempt, FinishedAt: prior.At})
			r.settle(i)
		case op.Action == batch.OpNoop:
			r.record(i, batch.Result{Op: i, Status: batch.StatusNoop}, nil)
			r.settle(i)
		case op.Action == batch.OpBlocked:
			if !r.final[i] {
				msg := op.Reason
				if msg == "" {
					msg = "blocked by the plan"
				}
				r.record(i, batch.Result{Op: i, Status: batch.StatusBlocked, Message: msg}, nil)
				r.settle(i)
			}
		}
	}
	for i := range r.plan.Ops {
		if !r.final[i] && r.waiting[i] == 0 {
			r.ready = append(r.ready, i)
		}
	}
}

// settle marks op i final and lets its dependents go on: ready when it
// succeeded, blocked (transitively, once each) when it did not.
func (r *runner) settle(i int) {
	r.final[i] = true
	switch r.res[i].Status {
	case batch.StatusSucceeded, batch.StatusNoop:
		for _, d := range r.dependents[i] {
			r.waiting[d]--
			if r.waiting[d] == 0 && !r.final[d] && r.res[d].Status == batch.StatusPending {
				if r.plan.Ops[d].Action == batch.OpNoop || r.plan.Ops[d].Action == batch.OpBlocked {
					continue // settled by settleInitial
				}
				r.ready = append(r.ready, d)
			}
		}
	case batch.StatusFailed, batch.StatusBlocked:
		root := i
		if r.res[i].BlockedBy != nil {
			root = *r.res[i].BlockedBy
		}
		msg := "blocked by " + describe(r.plan.Ops[root])
		queue := slices.Clone(r.dependents[i])
		for len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			if r.final[d] {
				continue
			}
			r.record(d, batch.Result{Op: d, Status: batch.StatusBlocked, Message: msg, BlockedBy: &root, Attempts: r.res[d].Attempts}, nil)
			r.final[d] = true
			queue = append(queue, r.dependents[d]...)
		}
	}
}

// dispatch starts ready operations while there is room.
func (r *runner) dispatch(ctx, callCtx context.Context) {
	for r.stopped == "" && r.inflight < r.window && len(r.unlocked)+len(r.ready) > 0 {
		var i int
		if len(r.unlocked) > 0 { // they waited already: first
			i, r.unlocked = r.unlocked[0], r.unlocked[1:]
		} else {
			i, r.ready = r.ready[0], r.ready[1:]
		}
		// An operation can be queued twice (settling a resumed run's done
		// operations readies their dependents, and so does the initial
		// sweep); it must never run twice.
		if r.final[i] || r.started[i] {
			continue
		}
		if l := r.busyLock(i); l != "" {
			r.lockWait[l] = append(r.lockWait[l], i)
			continue
		}
		for _, l := range r.locks[i] {
			r.lockHeld[l] = true
		}
		if n := r.batchLimit(i); n > 1 {
			r.dispatchBatch(ctx, callCtx, i, n)
			continue
		}
		r.inflight++
		r.started[i] = true
		go func() { r.done <- r.execute(ctx, callCtx, i) }()
	}
}

func (r *runner) busyLock(i int) string {
	for _, l := range r.locks[i] {
		if r.lockHeld[l] {
			return l
		}
	}
	return ""
}

func (r *runner) complete(c completion) {
	r.inflight--
	for _, l := range r.locks[c.op] {
		delete(r.lockHeld, l)
		if w := r.lockWait[l]; len(w) > 0 {
			delete(r.lockWait, l)
			r.unlocked = append(r.unlocked, w...)
		}
	}
	if c.sent {
		r.sent++
	}
	r.setResult(c.op, c.res)
	if c.res.Status == batch.StatusPending || c.res.Status == batch.StatusInFlight {
		// Not started after all (cancelled while waiting), or outcome
		// unknown at cancel: resume deals with it.
		r.final[c.op] = c.res.Status == batch.StatusInFlight
	} else {
		r.settle(c.op)
	}
	if c.fatal != "" {
		r.stop(c.fatal, c.err)
	}
	if c.res.Status == batch.StatusFailed && c.fatal == "" && r.budget >= 0 && r.failures.Load() > r.budget {
		r.stop(StopMaxFailures, nil)
	}
}

// overBudget counts a failure (on the worker, before it frees its slot)
// and reports whether the failure budget is now spent.
func (r *runner) overBudget() bool {
	n := r.failures.Add(1)
	return r.budget >= 0 && n > r.budget
}

func (r *runner) stop(reason string, err error) {
	if r.stopped == "" {
		r.stopped, r.fatal = reason, err
		r.halt.Store(true)
	}
}

// acquire takes a call slot; false when ctx ended or the run stopped first.
func (r *runner) acquire(ctx context.Context) bool {
	select {
	case r.slots <- struct{}{}:
		if r.halt.Load() {
			<-r.slots
			return false
		}
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *runner) release() { <-r.slots }

// skipRest records every operation that never started as skipped.
func (r *runner) skipRest() {
	msg := "not started: " + map[string]string{
		StopMaxFailures: "the failure budget was spent (--max-failures / --fail-fast)",
		StopCancelled:   "the run was cancelled",
		StopAuth:        "the target refused the credentials",
		StopJournal:     "the journal could not be written",
		"":              "its dependencies did not complete",
	}[r.stopped]
	for i := range r.plan.Ops {
		if !r.final[i] && r.res[i].Status == batch.StatusPending {
			r.record(i, batch.Result{Op: i, Status: batch.StatusSkipped, Message: msg, Attempts: r.res[i].Attempts}, nil)
			r.final[i] = true
		}
	}
}

// record sets op i's result and journals it (without waiting for the
// disk: only in-flight marks must be durable before going on).
func (r *runner) record(i int, res batch.Result, before schemas.Record) {
	if res.FinishedAt.IsZero() {
		res.FinishedAt = time.Now().UTC()
	}
	r.setResult(i, res)
	if r.opts.Journal != nil {
		r.opts.Journal.Append(r.entry(i, res, before))
	}
}

// setResult sets op i's result and keeps the tallies progress reports.
func (r *runner) setResult(i int, res batch.Result) {
	r.tally(r.res[i].Status, -1)
	r.res[i] = res
	r.tally(res.Status, 1)
}

func (r *runner) tally(st batch.Status, d int) {
	switch st {
	case batch.StatusSucceeded, batch.StatusNoop:
		r.doneN += d
	case batch.StatusFailed:
		r.doneN += d
		r.failedN += d
	case batch.StatusBlocked:
		r.doneN += d
		r.blockedN += d
	case batch.StatusSkipped, batch.StatusInFlight:
		r.doneN += d
	}
}

func (r *runner) entry(i int, res batch.Result, before schemas.Record) journal.Entry {
	op := r.plan.Ops[i]
	e := journal.Entry{
		Op: i, Status: res.Status, Action: op.Action, Kind: op.Kind, Key: op.Key,
		Attempt: res.Attempts, TargetID: res.TargetID, Message: res.Message, BlockedBy: res.BlockedBy, At: res.FinishedAt,
	}
	if before != nil {
		if k := r.kinds.Kind(op.Kind); k != nil {
			e.Before = k.Redact(before)
		}
	}
	return e
}

func (r *runner) outcome(started time.Time) *Outcome {
	out := &Outcome{Results: r.res, Started: started, Finished: time.Now().UTC(), Stopped: r.stopped}
	out.Duration = out.Finished.Sub(started)
	for i, res := range r.res {
		out.Counts.Add(r.plan.Ops[i].Action, res.Status)
	}
	if out.Duration > 0 {
		out.OpsPerSec = float64(r.sent) / out.Duration.Seconds()
	}
	if l := r.pacer.Limit(); l < 1e300 {
		out.FinalRate = l
	}
	out.Latency = r.latencies()
	return out
}

// secretMasked returns the first secret field of rec that holds the mask
// instead of a value: a saved plan whose secrets were not restored.
func secretMasked(k *schemas.Kind, rec schemas.Record) string {
	for _, p := range k.SecretPaths() {
		if rec.String(p) == schemas.Mask {
			return p
		}
	}
	return ""
}
