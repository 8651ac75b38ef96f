package plan

import (
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// references resolves every reference a row sets: to a row of the workbook
// (which the op then Needs when it creates or updates that record) or to a
// record already on the target; anything else blocks the row with an error
// on the cell. It also refuses a row that keeps (from the target) a
// reference to a record the plan deletes.
func (p *planner) references() {
	for _, e := range p.entries {
		if e.row.Action == batch.DeleteRow {
			continue
		}
		for _, ref := range e.kind.Refs {
			t := p.kinds.Kind(ref.Kind)
			for _, name := range refValues(t, e.row.Set, ref) {
				p.resolve(e, ref, t, name)
			}
			if !e.present || touches(e.row, ref.Field) {
				continue
			}
			for _, name := range refValues(t, e.live, ref) {
				if d := p.byKey[t.Name][name]; d != nil && d != e && d.op.Action == batch.OpDelete {
					p.block(d, d.row.Origin, "", CodeRefDeleted, "%s %q cannot be deleted: %s keeps it in %s (the cell is blank, so the target's value stays); change or %s that cell, or keep the %s",
						t.Name, name, e.describe(), ref.Field, batch.ClearToken, t.Name)
				}
			}
		}
	}
}

// resolve checks one reference of e to the t record name.
func (p *planner) resolve(e *entry, ref schemas.Ref, t *schemas.Kind, name string) {
	at := p.cell(e, ref.Field)
	w := p.byKey[t.Name][name]
	switch {
	case w == e:
		p.block(e, at, ref.Field, CodeRefCycle, "%s %q refers to itself in %s", e.kind.Name, e.key, ref.Field)
	case w != nil && w.row.Action == batch.DeleteRow:
		p.block(e, at, ref.Field, CodeRefDeleted, "%s %q (%s) is deleted by %s in this plan: keep it, or change this cell", t.Name, name, at, w.row.Origin)
	case w != nil:
		switch {
		case w.op.Action == batch.OpCreate || w.op.Action == batch.OpUpdate:
			e.op.Needs = append(e.op.Needs, w.op.ID)
		case w.op.Action == batch.OpBlocked && !w.present:
			// It will not exist: depending on it blocks this row too,
			// reported once as "blocked by" rather than as a missing
			// reference.
			e.op.Needs = append(e.op.Needs, w.op.ID)
		}
	default:
		if _, ok := p.state.lookup(t.Name, name); !ok {
			p.block(e, at, ref.Field, CodeRefMissing, "%s %q (%s) is neither in the workbook nor on %s: add a %s row for it, or fix the cell", t.Name, name, at, p.where(), t.Name)
		}
	}
}

// touches reports whether the row sets or clears field.
func touches(row batch.Row, field string) bool {
	if _, ok := row.Set.Get(field); ok {
		return true
	}
	return slices.Contains(row.Clear, field)
}

// deleteOrder makes every delete wait for the ops that stop referencing the
// deleted record: the deletes of the records that reference it, and the
// updates that point them elsewhere. Deletes thus run in reverse dependency
// order. A blocked op keeps its references, so the delete waits for it too
// and is blocked in turn.
func (p *planner) deleteOrder() {
	for _, e := range p.entries {
		if !e.present {
			continue
		}
		switch e.op.Action {
		case batch.OpUpdate, batch.OpDelete, batch.OpBlocked:
		default:
			continue
		}
		for _, ref := range e.kind.Refs {
			t := p.kinds.Kind(ref.Kind)
			for _, name := range refValues(t, e.live, ref) {
				if d := p.byKey[t.Name][name]; d != nil && d != e && d.op.Action == batch.OpDelete {
					d.op.Needs = append(d.op.Needs, e.op.ID)
				}
			}
		}
	}
}

// cycles finds ops that need each other (departments A → B → A) and blocks
// every op of each cycle, naming the cycle.
func (p *planner) cycles() {
	for _, scc := range p.components() {
		if len(scc) < 2 {
			continue
		}
		path := p.cyclePath(scc)
		for _, id := range scc {
			e := p.entries[id]
			p.block(e, e.row.Origin, "", CodeRefCycle, "reference cycle: %s; break it by leaving one reference blank, then set it in a second run", path)
		}
	}
}

// components returns the strongly connected components of the Needs graph
// (Tarjan), each sorted by op ID.
func (p *planner) components() [][]int {
	n := len(p.entries)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	next := 0
	var connect func(v int)
	connect = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range p.entries[v].op.Needs {
			if index[w] < 0 {
				connect(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var scc []int
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			scc = append(scc, w)
			if w == v {
				break
			}
		}
		slices.Sort(scc)
		out = append(out, scc)
	}
	for v := range n {
		if index[v] < 0 {
			connect(v)
		}
	}
	return out
}

// cyclePath renders one cycle through the lowest op of a component:
// `group "A" (Groups!2) → group "B" (Groups!3) → group "A" (Groups!2)`.
func (p *planner) cyclePath(scc []int) string {
	in := map[int]bool{}
	for _, id := range scc {
		in[id] = true
	}
	start := scc[0]
	prev := map[int]int{start: -1}
	queue := []int{start}
	last := -1
	for len(queue) > 0 && last < 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range p.entries[v].op.Needs {
			if w == start {
				last = v
				break
			}
			if _, seen := prev[w]; !seen && in[w] {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	var ids []int
	for v := last; v >= 0; v = prev[v] {
		ids = append(ids, v)
	}
	slices.Reverse(ids)
	parts := make([]string, 0, len(ids)+1)
	for _, id := range ids {
		parts = append(parts, p.entries[id].describe())
	}
	parts = append(parts, p.entries[start].describe())
	return strings.Join(parts, " → ")
}

// propagate blocks every op that needs a blocked op, naming the blocked row
// at the root (reported as a warning: the root has the error).
func (p *planner) propagate() {
	root := make([]*entry, len(p.entries))
	done := make([]bool, len(p.entries))
	var visit func(e *entry) *entry
	visit = func(e *entry) *entry {
		id := e.op.ID
		if e.rootBlocked {
			return e
		}
		if done[id] {
			return root[id]
		}
		done[id] = true // cycles are rootBlocked by now; this guards anyway
		for _, n := range e.op.Needs {
			if r := visit(p.entries[n]); r != nil {
				root[id] = r
				e.blocked = true
				e.op.Action = batch.OpBlocked
				e.op.Reason = "blocked by " + r.describe()
				p.diags.Warnf(e.row.Origin, "", CodeBlockedBy, "%s %q is blocked by %s", e.kind.Name, e.key, r.describe())
				return r
			}
		}
		return nil
	}
	for _, e := range p.entries {
		visit(e)
	}
}
