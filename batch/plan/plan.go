// Package plan turns validated input rows and the live state of a target into
// a batch.Plan: one operation per row (create, update with a field-level
// diff, delete, no-op, or blocked with the reason), linked into a DAG by the
// references the schemas declare, deterministic for the same input and
// target state, and free of secrets in clear.
//
// The flow of Build:
//
//  1. index the rows by kind and natural key (duplicates are blocked);
//  2. read the live state of every key the rows touch or reference, with
//     bounded concurrency, by Get per key or one List per kind (reads.go);
//  3. decide each row's operation and field changes (diff.go);
//  4. resolve references: in the workbook or on the target, else an error on
//     the cell; derive Needs, deletes in reverse dependency order, report
//     reference cycles, and block whatever depends on a blocked row
//     (graph.go);
//  5. ask the adapter which remote records each write touches (Locks) and
//     mask secrets.
//
// A saved plan keeps what it saw (Op.Before) so that CheckStale can refuse a
// plan the target has moved away from, and the input's SHA-256 so that
// FillSecrets can put back the secrets the plan file never holds.
package plan

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Version is the plan.json format version; Load refuses others.
const Version = 1

// Options describe the plan's context. Zero values are sensible defaults.
type Options struct {
	Reads
	Target      string // target name, for the plan and messages
	TargetURL   string
	Input       string // input path, for FillSecrets
	InputSHA256 string // see HashInput
	// Now stamps CreatedAt; tests set a fixed clock. Default time.Now.
	Now func() time.Time
	// Capabilities and Locker default to the connection's, when it
	// implements them; set them to the adapter when it is the adapter that
	// does.
	Capabilities adapters.Capabilities
	Locker       adapters.Locker
}

// Diagnostic codes the planner reports. Errors block their row; warnings
// do not.
const (
	CodeRefMissing   = "ref.missing"        // a reference is neither in the workbook nor on the target
	CodeRefDeleted   = "ref.deleted"        // a reference to a record this plan deletes
	CodeRefCycle     = "ref.cycle"          // records that reference each other in a cycle
	CodeExists       = "plan.exists"        // action create, record already on the target
	CodeAbsent       = "plan.absent"        // action update, record not on the target
	CodeUnsupported  = "plan.unsupported"   // the adapter cannot do this action on this kind
	CodeDuplicate    = "plan.duplicate"     // two rows for one record
	CodeNoKey        = "plan.key"           // a key field is blank
	CodeKind         = "plan.kind"          // a row of a kind the adapter does not import
	CodeAction       = "plan.action"        // an action the planner does not know
	CodeBlockedBy    = "plan.blocked_by"    // (warning) blocked because a row it needs is blocked
	CodeDeleteAbsent = "plan.delete_absent" // (warning) delete of a record the target does not have
	CodeReadOnly     = "plan.read_only"     // (warning) a read-only value differs from the target's: not changed
	CodeRefused      = "plan.refused"       // the target would refuse the write (adapters.Checker says why)
	CodeUnchecked    = "plan.unchecked"     // (warning) the adapter's check could not be made
)

// entry is one input row while it is being planned.
type entry struct {
	row     batch.Row
	kind    *schemas.Kind
	key     string
	index   int // position in the input
	op      *batch.Op
	live    schemas.Record // as read from the target; nil when absent
	present bool
	// blocked is set once, by the first root cause found; rootBlocked
	// marks ops blocked for their own reasons (not by a dependency).
	blocked     bool
	rootBlocked bool
}

type planner struct {
	kinds   *schemas.Set
	opts    Options
	rank    map[string]int // kind name -> position in dependency order
	entries []*entry       // in op order
	byKey   map[string]map[string]*entry
	state   liveState
	diags   diag.List
	caps    adapters.Capabilities
	locker  adapters.Locker
}

// Build plans rows (as the validator delivers them) against the target
// behind conn. The returned diagnostics say what blocks which row and are
// sorted like the workbook; the error is for what stops planning altogether
// (a read that failed for another reason than "not found", cancellation).
//
// The plan's records hold no secret in clear: Record, Before and Changes are
// masked, so the plan can be printed, saved and journaled as it is. Use
// FillSecrets with the same rows before sending it.
func Build(ctx context.Context, conn adapters.Conn, kinds *schemas.Set, rows []batch.Row, opts Options) (*batch.Plan, diag.List, error) {
	order, err := kinds.Order()
	if err != nil {
		return nil, nil, err
	}
	p := &planner{kinds: kinds, opts: opts, rank: map[string]int{}, byKey: map[string]map[string]*entry{}}
	for i, k := range order {
		p.rank[k.Name] = i
	}
	p.caps, p.locker = opts.Capabilities, opts.Locker
	feat := adapters.FeaturesOf(nil, conn)
	if p.caps == nil {
		p.caps = feat.Capabilities
	}
	if p.locker == nil {
		p.locker = feat.Locker
	}

	p.index(rows)
	state, err := readState(ctx, conn, opts.Reads, opts.Target, p.wanted())
	if err != nil {
		return nil, nil, err
	}
	p.state = state
	for _, e := range p.entries {
		e.live, e.present = state.lookup(e.kind.Name, e.key)
	}
	for _, e := range p.entries {
		if e.op.Action != batch.OpBlocked {
			p.decide(e)
		}
	}
	if err := p.check(ctx, feat.Checker); err != nil {
		return nil, nil, err
	}
	p.references()
	p.deleteOrder()
	p.cycles()
	p.propagate()
	p.lockOps()

	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	out := &batch.Plan{
		Version:     Version,
		Adapter:     kinds.Adapter,
		Target:      opts.Target,
		TargetURL:   opts.TargetURL,
		Input:       opts.Input,
		InputSHA256: opts.InputSHA256,
		CreatedAt:   now().UTC(),
		Ops:         make([]*batch.Op, len(p.entries)),
	}
	for i, e := range p.entries {
		p.finish(e)
		out.Ops[i] = e.op
	}
	p.diags.Sort()
	return out, p.diags, nil
}

// index gives every row its kind, key and op, in the plan's order: kinds in
// dependency order, then input order (a stable order that needs no
// knowledge of the target, so the same input always numbers ops the same).
func (p *planner) index(rows []batch.Row) {
	for i, r := range rows {
		k := p.kinds.Kind(r.Kind)
		if k == nil || k.ReadOnly {
			what := "is not a kind of " + p.kinds.Adapter
			if k != nil {
				what = "is a read-only catalogue: it is exported, never imported"
			}
			p.diags.Errorf(r.Origin, "", CodeKind, "%q %s; remove the sheet or rename it", r.Kind, what)
			continue
		}
		r.Set = normalized(r.Set)
		if r.Action == "" {
			r.Action = batch.Upsert
		}
		e := &entry{row: r, kind: k, key: k.KeyOf(r.Set), index: i}
		p.entries = append(p.entries, e)
	}
	slices.SortStableFunc(p.entries, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(p.rank[a.kind.Name], p.rank[b.kind.Name]), cmp.Compare(a.index, b.index))
	})
	dups := map[*entry][]*entry{}
	for i, e := range p.entries {
		e.op = &batch.Op{ID: i, Kind: e.kind.Name, Key: e.key, Origin: e.row.Origin, Source: e.row.Source}
		for _, f := range e.kind.Key {
			if e.row.Set.String(f) == "" {
				p.block(e, p.cell(e, f), f, CodeNoKey, "key field %s is blank: every row needs its %s", f, strings.Join(e.kind.Key, " and "))
				break
			}
		}
		if e.blocked {
			continue
		}
		m := p.byKey[e.kind.Name]
		if m == nil {
			m = map[string]*entry{}
			p.byKey[e.kind.Name] = m
		}
		if first, dup := m[e.key]; dup {
			dups[first] = append(dups[first], e)
			continue
		}
		m[e.key] = e
	}
	// Which of two rows for one record is meant cannot be guessed: all of
	// them are blocked, each naming the others.
	for first, rest := range dups {
		all := append([]*entry{first}, rest...)
		for _, e := range all {
			var others []string
			for _, o := range all {
				if o != e {
					others = append(others, o.row.Origin.String())
				}
			}
			p.block(e, e.row.Origin, "", CodeDuplicate, "%s %s is also in %s: keep one row per record", e.kind.Name, e.key, strings.Join(others, ", "))
		}
	}
}

// wanted returns the keys to read: every row's key and every reference a
// row sets (a referenced record that the workbook also holds is read
// anyway as that row's key).
func (p *planner) wanted() map[*schemas.Kind]map[string]schemas.Record {
	out := map[*schemas.Kind]map[string]schemas.Record{}
	add := func(k *schemas.Kind, key string, rec schemas.Record) {
		m := out[k]
		if m == nil {
			m = map[string]schemas.Record{}
			out[k] = m
		}
		if _, ok := m[key]; !ok {
			m[key] = rec
		}
	}
	for _, e := range p.entries {
		if e.blocked && e.key == "" {
			continue
		}
		if !e.blocked {
			add(e.kind, e.key, e.kind.KeyRecord(e.row.Set))
		}
		if e.row.Action == batch.DeleteRow {
			continue
		}
		for _, ref := range e.kind.Refs {
			t := p.kinds.Kind(ref.Kind)
			for _, key := range ref.Keys(e.row.Set) {
				add(t, t.KeyOf(key), key)
			}
		}
	}
	return out
}

// block marks e blocked for its own reason and reports it as an error on
// the cell (or row) at fault. A row already blocked keeps its first reason;
// the new one is still reported.
func (p *planner) block(e *entry, at diag.Origin, field, code, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.diags.Errorf(at, field, code, "%s", msg)
	if e.blocked {
		return
	}
	e.blocked, e.rootBlocked = true, true
	e.op.Action = batch.OpBlocked
	e.op.Reason = msg
}

// cell returns the origin of the cell holding field in e's row, or the row.
func (p *planner) cell(e *entry, field string) diag.Origin {
	if o, ok := e.row.Cells[field]; ok {
		return o
	}
	return e.row.Origin
}

// describe names an op's record for messages: `group "Sales" (Groups!4)`.
func (e *entry) describe() string {
	return fmt.Sprintf("%s %q (%s)", e.kind.Name, e.key, e.row.Origin)
}

// finish settles what the plan file holds for e: secrets masked, Needs
// sorted, nothing on a blocked op that a runner could mistake for work.
func (p *planner) finish(e *entry) {
	op := e.op
	slices.Sort(op.Needs)
	op.Needs = slices.Compact(op.Needs)
	if op.Action == batch.OpNoop {
		op.Needs = nil
	}
	if op.Action == batch.OpBlocked {
		op.Needs, op.Locks, op.Changes = nil, nil, nil
		if op.Record == nil {
			op.Record = e.row.Set.Clone()
		}
		if e.present && op.Before == nil {
			op.Before = e.live
		}
	}
	if op.Record != nil {
		op.Record = e.kind.Redact(op.Record)
	}
	if op.Before != nil {
		op.Before = e.kind.Redact(op.Before)
	}
}

// lockOps asks the adapter which remote records each write touches, so the
// runner can serialise writes that share one.
func (p *planner) lockOps() {
	if p.locker == nil {
		return
	}
	for _, e := range p.entries {
		a, ok := e.op.Action.Write()
		if !ok {
			continue
		}
		locks := p.locker.Locks(adapters.Change{Kind: e.kind.Name, Action: a, Record: e.op.Record, Before: e.op.Before})
		slices.Sort(locks)
		e.op.Locks = slices.Compact(locks)
	}
}

// normalized returns a canonical copy of r (numbers as canonical
// json.Number), so that comparisons and the plan file do not depend on how
// a reader typed a value.
func normalized(r schemas.Record) schemas.Record {
	if r == nil {
		return schemas.Record{}
	}
	return schemas.Record(schemas.Normalize(map[string]any(r)).(map[string]any))
}

// refValues returns the keys of the t records a reference field of r
// names, as t.KeyOf renders them ("1001 / HQ" for a compound key): one, or
// several for a list field; blanks skipped.
func refValues(t *schemas.Kind, r schemas.Record, ref schemas.Ref) []string {
	var out []string
	for _, key := range ref.Keys(r) {
		out = append(out, t.KeyOf(key))
	}
	return out
}
