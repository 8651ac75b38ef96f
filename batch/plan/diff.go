package plan

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// decide sets e's op from its action and the live record: create, update
// (with the field changes), delete, noop, or blocked.
func (p *planner) decide(e *entry) {
	k, op := e.kind, e.op
	e.live, e.present = p.state.lookup(k.Name, e.key)
	switch e.row.Action {
	case batch.DeleteRow:
		if !e.present {
			op.Action = batch.OpNoop
			op.Reason = "not on " + p.where() + "; nothing to delete"
			p.diags.Warnf(e.row.Origin, "", CodeDeleteAbsent, "%s %q is not on %s: nothing to delete (check the key if you expected it there)", k.Name, e.key, p.where())
			return
		}
		op.Action = batch.OpDelete
		// The whole record as read, not just its key: adapters whose
		// deletes touch other records (unlinking an owner) need to know
		// which, for Locks and for the request itself.
		op.Record = e.live.Clone()
		op.Before = e.live
		p.supports(e, adapters.Delete)
		return
	case batch.CreateRow:
		if e.present {
			p.block(e, e.row.Origin, "action", CodeExists, "%s %q already exists on %s and the row's action is create: use upsert (or update) to change it", k.Name, e.key, p.where())
			return
		}
	case batch.UpdateRow:
		if !e.present {
			p.block(e, e.row.Origin, "action", CodeAbsent, "%s %q is not on %s and the row's action is update: use upsert (or create) to create it", k.Name, e.key, p.where())
			return
		}
	case batch.Upsert:
	default:
		p.block(e, p.cell(e, "action"), "action", CodeAction, "unknown action %q: use upsert, create, update or delete", e.row.Action)
		return
	}
	desired, changes := diff(k, e.live, e.row)
	switch {
	case !e.present:
		// No Changes for a create: they would repeat the whole record, and
		// a rollout's plan is mostly creates.
		op.Action = batch.OpCreate
		op.Record = desired
		p.supports(e, adapters.Create)
	case len(changes) == 0:
		op.Action = batch.OpNoop
		op.Before = e.live
		if fixed := p.readOnlyDiffers(e); len(fixed) > 0 {
			op.Reason = fmt.Sprintf("matches every field pbxbatch can set, but the read-only %s differ(s) and cannot be changed here", strings.Join(fixed, ", "))
		}
	default:
		p.readOnlyDiffers(e)
		op.Action = batch.OpUpdate
		op.Record, op.Before, op.Changes = desired, e.live, changes
		p.supports(e, adapters.Update)
	}
}

// readOnlyDiffers warns, for each read-only value of the row that differs
// from the live record, that the plan cannot change it (the platform has
// no way to set it), and returns those fields.
func (p *planner) readOnlyDiffers(e *entry) []string {
	var fixed []string
	for _, path := range e.row.ReadOnly.Paths() {
		want, _ := e.row.ReadOnly.Get(path)
		have, _ := e.live.Get(path)
		if same(have, want, e.kind.Field(path)) {
			continue
		}
		fixed = append(fixed, path)
		p.diags.Warnf(p.cell(e, path), path, CodeReadOnly, "%s %q: %s is %q on %s and %q in the row, but it is read-only: pbxbatch cannot change it, so it stays %q; change it on the platform itself, or clear the cell",
			e.kind.Name, e.key, path, schemas.Text(have), p.where(), schemas.Text(want), schemas.Text(have))
	}
	return fixed
}

// supports blocks e when the adapter says it cannot do a on e's kind.
func (p *planner) supports(e *entry, a adapters.Action) {
	if p.caps == nil {
		return
	}
	if why := p.caps.Supports(e.kind.Name, a); why != "" {
		p.block(e, e.row.Origin, "", CodeUnsupported, "%s cannot %s %s records: %s", p.where(), a, e.kind.Name, why)
	}
}

func (p *planner) where() string {
	if p.opts.Target == "" {
		return "the target"
	}
	return "target " + p.opts.Target
}

// diff returns the desired record (live merged with the row's values, minus
// the fields it clears; the row's values alone when live is nil) and the
// changes, in schema column order. Only fields the row sets or clears are
// compared: a blank cell keeps the target's value, and a zero value ("",
// 0, false) the target does not show is no change, since platforms omit
// zero values from what they return (MX-ONE's preface says so).
//
// Secret and write-only fields are never returned by platforms, so they
// cannot be compared. On a record the target already has, a value the row
// sets for them does not make an update by itself: re-applying a rollout
// is all no-ops, and PINs users changed since are not reset. It is sent
// along when the record is updated anyway, and it counts on its own when
// the row's action is "update" (the way to reset a password). Secret values
// appear masked.
func diff(k *schemas.Kind, live schemas.Record, row batch.Row) (schemas.Record, []batch.FieldChange) {
	desired := live.Clone()
	if desired == nil {
		desired = schemas.Record{}
	}
	// A secret the row does not set is left out: platforms keep a secret
	// that an update does not mention, and the plan could not fill it back
	// from the row (see FillSecrets).
	for _, path := range k.SecretPaths() {
		if _, set := row.Set.Get(path); !set {
			desired.Delete(path)
		}
	}
	explicit := row.Action == batch.UpdateRow || live == nil
	var changes []batch.FieldChange
	alongOnly := 0 // changes that only go along with another
	for _, c := range rowPaths(k, row) {
		f := k.Field(c.path)
		secret := f != nil && f.Secret
		unreadable := f != nil && (f.Secret || f.WriteOnly)
		lv, had := live.Get(c.path)
		had = had && nonEmpty(lv)
		if c.clear {
			desired.Delete(c.path)
			switch {
			case secret && live != nil:
				changes = append(changes, batch.FieldChange{Field: c.path, Before: schemas.Mask})
			case had:
				changes = append(changes, batch.FieldChange{Field: c.path, Before: lv})
			}
			continue
		}
		v, _ := row.Set.Get(c.path)
		desired.Set(c.path, v)
		if had && lv != schemas.Mask && same(lv, v, f) {
			continue
		}
		if !had && schemas.IsZero(v) && !unreadable {
			continue
		}
		ch := batch.FieldChange{Field: c.path, After: v}
		if had {
			ch.Before = lv
		}
		if secret {
			ch.After = schemas.Mask
			if had {
				ch.Before = schemas.Mask
			}
		}
		if unreadable && !had && !explicit {
			alongOnly++
		}
		changes = append(changes, ch)
	}
	if alongOnly == len(changes) {
		return desired, nil
	}
	return desired, changes
}

type rowPath struct {
	path  string
	clear bool
}

// rowPaths returns the paths a row sets and clears, in the kind's column
// order (paths the schema does not list last, sorted), so that changes read
// like the sheet.
func rowPaths(k *schemas.Kind, row batch.Row) []rowPath {
	var out []rowPath
	seen := map[string]bool{}
	for _, path := range row.Set.Paths() {
		out = append(out, rowPath{path: path})
		seen[path] = true
	}
	for _, path := range row.Clear {
		if !seen[path] {
			out = append(out, rowPath{path: path, clear: true})
			seen[path] = true
		}
	}
	pos := func(path string) int {
		for i, f := range k.Fields {
			if f.Path == path {
				return i
			}
		}
		return len(k.Fields)
	}
	slices.SortStableFunc(out, func(a, b rowPath) int {
		return cmp.Or(cmp.Compare(pos(a.path), pos(b.path)), cmp.Compare(a.path, b.path))
	})
	return out
}

// same compares two values as a user would: numbers canonical, a scalar
// equal to its text ("5" and 5, "true" and true), and a list of references
// as a set (the order of a person's groups means nothing) unless the schema
// says its order matters (x-ordered: MX-ONE's first department is primary).
func same(a, b any, f *schemas.Field) bool {
	a, b = schemas.Normalize(a), schemas.Normalize(b)
	if f != nil && f.Ref != nil && f.Ref.Many && !f.Ordered {
		ta, tb := texts(a), texts(b)
		slices.Sort(ta)
		slices.Sort(tb)
		return slices.Equal(ta, tb)
	}
	return sameValue(a, b)
}

func sameValue(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	la, aList := a.([]any)
	lb, bList := b.([]any)
	if aList && bList {
		return slices.EqualFunc(la, lb, sameValue)
	}
	if aList || bList {
		return false
	}
	if _, ok := a.(map[string]any); ok {
		return false
	}
	if _, ok := b.(map[string]any); ok {
		return false
	}
	return schemas.Text(a) == schemas.Text(b)
}

func texts(v any) []string {
	if l, ok := v.([]any); ok {
		out := make([]string, len(l))
		for i, x := range l {
			out[i] = schemas.Text(x)
		}
		return out
	}
	if v == nil {
		return nil
	}
	return []string{schemas.Text(v)}
}

func nonEmpty(v any) bool {
	return v != nil && schemas.Text(v) != ""
}
