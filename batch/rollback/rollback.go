// Package rollback works out what undoes a run: from the run's plan and
// its journal (what was actually sent and how it ended, with the before-
// and after-images the runner journals: batch/run/images.go) and the
// target as it is now, one step per record the run changed — a created
// record deleted, an updated one restored to its before-image, a deleted
// one recreated from it — and, per record and with the reason, what cannot
// be undone safely.
//
// The steps become an ordinary input (WriteInput: one CSV per kind with an
// action column), which is planned and applied like any workbook: the
// planner puts the steps in dependency order (deletes of what the run
// created first, dependents before what they reference; recreated records
// before the records that reference them, so that dependents are linked
// again), and the run is journaled, resumable and reported like any other.
// Rolling a rollback back therefore redoes the run.
package rollback

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Options say how to read the target and what to override.
type Options struct {
	Reads  plan.Reads
	Target string // the target's name, for messages
	// Capabilities is the adapter's: an inverse it cannot do is refused.
	Capabilities adapters.Capabilities
	// Force lists kinds whose records changed on the target since the run
	// are undone anyway (the change since the run is lost).
	Force []string
}

// Step is one record to put back.
type Step struct {
	Kind   *schemas.Kind
	Key    string
	Action batch.RowAction // CreateRow: recreate; UpdateRow: restore; DeleteRow: remove
	// Record is the state to restore (key fields only for a delete), with
	// neither secrets nor write-only fields: the target never returns
	// them, so they are not known.
	Record schemas.Record
	// Clear lists fields to clear: set by the run, empty before it.
	Clear []string
	// Lost lists the fields that cannot be restored: secrets and
	// write-only fields the run set, or that the recreated record had.
	Lost []string
	// Op is the run's operation this step undoes.
	Op *batch.Op
}

// Refusal is a record the rollback leaves as it is, and why.
type Refusal struct {
	Kind   string      `json:"kind"`
	Key    string      `json:"key"`
	Origin diag.Origin `json:"origin"` // the run's input row
	Reason string      `json:"reason"`
}

func (r Refusal) String() string {
	return fmt.Sprintf("%s %q (%s): %s", r.Kind, r.Key, r.Origin, r.Reason)
}

// Inverse is what undoes a run.
type Inverse struct {
	Steps   []Step
	Refused []Refusal
	// AsBefore counts the records the run wrote (or tried to) that are
	// already as they were before it: nothing to undo.
	AsBefore int
	// Planned counts the steps whose before-image is the one the plan read
	// (the run did not journal one: --no-before-images, or a journal set
	// aside).
	Planned int
}

// history is what the journal says of one operation.
type history struct {
	last   journal.Entry
	image  bool // a before-image was journaled
	before schemas.Record
	after  schemas.Record // of the last success
}

func histories(entries []journal.Entry) map[int]*history {
	out := map[int]*history{}
	for _, e := range entries {
		if e.Op == journal.StepOp {
			continue
		}
		h := out[e.Op]
		if h == nil {
			h = &history{}
			out[e.Op] = h
		}
		h.last = e
		if e.Image && !h.image { // the first attempt's: later ones may see our own write
			h.image, h.before = true, e.Before
		}
		if e.Status == batch.StatusSucceeded {
			h.after = e.After
		}
	}
	return out
}

// Build works out the inverse of the run that executed p, whose journal
// holds entries, against the target behind conn as it is now.
func Build(ctx context.Context, conn adapters.Conn, kinds *schemas.Set, p *batch.Plan, entries []journal.Entry, o Options) (*Inverse, error) {
	hs := histories(entries)
	type touched struct {
		op   *batch.Op
		kind *schemas.Kind
		h    *history
	}
	var ts []touched
	want := map[*schemas.Kind]map[string]schemas.Record{}
	for _, op := range p.Ops {
		h := hs[op.ID]
		if _, writes := op.Action.Write(); !writes || h == nil {
			continue
		}
		// Sent at least once, or done: it may have changed the target.
		if h.last.Attempt == 0 && h.last.Status != batch.StatusSucceeded {
			continue
		}
		k := kinds.Kind(op.Kind)
		if k == nil {
			return nil, fmt.Errorf("op %d: %s is not a kind of %s: the run was made with another adapter", op.ID, op.Kind, kinds.Adapter)
		}
		src := op.Record
		if len(src) == 0 {
			src = op.Before
		}
		if want[k] == nil {
			want[k] = map[string]schemas.Record{}
		}
		want[k][op.Key] = k.KeyRecord(src)
		ts = append(ts, touched{op, k, h})
	}
	now, err := plan.ReadLive(ctx, conn, o.Reads, o.Target, want)
	if err != nil {
		return nil, fmt.Errorf("reading the records the run changed: %w", err)
	}
	inv := &Inverse{}
	for _, t := range ts {
		d := decider{inv: inv, o: o, op: t.op, k: t.kind, h: t.h, now: now[t.kind.Name][t.op.Key]}
		d.decide()
	}
	return inv, nil
}

// decider settles one operation of the run.
type decider struct {
	inv *Inverse
	o   Options
	op  *batch.Op
	k   *schemas.Kind
	h   *history
	now schemas.Record // nil: absent
}

func (d *decider) done() bool { return d.h.last.Status == batch.StatusSucceeded }

func (d *decider) forced() bool { return slices.Contains(d.o.Force, d.k.Name) }

// before is the record as it was before the run: the journaled image, or
// what the plan read.
func (d *decider) before() (schemas.Record, bool) {
	if d.h.image {
		return d.h.before, false
	}
	return d.op.Before, true
}

func (d *decider) refuse(format string, args ...any) {
	d.inv.Refused = append(d.inv.Refused, Refusal{Kind: d.k.Name, Key: d.op.Key, Origin: d.op.Origin, Reason: fmt.Sprintf(format, args...)})
}

// drift returns how the record moved since the run left it ("" if it did
// not): compared with the after-image, else with the planned record.
func (d *decider) drift() string {
	if d.h.after != nil {
		if f := plan.ChangedFields(d.k, d.h.after, d.now); len(f) > 0 {
			return "changed on the target since the run: " + strings.Join(f, ", ")
		}
		return ""
	}
	if ok, f := d.k.Matches(d.op.Record, d.now); !ok {
		return "changed on the target since the run: " + f
	}
	return ""
}

// refuseDrift refuses the record unless its kind is forced, saying how
// to force it.
func (d *decider) refuseDrift(why string) bool {
	if d.forced() {
		return false
	}
	d.refuse("%s; not undone, so that the change is not lost (--force %s undoes it anyway)", why, d.k.Name)
	return true
}

func (d *decider) decide() {
	switch d.op.Action {
	case batch.OpCreate:
		d.undoCreate()
	case batch.OpUpdate:
		d.undoUpdate()
	case batch.OpDelete:
		d.undoDelete()
	}
}

func (d *decider) undoCreate() {
	if d.now == nil {
		d.inv.AsBefore++ // never landed, or deleted since: nothing to delete
		return
	}
	// A create whose outcome is unknown and that is there now is ours,
	// landed perhaps in part (no other run had the target): it goes.
	if d.done() {
		if why := d.drift(); why != "" && d.refuseDrift(why) {
			return
		}
	}
	d.step(batch.DeleteRow, d.k.KeyRecord(d.now), nil, nil)
}

func (d *decider) undoUpdate() {
	was, planned := d.before()
	if d.now == nil {
		if d.refuseDrift("deleted on the target since the run") {
			return
		}
		d.recreate(was, planned)
		return
	}
	if len(plan.ChangedFields(d.k, was, d.now)) == 0 {
		d.inv.AsBefore++ // the update never landed, or was undone already
		return
	}
	// An update whose outcome is unknown may have landed in part (an
	// MX-ONE extension's owner is changed on both sides): whatever it is
	// now, it is what the run left, and it goes back.
	if d.done() {
		if why := d.drift(); why != "" && d.refuseDrift(why) {
			return
		}
	}
	d.restore(was, planned)
}

func (d *decider) undoDelete() {
	was, planned := d.before()
	if d.now != nil {
		if was == nil {
			d.refuse("on the target now, though it was absent before the run; left as it is")
			return
		}
		if len(plan.ChangedFields(d.k, was, d.now)) == 0 {
			d.inv.AsBefore++ // the delete never landed, or was undone already
			return
		}
		// Done and there again: someone recreated it. Unknown and not as
		// before: the delete landed in part (MX-ONE unlinks an extension
		// from its user first); it goes back as it was.
		if d.done() && d.refuseDrift("created again on the target since the run") {
			return
		}
		d.restore(was, planned)
		return
	}
	if was == nil {
		d.inv.AsBefore++ // it was already gone before the run
		return
	}
	d.recreate(was, planned)
}

// recreate adds a step creating was again.
func (d *decider) recreate(was schemas.Record, planned bool) {
	if was == nil {
		d.refuse("the run kept no image of it to recreate it from")
		return
	}
	d.step(batch.CreateRow, restorable(d.k, was), nil, unknowable(d.k, nil))
	d.countPlanned(planned)
}

// restore adds a step putting the record back as was: its fields set,
// and the fields it did not have cleared.
func (d *decider) restore(was schemas.Record, planned bool) {
	rec := restorable(d.k, was)
	var clear []string
	for _, f := range d.k.Fields {
		if !settable(f) {
			continue
		}
		_, had := rec.Get(f.Path)
		v, has := d.now.Get(f.Path)
		if !had && has && !empty(v) {
			clear = append(clear, f.Path)
		}
	}
	d.step(batch.UpdateRow, rec, clear, unknowable(d.k, d.op.Record))
	d.countPlanned(planned)
}

func (d *decider) countPlanned(planned bool) {
	if planned {
		d.inv.Planned++
	}
}

// step adds a step unless the adapter cannot do it.
func (d *decider) step(a batch.RowAction, rec schemas.Record, clear, lost []string) {
	if caps := d.o.Capabilities; caps != nil {
		if why := caps.Supports(d.k.Name, writeOf(a)); why != "" {
			d.refuse("undoing it needs a %s, which the platform cannot do: %s", writeOf(a), why)
			return
		}
	}
	d.inv.Steps = append(d.inv.Steps, Step{Kind: d.k, Key: d.op.Key, Action: a, Record: rec, Clear: clear, Lost: lost, Op: d.op})
}

func writeOf(a batch.RowAction) adapters.Action {
	switch a {
	case batch.CreateRow:
		return adapters.Create
	case batch.DeleteRow:
		return adapters.Delete
	}
	return adapters.Update
}

// settable says whether a field can be put back from an image: not a
// secret or write-only (never read back) nor read-only (never written).
func settable(f *schemas.Field) bool { return !f.Secret && !f.WriteOnly && !f.ReadOnly }

// restorable returns the settable fields of an image.
func restorable(k *schemas.Kind, image schemas.Record) schemas.Record {
	out := schemas.Record{}
	for _, f := range k.Fields {
		if !settable(f) {
			continue
		}
		if v, ok := image.Get(f.Path); ok && !empty(v) {
			out.Set(f.Path, v)
		}
	}
	return out
}

// empty says whether a value is no value: a blank cell keeps the target's
// value, so a field the image holds empty is cleared instead (false and 0
// are values).
func empty(v any) bool {
	switch t := schemas.Normalize(v).(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	}
	return false
}

// unknowable lists the secret and write-only fields of k that cannot be
// restored: those set in written (what the run wrote), or all of them when
// written is nil (a recreated record had whatever it had).
func unknowable(k *schemas.Kind, written schemas.Record) []string {
	var out []string
	for _, f := range k.Fields {
		if !f.Secret && !f.WriteOnly {
			continue
		}
		if written != nil {
			if v, ok := written.Get(f.Path); !ok || schemas.IsZero(v) {
				continue
			}
		}
		out = append(out, f.Path)
	}
	return out
}
