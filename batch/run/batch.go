package run

import (
	"context"
	"fmt"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
)

// Batched writes (adapters.Batcher). When an operation the connection can
// batch is dispatched, the ready operations of its kind and action whose
// locks are free join it, up to the batch size. The batch is one request:
// one pacer token, one call slot. Every member is marked in flight in the
// journal before it is sent and gets its own outcome after.
//
// What a member becomes when the batch does not simply succeed:
//   - the target answered for it alone: success, or its error handled as
//     an unknown outcome (read back, then sent on its own if need be);
//   - the batch was throttled or failed before it could land: the same
//     batch is sent again after the backoff;
//   - the target refused the batch as a whole, or its outcome is unknown:
//     every member is read back, and what is not there goes on one by one,
//     so that a refusal lands on the row that caused it. A batch is never
//     resent blindly.

// batchLimit returns how many writes may share a request with op i (below
// 2: send it alone). Operations an earlier attempt sent are read back one
// by one first.
func (r *runner) batchLimit(i int) int {
	if r.feat.Batcher == nil || r.opts.BatchSize == 1 || r.readBackFirst(i) {
		return 0
	}
	op := r.plan.Ops[i]
	a, ok := op.Action.Write()
	if !ok {
		return 0
	}
	if r.opts.Images && a != adapters.Create {
		return 0 // each reads its before-image first (images.go)
	}
	n := r.feat.Batcher.MaxBatch(op.Kind, a)
	if r.opts.BatchSize > 0 {
		n = min(n, r.opts.BatchSize)
	}
	return n
}

// dispatchBatch starts op i (its locks taken) with the queued operations
// that can join it.
func (r *runner) dispatchBatch(ctx, callCtx context.Context, i, limit int) {
	members := []int{i}
	r.started[i] = true
	op := r.plan.Ops[i]
	group := r.batchGroup(i)
	take := func(queue []int) []int {
		kept := queue[:0]
		for _, j := range queue {
			o := r.plan.Ops[j]
			if len(members) < limit && !r.final[j] && !r.started[j] && o.Kind == op.Kind && o.Action == op.Action &&
				r.batchLimit(j) > 1 && r.busyLock(j) == "" && r.batchGroup(j) == group {
				for _, l := range r.locks[j] {
					r.lockHeld[l] = true
				}
				r.started[j] = true
				members = append(members, j)
				continue
			}
			kept = append(kept, j)
		}
		return kept
	}
	r.unlocked = take(r.unlocked)
	r.ready = take(r.ready)
	r.inflight += len(members)
	go r.executeBatch(ctx, callCtx, members)
}

// batchGroup is the scope op i's request is limited to (see
// adapters.BatchGrouper); "" for a Batcher without scopes.
func (r *runner) batchGroup(i int) string {
	g := r.feat.BatchGrouper
	if g == nil {
		return ""
	}
	op := r.plan.Ops[i]
	a, _ := op.Action.Write()
	return g.BatchGroup(adapters.Change{Kind: op.Kind, Action: a, Record: op.Record, Before: op.Before})
}

// executeBatch runs a batch to the end of its request, then hands every
// member that still needs calls to its own execution loop. Each member's
// completion goes to r.done.
func (r *runner) executeBatch(ctx, callCtx context.Context, members []int) {
	var xs []*execution
	for _, i := range members {
		x, c := r.prepare(i)
		if x == nil {
			r.done <- c
			continue
		}
		xs = append(xs, x)
	}
	for len(xs) > 0 {
		out, rest := r.sendBatch(ctx, callCtx, xs)
		for _, c := range out {
			r.done <- c
		}
		for _, x := range rest {
			go func() { r.done <- x.loop(ctx, callCtx) }()
		}
		if len(out)+len(rest) > 0 {
			return
		}
		// Throttled or failed before landing: the same batch again, after
		// the backoff.
		if !xs[0].wait(ctx, xs[0].lastErr) {
			for _, x := range xs {
				r.done <- x.interrupted()
			}
			return
		}
	}
}

// sendBatch makes one attempt at the batch. It returns the completions of
// members that are done and the members that go on alone; both empty means
// "send the batch again".
func (r *runner) sendBatch(ctx, callCtx context.Context, xs []*execution) (done []completion, alone []*execution) {
	each := func(f func(x *execution) completion) []completion {
		out := make([]completion, len(xs))
		for k, x := range xs {
			out[k] = f(x)
		}
		return out
	}
	if ctx.Err() != nil {
		return each((*execution).interrupted), nil
	}
	if xs[0].tries >= r.opts.MaxAttempts {
		return each(func(x *execution) completion {
			return x.fail(fmt.Sprintf("gave up after %d attempts (sent in batches of %d): %v", x.tries, len(xs), x.lastErr))
		}), nil
	}
	// The connection paces the batch's request itself (internal/httpclient,
	// or adapters/paced for a target that is not HTTP): one wait per batch.
	if !r.acquire(ctx) {
		return each((*execution).interrupted), nil
	}
	// Marked once the batch has its turn: one fsync for the batch, and no
	// mark for a batch still queued when the process dies (resume would
	// read each of its members back, one by one).
	if err := r.markBatch(xs); err != nil {
		r.halt.Store(true)
		r.release()
		return each(func(x *execution) completion {
			return completion{op: x.i, res: x.pending(), fatal: StopJournal, err: fmt.Errorf("journal: %w", err)}
		}), nil
	}
	changes := make([]adapters.Change, len(xs))
	for k, x := range xs {
		x.res.Attempts++
		x.calls++
		x.tries++
		changes[k] = x.change
	}
	start := time.Now()
	results, errs, err := r.feat.Batcher.ApplyBatch(callCtx, changes)
	r.observe(xs[0].k.Name, xs[0].op.Action, time.Since(start))
	defer r.release() // outcomes are decided holding the slot, as for one write
	switch {
	case err == nil && len(results) == len(xs) && len(errs) == len(xs):
		for k, x := range xs {
			switch {
			case errs[k] == nil:
				done = append(done, x.succeed(results[k].ID, ""))
			case adapters.ClassOf(errs[k]) == adapters.Auth:
				done = append(done, x.fatal(errs[k]))
			default:
				x.lastErr, x.uncertain, x.sentBefore = errs[k], true, true
				alone = append(alone, x)
			}
		}
		return done, alone
	case err == nil:
		err = &adapters.Error{Class: adapters.Unknown, Message: fmt.Sprintf("the target answered %d results for a batch of %d", len(results), len(xs))}
	}
	for _, x := range xs {
		x.lastErr, x.sentBefore = err, true
	}
	switch adapters.ClassOf(err) {
	case adapters.Auth:
		return each(func(x *execution) completion { return x.fatal(err) }), nil
	case adapters.Throttled, adapters.Retryable:
		if callCtx.Err() == nil {
			return nil, nil
		}
	}
	// Refused as a whole, or the outcome is unknown: learn each member's
	// fate by reading it back. A refusal applies none of the batch, so a
	// member sent for the first time that is found different on the
	// target is someone else's record (see execution.refused).
	whole := adapters.ClassOf(err) != adapters.Unknown
	for _, x := range xs {
		x.uncertain = true
		x.refused = whole && x.res.Attempts == 1 && x.change.Action == adapters.Create
	}
	if callCtx.Err() != nil {
		return each((*execution).interrupted), nil
	}
	return nil, xs
}

// markBatch durably marks every member in flight: one fsync for all (Sync
// waits for everything queued before it).
func (r *runner) markBatch(xs []*execution) error {
	if r.opts.Journal == nil {
		return nil
	}
	for k, x := range xs {
		mark := journal.Entry{Op: x.i, Status: batch.StatusInFlight, Action: x.op.Action, Kind: x.op.Kind, Key: x.op.Key, Attempt: x.res.Attempts + 1}
		if k < len(xs)-1 {
			r.opts.Journal.Append(mark)
		} else if err := r.opts.Journal.Sync(mark); err != nil {
			return err
		}
	}
	return nil
}
