package run

import (
	"context"
	"fmt"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/retry"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/internal/redact"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// execute runs one operation to its end: calls, retries and read-backs. It
// runs on its own goroutine and touches no scheduler state: it returns a
// completion and journals through the (concurrency-safe) journal.
//
// ctx is the run's context (cancel stops retrying); callCtx is the
// context of remote calls, which outlives a cancel by DrainTimeout so that
// a call in flight can finish and be recorded.
func (r *runner) execute(ctx, callCtx context.Context, i int) completion {
	x, c := r.prepare(i)
	if x == nil {
		return c
	}
	return x.loop(ctx, callCtx)
}

// prepare sets up op i's execution, or returns nil and its completion when
// it cannot be sent at all.
func (r *runner) prepare(i int) (*execution, completion) {
	op := r.plan.Ops[i]
	k := r.kinds.Kind(op.Kind)
	action, _ := op.Action.Write()
	rec := op.Record
	if len(rec) == 0 { // a delete planned from what the target held
		rec = op.Before
	}
	change := adapters.Change{Kind: k.Name, Action: action, Record: rec, Before: op.Before}
	prior := r.opts.Prior[i]
	x := &execution{
		r: r, i: i, op: op, k: k, change: change,
		res: batch.Result{Op: i, Attempts: prior.Attempt, StartedAt: time.Now().UTC()},
		// An earlier attempt of this run sent it: a Conflict may be our own
		// create, and what it did is unknown until read back.
		sentBefore: prior.Attempt > 0,
		uncertain:  r.readBackFirst(i),
	}
	if action == adapters.Update || action == adapters.Delete {
		x.before = op.Before
	}
	if p := secretMasked(k, rec); p != "" {
		return nil, x.fail(fmt.Sprintf("secret field %s holds the mask, not a value: this plan was saved without secrets; "+
			"apply the workbook again (or resume with it) so the value can be sent", p))
	}
	return x, completion{}
}

// execution is the state of one operation's attempts.
type execution struct {
	r      *runner
	i      int
	op     *batch.Op
	k      *schemas.Kind
	change adapters.Change
	before schemas.Record
	res    batch.Result
	img    images // for rollback: see images.go

	sentBefore bool // a create may already exist because of us
	uncertain  bool // the last write's outcome is unknown: read back first
	// refused: the create's only attempt went in a batch the target
	// refused as a whole, which applies none of it (adapters.Batcher), so
	// a record found on read-back is not this run's: never overwritten.
	refused bool
	calls   int // writes in this run
	tries   int // writes and failed read-backs, against MaxAttempts
	told    int // throttled answers with Retry-After, which are not tries
	lastErr error
}

func (x *execution) loop(ctx, callCtx context.Context) completion {
	r := x.r
	for {
		if x.uncertain {
			if !r.acquire(ctx) {
				return x.interrupted()
			}
			if c, again := x.reconcile(ctx, callCtx); !again {
				return c
			}
			continue
		}
		if ctx.Err() != nil {
			return x.interrupted()
		}
		if x.tries >= r.opts.MaxAttempts {
			return x.fail(fmt.Sprintf("gave up after %d attempts: %v", x.tries, x.lastErr))
		}
		if x.wantsBefore() {
			if !r.acquire(ctx) {
				return x.interrupted()
			}
			if c, again := x.readBefore(ctx, callCtx); !again {
				return c
			}
			continue
		}
		// The in-flight mark goes to disk before waiting for a token and a
		// call slot, so the fsync overlaps the calls of other operations
		// instead of adding to this one. A mark for a call that then never
		// goes out costs resume one read-back.
		if r.opts.Journal != nil {
			mark := journal.Entry{Op: x.i, Status: batch.StatusInFlight, Action: x.op.Action, Sent: x.sentAs(), Kind: x.op.Kind, Key: x.op.Key, Attempt: x.res.Attempts + 1}
			x.markImage(&mark)
			if err := r.opts.Journal.Sync(mark); err != nil {
				// Never write what could not be recorded.
				r.halt.Store(true)
				return completion{op: x.i, res: x.pending(), fatal: StopJournal, err: fmt.Errorf("journal: %w", err)}
			}
		}
		if !r.acquire(ctx) {
			return x.interrupted()
		}
		if c, again := x.send(ctx, callCtx); !again {
			return c
		}
	}
}

// send makes one write while holding a call slot, and releases it. It
// returns the operation's completion, or again=true to go round the loop
// (after the backoff when one is due).
func (x *execution) send(ctx, callCtx context.Context) (c completion, again bool) {
	r := x.r
	x.res.Attempts++
	x.calls++
	x.tries++
	start := time.Now()
	r.live.sending.Add(1)
	result, err := r.conn.Apply(callCtx, x.change)
	r.live.sending.Add(-1)
	r.observe(x.k.Name, x.op.Action, time.Since(start))
	// Decide before giving the slot back, so that a failure that stops
	// the run halts it before another operation can start a call.
	if err == nil {
		x.readAfter(callCtx)
		return x.released(x.succeed(result.ID, ""))
	}
	x.lastErr = err
	if callCtx.Err() != nil {
		// Cut off after a cancel: whatever the adapter said, the write may
		// have landed. Leave it in flight for resume to read back.
		x.uncertain = true
		r.release()
		return x.interrupted(), false
	}
	switch adapters.ClassOf(err) {
	case adapters.Throttled, adapters.Retryable:
		if retry.Told(err) && x.told < retry.MaxThrottled {
			// The target said when to come back: waiting is not failing.
			x.told++
			x.tries--
		}
		if x.tries >= r.opts.MaxAttempts {
			return x.released(x.fail(fmt.Sprintf("gave up after %d attempts: %v", x.tries, err)))
		}
	case adapters.Unknown:
		x.uncertain = true
	case adapters.Conflict:
		if x.change.Action != adapters.Create {
			return x.released(x.fail(err.Error()))
		}
		if x.sentBefore || x.calls > 1 {
			// Our own earlier attempt may have created it: read back.
			x.uncertain = true
			r.release()
			return completion{}, true
		}
		return x.released(x.fail(fmt.Sprintf("%v: it exists on the target but did not when the plan was made; plan again", err)))
	case adapters.NotFound:
		if x.change.Action == adapters.Delete {
			return x.released(x.succeed("", "already gone from the target"))
		}
		return x.released(x.fail(err.Error()))
	case adapters.Auth:
		return x.released(x.fatal(err))
	default:
		return x.released(x.fail(err.Error()))
	}
	r.release()
	x.sentBefore = true
	if !x.wait(ctx, err) {
		return x.interrupted(), false
	}
	return completion{}, true
}

// reconcile reads the record back while holding a call slot, and releases
// it: done, or again=true to send (or read) again.
func (x *execution) reconcile(ctx, callCtx context.Context) (c completion, again bool) {
	r := x.r
	done, msg, err := x.readBack(callCtx)
	x.refused = false // a later attempt goes alone
	if err != nil && callCtx.Err() != nil {
		r.release()
		return x.interrupted(), false
	}
	switch {
	case err == nil && done:
		return x.released(x.succeed("", msg))
	case err == nil:
		x.uncertain = false // not there (or not as wanted): send again
		r.release()
		return completion{}, true
	}
	switch adapters.ClassOf(err) {
	case adapters.Auth:
		return x.released(x.fatal(err))
	case adapters.Conflict:
		return x.released(x.fail(err.Error()))
	case adapters.Retryable, adapters.Throttled, adapters.Unknown:
		x.tries++
		x.lastErr = err
		if x.tries >= r.opts.MaxAttempts {
			return x.released(x.fail(fmt.Sprintf("the outcome of the last attempt is unknown and reading %s %s back failed %d times (%v); check the target, then resume the run",
				x.k.Name, x.op.Key, x.tries, err)))
		}
		r.release()
		if !x.wait(ctx, err) {
			return x.interrupted(), false
		}
		return completion{}, true
	}
	return x.released(x.fail(fmt.Sprintf("reading %s %s back to learn whether the last attempt landed: %v", x.k.Name, x.op.Key, err)))
}

// released gives the call slot back after c was decided.
func (x *execution) released(c completion) (completion, bool) {
	x.r.release()
	return c, false
}

// wait sleeps before the next try; false when the run was cancelled.
func (x *execution) wait(ctx context.Context, err error) bool {
	d := x.r.pacer.Backoff(x.tries, adapters.RetryAfterOf(err))
	x.r.live.retrying.Add(1)
	defer x.r.live.retrying.Add(-1)
	return x.r.opts.Sleep(ctx, d) == nil
}

// readBack asks the target whether the operation is already done.
func (x *execution) readBack(ctx context.Context) (done bool, msg string, err error) {
	got, err := x.r.conn.Get(ctx, x.k.Name, x.k.KeyRecord(x.change.Record))
	missing := adapters.IsNotFound(err)
	if err != nil && !missing {
		return false, "", err
	}
	x.img.after = got // the after-image, if this read finds the write done
	switch x.change.Action {
	case adapters.Create:
		if missing {
			return false, "", nil
		}
		if same, _ := x.k.Matches(x.change.Record, got); same {
			return true, "created (found on the target when read back after an unknown outcome)", nil
		}
		if x.refused {
			return false, "", adapters.Errorf(adapters.Conflict, "%s %s exists on the target with other values but did not when the plan was made, and the batch it was sent in was refused as a whole, so it is not this run's: plan again", x.k.Name, x.op.Key)
		}
		// It landed only in part: a create can be several calls (MX-ONE
		// creates an extension, then links it from its user's side).
		// Finish it as an update of what is there; never create again.
		x.change = adapters.Change{Kind: x.k.Name, Action: adapters.Update, Record: x.change.Record, Before: got}
		x.before = got
		return false, "", nil
	case adapters.Update:
		if missing {
			return false, "", nil // the update itself will say it is gone
		}
		same, _ := x.k.Matches(x.change.Record, got)
		return same, "updated (confirmed by reading it back after an unknown outcome)", nil
	default:
		return missing, "deleted (confirmed gone when read back after an unknown outcome)", nil
	}
}

func (x *execution) succeed(id, msg string) completion {
	if msg == "" && x.sentAs() != "" {
		msg = "the create had landed in part (found on the target when read back); finished as an update"
	}
	x.res.Status = batch.StatusSucceeded
	x.res.TargetID = id
	x.res.Message = msg
	return x.finish("", nil)
}

func (x *execution) fail(msg string) completion {
	x.res.Status = batch.StatusFailed
	x.res.Message = x.scrub(msg)
	return x.finish("", nil)
}

func (x *execution) fatal(err error) completion {
	msg := x.scrub(err.Error())
	x.res.Status = batch.StatusFailed
	x.res.Message = msg + "; fix the target's credentials, then resume the run"
	return x.finish(StopAuth, fmt.Errorf("%w: %s", ErrAuth, msg))
}

// scrub masks the operation's secret values, in every encoding, in a
// message: a platform may echo a rejected value or the whole request in its
// error (Spring validation messages do), and messages reach the journal,
// the reports and the terminal.
func (x *execution) scrub(msg string) string {
	var secrets []string
	for _, p := range x.k.SecretPaths() {
		secrets = append(secrets, x.change.Record.String(p))
	}
	return redact.New(secrets...).String(msg)
}

func (x *execution) finish(stop string, err error) completion {
	x.res.FinishedAt = time.Now().UTC()
	if stop != "" || (x.res.Status == batch.StatusFailed && x.r.overBudget()) {
		x.r.halt.Store(true)
	}
	if x.r.opts.Journal != nil {
		e := x.r.entry(x.i, x.res, x.before)
		e.Sent = x.sentAs()
		x.afterImage(&e)
		x.r.opts.Journal.Append(e)
	}
	return completion{op: x.i, res: x.res, fatal: stop, err: err, sent: x.calls > 0}
}

// interrupted ends an operation the run stopped waiting for. If its last
// write's outcome is unknown it stays in flight (the journal's last word on
// it), so that resume reads it back; otherwise it was not done and is
// skipped with the rest.
func (x *execution) interrupted() completion {
	if x.uncertain {
		x.res.Status = batch.StatusInFlight
		x.res.Message = "outcome unknown when the run stopped; resume reads it back"
		return completion{op: x.i, res: x.res, sent: x.calls > 0}
	}
	return completion{op: x.i, res: x.pending(), sent: x.calls > 0}
}

func (x *execution) pending() batch.Result {
	return batch.Result{Op: x.i, Status: batch.StatusPending, Attempts: x.res.Attempts}
}
