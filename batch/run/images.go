package run

import (
	"context"
	"fmt"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Before- and after-images, for rollback (batch/rollback), with
// Options.Images:
//
//   - an update or delete reads its record just before its first write and
//     journals it with the in-flight mark (Entry.Image, Entry.Before; a nil
//     Before: the record was absent). Read before the mark, so that the mark
//     that may precede a landed write always carries the state it replaced.
//     An operation an earlier attempt of the run sent is not read again: the
//     record may hold our own write by then, and the first image stands.
//   - an update that succeeds reads its record back and journals it with
//     the outcome (Entry.After), so that a rollback can tell a record
//     changed on the target since the run from one as the run left it. The
//     write's answer cannot serve: adapters.Result carries only the target's
//     id. A success learned by a read-back after an unknown outcome reuses
//     that read (a create's too).
//   - a create reads nothing: rollback compares the record with what the
//     plan created, as a re-plan does, so that a rollout of new records
//     costs no request more than without images (they are most of a
//     rollout, and the rate limit bounds requests).
//
// Cost: one read per delete, two per update, none per create. A failed
// after-read costs nothing but the image: rollback then compares with the
// planned record. Batched writes (creates; updates and deletes are not
// batched with images on) get no after-image.
// Images are redacted like every record in the journal.
type images struct {
	before schemas.Record
	taken  bool // before was read (nil before: absent)
	after  schemas.Record
}

// wantsBefore says whether the next write must first read a before-image.
func (x *execution) wantsBefore() bool {
	a := x.change.Action
	return x.r.opts.Images && !x.img.taken && !x.sentBefore && (a == adapters.Update || a == adapters.Delete)
}

// readBefore reads the before-image while holding a call slot, and
// releases it: again=true goes on to the write (or reads again after a
// transient fault).
func (x *execution) readBefore(ctx, callCtx context.Context) (c completion, again bool) {
	r := x.r
	got, err := r.conn.Get(callCtx, x.k.Name, x.k.KeyRecord(x.change.Record))
	switch {
	case err != nil && callCtx.Err() != nil:
		r.release()
		return x.interrupted(), false
	case err == nil || adapters.IsNotFound(err):
		if err != nil {
			got = nil
		}
		x.img.before, x.img.taken = got, true
		r.release()
		return completion{}, true
	}
	what := fmt.Sprintf("reading %s %s just before the write (its before-image, for rollback; apply --no-before-images skips it)", x.k.Name, x.op.Key)
	switch adapters.ClassOf(err) {
	case adapters.Auth:
		return x.released(x.fatal(err))
	case adapters.Retryable, adapters.Throttled, adapters.Unknown:
		x.tries++
		x.lastErr = err
		if x.tries >= r.opts.MaxAttempts {
			return x.released(x.fail(fmt.Sprintf("%s failed %d times: %v; nothing was written, resume the run", what, x.tries, err)))
		}
		r.release()
		if !x.wait(ctx, err) {
			return x.interrupted(), false
		}
		return completion{}, true
	}
	return x.released(x.fail(fmt.Sprintf("%s: %v; nothing was written", what, err)))
}

// markImage puts the before-image on an in-flight mark.
func (x *execution) markImage(mark *journal.Entry) {
	if !x.img.taken {
		return
	}
	mark.Image = true
	if x.img.before != nil {
		mark.Before = x.k.Redact(x.img.before)
	}
}

// readAfter reads the after-image of an update that succeeded,
// still holding its call slot.
func (x *execution) readAfter(ctx context.Context) {
	if !x.r.opts.Images || x.change.Action != adapters.Update {
		return
	}
	got, err := x.r.conn.Get(ctx, x.k.Name, x.k.KeyRecord(x.change.Record))
	if err != nil {
		got = nil
	}
	x.img.after = got
}

// afterImage puts the after-image on a succeeded outcome entry.
func (x *execution) afterImage(e *journal.Entry) {
	if x.r.opts.Images && e.Status == batch.StatusSucceeded && x.change.Action != adapters.Delete && x.img.after != nil {
		e.After = x.k.Redact(x.img.after)
	}
}
