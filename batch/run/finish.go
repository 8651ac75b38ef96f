package run

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
)

// The end-of-run step (adapters.Finisher) runs once, after every operation
// has reached its end, when the run (this attempt or an earlier one)
// created, updated or deleted records of a kind the step declares. It is
// journaled like a write: marked in flight before, its outcome after, so
// that resume runs it again unless an earlier attempt finished it and no
// row of its kinds changed since. A run
// that stopped early (cancelled, failure budget spent, credentials
// refused) leaves it pending for resume: never half a rollout made
// effective as if it were all of it.

// endOfRun runs the step if it is due and returns its outcome (nil when
// there is none to run).
func (r *runner) endOfRun(ctx, callCtx context.Context) *batch.Step {
	f := r.feat.Finisher
	if f == nil {
		return nil
	}
	want := f.FinishKinds()
	changed := r.changedKinds(want, false)
	if len(changed) == 0 {
		return nil
	}
	if prior, since := r.priorStep(want); prior != nil && prior.Status == batch.StatusSucceeded && !since && len(r.changedKinds(want, true)) == 0 {
		return prior // done, and nothing changed since
	}
	step := &batch.Step{Status: batch.StatusPending, Changed: changed}
	if r.stopped != "" || !r.reachedEnd() {
		step.Message = "not run: the run did not reach its end; resume it to run the step"
		return step
	}
	for {
		if r.opts.Journal != nil {
			mark := journal.Entry{Op: journal.StepOp, Status: batch.StatusInFlight, Attempt: step.Attempts + 1}
			if err := r.opts.Journal.Sync(mark); err != nil {
				step.Message = fmt.Sprintf("not run: the journal could not be written (%v); resume the run", err)
				return step
			}
		}
		step.Attempts++
		res, err := f.Finish(callCtx, changed)
		step.StepResult, step.FinishedAt = res, time.Now().UTC()
		if err == nil {
			step.Status, step.Message = batch.StatusSucceeded, ""
			break
		}
		step.Message = err.Error()
		switch adapters.ClassOf(err) {
		case adapters.Retryable, adapters.Throttled, adapters.Unknown:
			if step.Attempts < r.opts.MaxAttempts && callCtx.Err() == nil &&
				r.opts.Sleep(ctx, r.pacer.Backoff(step.Attempts, adapters.RetryAfterOf(err))) == nil {
				continue
			}
		}
		if callCtx.Err() != nil || ctx.Err() != nil {
			// Cut off: leave it in flight for resume.
			step.Status, step.Message = batch.StatusPending, "interrupted: resume the run to run the step again"
			return step
		}
		step.Status = batch.StatusFailed
		step.Message = fmt.Sprintf("the end-of-run step failed after %d attempt(s): %s; the changes are on the target but may not be in effect: fix the cause, then resume the run to run the step again", step.Attempts, err)
		break
	}
	if r.opts.Journal != nil {
		r.opts.Journal.Append(journal.Entry{Op: journal.StepOp, Status: step.Status, Attempt: step.Attempts, Message: step.Message, Step: step, At: step.FinishedAt})
	}
	return step
}

// changedKinds returns the kinds of want that have a write that succeeded,
// in this attempt or an earlier one (or in this attempt only).
func (r *runner) changedKinds(want []string, thisAttempt bool) []string {
	var out []string
	for i, res := range r.res {
		op := r.plan.Ops[i]
		if thisAttempt && r.opts.Prior[i].Status == batch.StatusSucceeded {
			continue
		}
		if _, write := op.Action.Write(); write && res.Status == batch.StatusSucceeded &&
			slices.Contains(want, op.Kind) && !slices.Contains(out, op.Kind) {
			out = append(out, op.Kind)
		}
	}
	slices.Sort(out)
	return out
}

// reachedEnd reports whether every operation has its final word: nothing
// pending, skipped or of unknown outcome.
func (r *runner) reachedEnd() bool {
	for _, res := range r.res {
		switch res.Status {
		case batch.StatusSucceeded, batch.StatusNoop, batch.StatusFailed, batch.StatusBlocked:
		default:
			return false
		}
	}
	return true
}

// priorStep returns the step's last outcome in an earlier attempt of this
// run, read from the journal being resumed (nil when there is none), and
// whether an earlier attempt changed one of the want kinds after it (a
// resume that retried failed rows, then died before its own step).
func (r *runner) priorStep(want []string) (step *batch.Step, changedSince bool) {
	if r.opts.Prior == nil || r.opts.Journal == nil {
		return nil, false
	}
	entries, err := journal.Read(r.opts.Journal.Path())
	if err != nil {
		return nil, false // unknown: running the step again is safe, skipping it is not
	}
	for _, e := range entries {
		switch {
		case e.Op == journal.StepOp && e.Step != nil:
			s := *e.Step
			s.Status = e.Status
			step, changedSince = &s, false
		case e.Op == journal.StepOp:
			step, changedSince = nil, false // in flight: its outcome is unknown
		case e.Status == batch.StatusSucceeded && slices.Contains(want, e.Kind):
			_, write := e.Action.Write()
			changedSince = changedSince || write
		}
	}
	return step, changedSince
}
