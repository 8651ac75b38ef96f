package run

import (
	"context"
	"fmt"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
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
	op := r.plan.Ops[i]
	k := r.kinds.Kind(op.Kind)
	action, _ := changeAction(op.Action)
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
		// create, and an in-flight mark means its outcome is unknown.
		sentBefore: prior.Attempt > 0,
		uncertain:  prior.Status == batch.StatusInFlight,
	}
	if action == adapters.Update || action == adapters.Delete {
		x.before = op.Before
	}
	if p := secretMasked(k, rec); p != "" {
		return x.fail(fmt.Sprintf("secret field %s holds the mask, not a value: this plan was saved without secrets; "+
			"apply the workbook again (or resume with it) so the value can be sent", p))
	}
	return x.loop(ctx, callCtx)
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

	sentBefore bool // a create may already exist because of us
	uncertain  bool // the last write's outcome is unknown: read back first
	calls      int  // writes in this run
	tries      int  // writes and failed read-backs, against MaxAttempts
	lastErr    error
}

func (x *execution) loop(ctx, callCtx context.Context) completion {
	r := x.r
	for {
		if x.uncertain {
			done, msg, err := x.readBack(callCtx)
			switch {
			case err == nil && done:
				return x.succeed("", msg)
			case err == nil:
				x.uncertain = false // not there (or not as wanted): send again
			default:
				switch adapters.ClassOf(err) {
				case adapters.Auth:
					return x.fatal(err)
				case adapters.Retryable, adapters.Throttled, adapters.Unknown:
					x.tries++
					x.lastErr = err
					if x.tries >= r.opts.MaxAttempts {
						return x.fail(fmt.Sprintf("the outcome of the last attempt is unknown and reading %s %s back failed %d times (%v); check the target, then resume the run",
							x.k.Name, x.op.Key, x.tries, err))
					}
					if !x.wait(ctx, err) {
						return x.interrupted()
					}
					continue
				default:
					return x.fail(fmt.Sprintf("reading %s %s back to learn whether the last attempt landed: %v", x.k.Name, x.op.Key, err))
				}
			}
		}
		if ctx.Err() != nil {
			return x.interrupted()
		}
		if x.tries >= r.opts.MaxAttempts {
			return x.fail(fmt.Sprintf("gave up after %d attempts: %v", x.tries, x.lastErr))
		}
		// The in-flight mark goes to disk before the token wait, so the
		// fsync overlaps the pacing instead of adding to every call. A mark
		// for a call that then never goes out costs resume one read-back.
		if r.opts.Journal != nil {
			mark := journal.Entry{Op: x.i, Status: batch.StatusInFlight, Action: x.op.Action, Kind: x.op.Kind, Key: x.op.Key, Attempt: x.res.Attempts + 1}
			if err := r.opts.Journal.Sync(mark); err != nil {
				// Never write what could not be recorded.
				return completion{op: x.i, res: x.pending(), fatal: StopJournal, err: fmt.Errorf("journal: %w", err)}
			}
		}
		if err := r.pacer.Wait(ctx); err != nil {
			return x.interrupted()
		}
		x.res.Attempts++
		x.calls++
		x.tries++
		start := time.Now()
		result, err := r.conn.Apply(callCtx, x.change)
		r.observe(x.k.Name, x.op.Action, time.Since(start))
		if err == nil {
			r.pacer.Succeeded()
			return x.succeed(result.ID, "")
		}
		x.lastErr = err
		switch adapters.ClassOf(err) {
		case adapters.Throttled, adapters.Retryable:
			if adapters.ClassOf(err) == adapters.Throttled {
				r.pacer.Throttled()
			}
			if x.tries >= r.opts.MaxAttempts {
				return x.fail(fmt.Sprintf("gave up after %d attempts: %v", x.tries, err))
			}
		case adapters.Unknown:
			x.uncertain = true
		case adapters.Conflict:
			if x.change.Action != adapters.Create {
				return x.fail(err.Error())
			}
			if x.sentBefore || x.calls > 1 {
				// Our own earlier attempt may have created it.
				x.uncertain = true
				continue
			}
			return x.fail(fmt.Sprintf("%v: it exists on the target but did not when the plan was made; plan again", err))
		case adapters.NotFound:
			if x.change.Action == adapters.Delete {
				return x.succeed("", "already gone from the target")
			}
			return x.fail(err.Error())
		case adapters.Auth:
			return x.fatal(err)
		default:
			return x.fail(err.Error())
		}
		x.sentBefore = true
		if !x.wait(ctx, err) {
			return x.interrupted()
		}
	}
}

// wait sleeps before the next try; false when the run was cancelled.
func (x *execution) wait(ctx context.Context, err error) bool {
	d := x.r.pacer.Backoff(x.tries, adapters.RetryAfterOf(err))
	return x.r.opts.Sleep(ctx, d) == nil
}

// readBack asks the target whether the operation is already done.
func (x *execution) readBack(ctx context.Context) (done bool, msg string, err error) {
	got, err := x.r.conn.Get(ctx, x.k.Name, x.k.KeyRecord(x.change.Record))
	missing := adapters.IsNotFound(err)
	if err != nil && !missing {
		return false, "", err
	}
	switch x.change.Action {
	case adapters.Create:
		return !missing, "created (found on the target when read back after an unknown outcome)", nil
	case adapters.Update:
		if missing {
			return false, "", nil // the update itself will say it is gone
		}
		same, _ := sameOnTarget(x.k, x.change.Record, got)
		return same, "updated (confirmed by reading it back after an unknown outcome)", nil
	default:
		return missing, "deleted (confirmed gone when read back after an unknown outcome)", nil
	}
}

func (x *execution) succeed(id, msg string) completion {
	x.res.Status = batch.StatusSucceeded
	x.res.TargetID = id
	x.res.Message = msg
	return x.finish("", nil)
}

func (x *execution) fail(msg string) completion {
	x.res.Status = batch.StatusFailed
	x.res.Message = msg
	return x.finish("", nil)
}

func (x *execution) fatal(err error) completion {
	x.res.Status = batch.StatusFailed
	x.res.Message = err.Error() + "; fix the target's credentials, then resume the run"
	return x.finish(StopAuth, fmt.Errorf("%w: %v", ErrAuth, err))
}

func (x *execution) finish(stop string, err error) completion {
	x.res.FinishedAt = time.Now().UTC()
	if x.r.opts.Journal != nil {
		x.r.opts.Journal.Append(x.r.entry(x.i, x.res, x.before))
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
