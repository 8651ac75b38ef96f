package validate

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// cross is layer 2: what must be checked across rows and sheets. It runs on
// one goroutine, in row order, and keeps compact state per key: a 64-bit
// hash and where the key was first seen (16 bytes a key), so a
// million keys cost tens of MiB, not the rows. Two different keys sharing
// a 64-bit hash (odds about 1 in 10^7 at a million keys) would be reported
// as a duplicate; the message shows both cells, so a user can tell.
type cross struct {
	set     *schemas.Set
	seed    maphash.Seed
	tables  []*table
	keys    map[*schemas.Kind]map[uint64]uint64 // key hash -> packed pos of its first cell
	pending map[refID]*pendingRef               // references to keys not seen (yet)
	self    map[*schemas.Kind]map[uint64]*selfNode
	only    *schemas.Kind // --kind: references to other kinds are not judged
	// names keeps the first maxNames keys of each kind as text, to suggest
	// one for a reference to a key no sheet holds ("Goteborg").
	names map[*schemas.Kind][]string
	// examples are the template example rows seen; they are an error when
	// the workbook holds other rows too (judged at the end).
	examples []exampleRow
	// pendingOf counts the pending references per target kind, bounded by
	// MaxDiags; references past it are only counted in unlisted (first at
	// unlistedAt), so a file of distinct dangling names costs bounded memory.
	pendingOf  map[*schemas.Kind]int
	unlisted   map[*schemas.Kind]int
	unlistedAt map[*schemas.Kind]pos
	v          *Validator
}

type exampleRow struct {
	at   diag.Origin
	kind *schemas.Kind
	key  string
}

// maxNames bounds the keys kept per kind for suggestions.
const maxNames = 10000

// pos is a cell: table index, row, and cell index in the row.
type pos struct {
	table uint32
	row   uint32
	col   uint32
}

// pack squeezes a pos into 8 bytes for the per-key map, which holds one
// entry per record: 16 bits of table, 16 of column, 32 of row.
func (p pos) pack() uint64 {
	return uint64(p.table&0xFFFF)<<48 | uint64(min(p.col, 0xFFFF))<<32 | uint64(p.row)
}

func unpack(v uint64) pos {
	return pos{table: uint32(v >> 48), col: uint32(v>>32) & 0xFFFF, row: uint32(v)}
}

type refID struct {
	kind *schemas.Kind
	key  uint64
}

type pendingRef struct {
	first  pos
	field  string
	target *schemas.Kind
	text   string
	count  int
}

// selfNode is one record of a kind that references its own kind (a
// department's parent), for the own-ancestor check.
type selfNode struct {
	key       string
	field     string
	parent    uint64
	hasParent bool
	at        pos // the parent cell
}

func newCross(v *Validator) *cross {
	return &cross{
		set: v.set, seed: maphash.MakeSeed(), only: v.kind, v: v,
		names:     map[*schemas.Kind][]string{},
		pendingOf: map[*schemas.Kind]int{}, unlisted: map[*schemas.Kind]int{}, unlistedAt: map[*schemas.Kind]pos{},
		keys:    map[*schemas.Kind]map[uint64]uint64{},
		pending: map[refID]*pendingRef{},
		self:    map[*schemas.Kind]map[uint64]*selfNode{},
	}
}

func (x *cross) addTable(t *table) uint32 {
	x.tables = append(x.tables, t)
	return uint32(len(x.tables) - 1)
}

func (x *cross) origin(p pos) diag.Origin {
	return x.tables[p.table].cellOrigin(int(p.row), int(p.col))
}

func (x *cross) hash(s string) uint64 { return maphash.String(x.seed, s) }

// observe records one row's key and references, and reports a duplicate
// key on the row.
func (x *cross) observe(sp *spec, r *rowResult) {
	k := sp.kind
	row := uint32(r.row.Origin.Row)
	if r.keyOK && len(sp.keyCols) > 0 {
		key := k.KeyOf(r.row.Set)
		h := x.hash(key)
		keys := x.keys[k]
		if keys == nil {
			keys = map[uint64]uint64{}
			x.keys[k] = keys
		}
		first := sp.cols[sp.keyCols[0]]
		if p, dup := keys[h]; dup {
			o := first.origin
			o.Row, o.Part, o.Parts = int(row), r.row.Origin.Part, r.row.Origin.Parts
			r.diags.Add(diag.Diagnostic{Severity: diag.Error, Origin: o, Field: first.field.Path, Code: "key.duplicate",
				Message: fmt.Sprintf("%s %q is already at %s; each %s may appear once: remove one row or change its key", k.Name, key, x.origin(unpack(p)), k.Name),
				Value:   key})
			r.bad = true
		} else {
			keys[h] = pos{sp.tableIdx, row, uint32(first.idx)}.pack()
			if id := (refID{k, h}); x.pending[id] != nil {
				delete(x.pending, id)
				x.pendingOf[k]--
			}
			if len(x.names[k]) < maxNames {
				x.names[k] = append(x.names[k], key)
			}
		}
		if r.example && len(x.examples) < x.v.opts.MaxDiags {
			x.examples = append(x.examples, exampleRow{r.row.Origin, k, key})
		}
	}
	for _, ref := range k.Refs {
		ci, has := sp.byPath[ref.Field]
		if !has {
			continue
		}
		v, ok := r.row.Set.Get(ref.Field)
		if !ok {
			continue
		}
		target := x.set.Kind(ref.Kind)
		if target.ReadOnly || x.only != nil && target != x.only {
			continue // a catalogue of the platform: never in a workbook, plan checks it; --kind: other sheets are not read
		}
		at := pos{sp.tableIdx, row, uint32(sp.cols[ci].idx)}
		_, many := v.([]any)
		for _, key := range ref.Keys(r.row.Set) {
			text := target.KeyOf(key)
			h := x.hash(text)
			if target == k && r.keyOK && !many {
				x.selfRef(k, r, ref.Field, h, at)
			}
			if _, found := x.keys[target][h]; found {
				continue
			}
			id := refID{target, h}
			if p := x.pending[id]; p != nil {
				p.count++
				continue
			}
			if x.pendingOf[target] >= x.v.opts.MaxDiags {
				if x.unlisted[target] == 0 {
					x.unlistedAt[target] = at
				}
				x.unlisted[target]++
				continue
			}
			x.pendingOf[target]++
			x.pending[id] = &pendingRef{first: at, field: ref.Field, target: target, text: text, count: 1}
		}
	}
}

// maxSuggested bounds the references that get a suggestion, each a scan of
// up to maxNames keys.
const maxSuggested = 200

func (x *cross) selfRef(k *schemas.Kind, r *rowResult, field string, parent uint64, at pos) {
	nodes := x.self[k]
	if nodes == nil {
		nodes = map[uint64]*selfNode{}
		x.self[k] = nodes
	}
	key := k.KeyOf(r.row.Set)
	nodes[x.hash(key)] = &selfNode{key: key, field: field, parent: parent, hasParent: true, at: at}
}

// finish reports what only the end of the input can tell: references no
// sheet satisfied, records that are their own ancestors, and template
// example rows kept among rows rows of real data.
func (x *cross) finish(rows int, out *diag.List) {
	if rows > len(x.examples) {
		for _, e := range x.examples {
			out.Add(x.v.judged(diag.Diagnostic{Severity: diag.Error, Origin: e.at, Code: "template.example_row",
				Message: fmt.Sprintf("this row is the template's example %s (%s %q), left in a workbook of real rows: importing it would create that %s or overwrite a real one with the same key; delete the row (or pass --accept template.example_row if it is meant)", e.kind.Name, strings.Join(e.kind.Key, " / "), e.key, e.kind.Name),
				Value:   e.key}))
		}
	}
	refs := make([]*pendingRef, 0, len(x.pending))
	for id, p := range x.pending {
		if x.only != nil && id.kind != x.only {
			continue // the user validated one kind; other sheets were not read
		}
		refs = append(refs, p)
	}
	slices.SortFunc(refs, func(a, b *pendingRef) int { return cmp.Or(cmpPos(a.first, b.first), strings.Compare(a.text, b.text)) })
	for i, p := range refs {
		target := p.target
		more := ""
		if p.count > 1 {
			more = fmt.Sprintf(" (and %d more row(s) refer to it)", p.count-1)
		}
		msg := fmt.Sprintf("%s %q is in no sheet of this input%s; that is fine if the target already has it (plan checks), otherwise add it to the %s sheet or fix the name", target.Name, p.text, more, target.Plural)
		if i < maxSuggested {
			if j := nearest(p.text, x.names[target], 2); j >= 0 {
				msg = fmt.Sprintf("%s %q is in no sheet of this input%s; did you mean %q, which the %s sheet has? Fix the name, unless the target already has %q (plan checks)", target.Name, p.text, more, x.names[target][j], target.Plural, p.text)
			}
		}
		out.Add(diag.Diagnostic{Severity: diag.Warning, Origin: x.origin(p.first), Field: p.field, Code: "ref.not_in_workbook", Message: msg, Value: p.text})
	}
	for _, target := range slices.SortedFunc(maps.Keys(x.unlisted), func(a, b *schemas.Kind) int { return strings.Compare(a.Name, b.Name) }) {
		out.Add(diag.Diagnostic{Severity: diag.Warning, Origin: x.origin(x.unlistedAt[target]), Code: "ref.not_in_workbook",
			Message: fmt.Sprintf("%d more references, from here on, name %s that no sheet holds; only the first %d names are listed; plan checks them all against the target", x.unlisted[target], target.Plural, x.v.opts.MaxDiags)})
	}
	for k, nodes := range x.self {
		x.cycles(k, nodes, out)
	}
}

// cycles finds records whose parent chain comes back to themselves and
// reports each record of each cycle at its parent cell, naming the chain.
func (x *cross) cycles(k *schemas.Kind, nodes map[uint64]*selfNode, out *diag.List) {
	ids := make([]uint64, 0, len(nodes))
	for h := range nodes {
		ids = append(ids, h)
	}
	slices.SortFunc(ids, func(a, b uint64) int { return cmpPos(nodes[a].at, nodes[b].at) })
	state := map[uint64]int{} // 1 on the current walk, 2 done
	for _, start := range ids {
		var trail []uint64
		h := start
		for {
			n := nodes[h]
			if n == nil || state[h] == 2 {
				break
			}
			if state[h] == 1 {
				loop := trail[slices.Index(trail, h):]
				x.reportCycle(k, nodes, loop, out)
				break
			}
			state[h] = 1
			trail = append(trail, h)
			if !n.hasParent {
				break
			}
			h = n.parent
		}
		for _, t := range trail {
			state[t] = 2
		}
	}
}

func (x *cross) reportCycle(k *schemas.Kind, nodes map[uint64]*selfNode, loop []uint64, out *diag.List) {
	var chain []string
	for _, h := range loop {
		n := nodes[h]
		chain = append(chain, fmt.Sprintf("%s (row %d)", n.key, n.at.row))
	}
	chain = append(chain, nodes[loop[0]].key)
	path := strings.Join(chain, " → ")
	for _, h := range loop {
		n := nodes[h]
		out.Add(diag.Diagnostic{Severity: diag.Error, Origin: x.origin(n.at), Field: n.field, Code: "ref.cycle",
			Message: fmt.Sprintf("%s %q is its own ancestor: %s; point one of these rows at a different parent (or leave it blank for a top-level %s)", k.Name, n.key, path, k.Name),
			Value:   nodes[n.parent].key})
	}
}

func cmpPos(a, b pos) int {
	return cmp.Or(cmp.Compare(a.table, b.table), cmp.Compare(a.row, b.row), cmp.Compare(a.col, b.col))
}
