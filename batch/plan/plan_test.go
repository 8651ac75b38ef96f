package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var clock = func() time.Time { return time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC) }

// fixture is a stub target and the rows of one scenario.
type fixture struct {
	t    *testing.T
	a    *stub.Adapter
	conn adapters.Conn
	rows []batch.Row
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	a := stub.New()
	conn, err := a.Open(context.Background(), adapters.Target{Name: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, a: a, conn: conn}
}

// put stores a record on the target.
func (f *fixture) put(kind string, r schemas.Record) { f.a.Put(kind, r) }

// row adds an input row: sheet named after the kind's plural, cells in the
// schema's column order (A = first field).
func (f *fixture) row(kind string, n int, action batch.RowAction, set schemas.Record, clear ...string) {
	k := f.a.Kinds().Kind(kind)
	sheet := strings.ToUpper(k.Plural[:1]) + k.Plural[1:]
	o := diag.Origin{File: "in.xlsx", Sheet: sheet, Row: n}
	cells := map[string]diag.Origin{}
	for i, fl := range k.Fields {
		cells[fl.Path] = o.Cell(string(rune('A' + i)))
	}
	if set == nil {
		set = schemas.Record{}
	}
	f.rows = append(f.rows, batch.Row{Kind: k.Name, Origin: o, Action: action, Set: set, Clear: clear, Cells: cells})
}

func (f *fixture) build(opts Options) (*batch.Plan, diag.List) {
	f.t.Helper()
	if opts.Target == "" {
		opts.Target = "lab"
	}
	if opts.Now == nil {
		opts.Now = clock
	}
	p, diags, err := Build(context.Background(), f.conn, f.a.Kinds(), f.rows, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return p, diags
}

func opOf(t *testing.T, p *batch.Plan, kind, key string) *batch.Op {
	t.Helper()
	for _, op := range p.Ops {
		if op.Kind == kind && op.Key == key {
			return op
		}
	}
	t.Fatalf("no op for %s %s", kind, key)
	return nil
}

func diagWith(l diag.List, code string) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, d := range l {
		if d.Code == code {
			out = append(out, d)
		}
	}
	return out
}

type rec = schemas.Record

func TestActions(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ", "description": "head office"})
	f.put("group", rec{"groupName": "Sales", "site": "HQ", "description": "old"})
	f.put("phone", rec{"number": "1001", "site": "HQ", "model": "desk", "lines": 2})

	f.row("site", 2, batch.Upsert, rec{"siteName": "HQ", "description": "head office"}) // same → noop
	f.row("site", 3, batch.CreateRow, rec{"siteName": "Branch"})                        // absent → create
	f.row("site", 4, batch.CreateRow, rec{"siteName": "HQ2"})
	f.row("group", 2, batch.Upsert, rec{"groupName": "Sales", "description": "new"})   // present → update
	f.row("group", 3, batch.UpdateRow, rec{"groupName": "Ghost", "site": "HQ"})        // update of absent → blocked
	f.row("group", 4, batch.CreateRow, rec{"groupName": "Sales2", "site": "Branch"})   // create, needs Branch
	f.row("phone", 2, batch.DeleteRow, rec{"number": "1001", "site": "HQ"})            // delete
	f.row("phone", 3, batch.DeleteRow, rec{"number": "1002", "site": "HQ"})            // delete of absent → noop + note
	f.row("phone", 4, batch.Upsert, rec{"number": "1003", "site": "HQ", "lines": "2"}) // create
	f.row("phone", 5, batch.UpdateRow, rec{"number": "1001", "site": "HQ2"})           // update of absent

	p, diags := f.build(Options{})
	want := map[string]batch.OpAction{
		"site HQ": batch.OpNoop, "site Branch": batch.OpCreate, "site HQ2": batch.OpCreate,
		"group Sales": batch.OpUpdate, "group Ghost": batch.OpBlocked, "group Sales2": batch.OpCreate,
		"phone 1001 / HQ": batch.OpDelete, "phone 1002 / HQ": batch.OpNoop, "phone 1003 / HQ": batch.OpCreate,
		"phone 1001 / HQ2": batch.OpBlocked,
	}
	for _, op := range p.Ops {
		if w := want[op.Kind+" "+op.Key]; op.Action != w {
			t.Errorf("%s %s: %s, want %s (%s)", op.Kind, op.Key, op.Action, w, op.Reason)
		}
	}
	upd := opOf(t, p, "group", "Sales")
	if len(upd.Changes) != 1 || upd.Changes[0] != (batch.FieldChange{Field: "description", Before: "old", After: "new"}) {
		t.Errorf("update changes = %+v", upd.Changes)
	}
	if upd.Record.String("site") != "HQ" || upd.Before.String("description") != "old" {
		t.Errorf("update record = %v, before = %v", upd.Record, upd.Before)
	}
	if ghost := opOf(t, p, "group", "Ghost"); !strings.Contains(ghost.Reason, `group "Ghost" is not on target lab and the row's action is update`) {
		t.Errorf("ghost reason = %q", ghost.Reason)
	}
	if g := diagWith(diags, CodeAbsent); len(g) != 2 || g[0].Severity != diag.Error || g[0].Origin.Sheet != "Groups" || g[0].Row != 3 {
		t.Errorf("absent diags = %+v", g)
	}
	if n := opOf(t, p, "phone", "1002 / HQ"); n.Reason != "not on target lab; nothing to delete" {
		t.Errorf("noop delete reason = %q", n.Reason)
	}
	if w := diagWith(diags, CodeDeleteAbsent); len(w) != 1 || w[0].Severity != diag.Warning {
		t.Errorf("delete_absent = %+v", w)
	}
	// The number "2" given as text equals 2: only a create, no spurious diff.
	if c := opOf(t, p, "phone", "1003 / HQ"); c.Record.String("lines") != "2" {
		t.Errorf("create record = %v", c.Record)
	}
	del := opOf(t, p, "phone", "1001 / HQ")
	if del.Before.String("model") != "desk" || del.Record.String("number") != "1001" {
		t.Errorf("delete = %+v", del)
	}
	sales2 := opOf(t, p, "group", "Sales2")
	if branch := opOf(t, p, "site", "Branch"); !slices.Equal(sales2.Needs, []int{branch.ID}) {
		t.Errorf("Sales2 needs %v, want [%d]", sales2.Needs, branch.ID)
	}
	// Ops are in kind dependency order, then input order.
	var order []string
	for i, op := range p.Ops {
		if op.ID != i {
			t.Fatalf("op %d has id %d", i, op.ID)
		}
		order = append(order, op.Kind)
	}
	if got := strings.Join(slices.Compact(order), ","); got != "site,group,phone" {
		t.Errorf("kind order = %s", got)
	}
}

func TestCreateOfPresentIsBlocked(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ"})
	f.row("site", 2, batch.CreateRow, rec{"siteName": "HQ", "description": "x"})
	p, diags := f.build(Options{})
	op := opOf(t, p, "site", "HQ")
	if op.Action != batch.OpBlocked || !strings.Contains(op.Reason, "already exists on target lab") || op.Before == nil {
		t.Fatalf("op = %+v", op)
	}
	if d := diagWith(diags, CodeExists); len(d) != 1 || d[0].Field != "action" {
		t.Fatalf("diags = %v", diags)
	}
}

// A blank cell keeps the target's value; <clear> clears it; only the
// fields the row touches are compared.
func TestBlankAndClear(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ"})
	f.put("group", rec{"groupName": "G", "site": "HQ"})
	f.put("person", rec{"userId": "jdoe", "name": map[string]any{"first": "John", "last": "Doe"}, "email": "j@x", "groups": []any{"G"}})
	f.put("person", rec{"userId": "ann", "name": map[string]any{"first": "Ann"}})

	f.row("person", 2, batch.Upsert, rec{"userId": "jdoe", "name": map[string]any{"last": "Dover"}}, "email")
	f.row("person", 3, batch.Upsert, rec{"userId": "ann"}, "email") // clearing what is not there: nothing to do
	p, _ := f.build(Options{})

	op := opOf(t, p, "person", "jdoe")
	if op.Action != batch.OpUpdate {
		t.Fatalf("jdoe: %s", op.Action)
	}
	want := []batch.FieldChange{{Field: "name.last", Before: "Doe", After: "Dover"}, {Field: "email", Before: "j@x"}}
	if !reflectEqual(op.Changes, want) {
		t.Errorf("changes = %+v, want %+v", op.Changes, want)
	}
	if op.Record.String("name.first") != "John" || op.Record.String("name.last") != "Dover" || op.Record.String("groups") != "G" {
		t.Errorf("blank cells must keep the target's values: %v", op.Record)
	}
	if _, has := op.Record.Get("email"); has {
		t.Errorf("email not cleared: %v", op.Record)
	}
	if ann := opOf(t, p, "person", "ann"); ann.Action != batch.OpNoop {
		t.Errorf("ann: %s %+v", ann.Action, ann.Changes)
	}
}

func reflectEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// A list of references compares as a set: reordering a person's groups is
// no change.
func TestReferenceListOrder(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ"})
	f.put("group", rec{"groupName": "A", "site": "HQ"})
	f.put("group", rec{"groupName": "B", "site": "HQ"})
	f.put("person", rec{"userId": "u", "groups": []any{"A", "B"}})
	f.row("person", 2, batch.Upsert, rec{"userId": "u", "groups": []any{"B", "A"}})
	p, _ := f.build(Options{})
	if op := opOf(t, p, "person", "u"); op.Action != batch.OpNoop {
		t.Fatalf("reordered groups: %s %+v", op.Action, op.Changes)
	}
}

func TestReferences(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ"})
	f.put("group", rec{"groupName": "Old", "site": "HQ"})
	f.put("person", rec{"userId": "keeper", "groups": []any{"Old"}})

	f.row("site", 2, batch.Upsert, rec{"siteName": "New"})
	f.row("group", 2, batch.Upsert, rec{"groupName": "OnTarget", "site": "HQ"})   // site on target: no Needs
	f.row("group", 3, batch.Upsert, rec{"groupName": "InBook", "site": "New"})    // site in workbook: Needs it
	f.row("group", 4, batch.Upsert, rec{"groupName": "Lost", "site": "Nowhere"})  // missing on both
	f.row("group", 5, batch.DeleteRow, rec{"groupName": "Old"})                   // deleted, but keeper keeps it
	f.row("person", 2, batch.Upsert, rec{"userId": "keeper", "email": "k@x"})     // keeps groups [Old]
	f.row("person", 3, batch.Upsert, rec{"userId": "p1", "groups": []any{"Old"}}) // references a deleted group
	f.row("person", 4, batch.Upsert, rec{"userId": "p2", "groups": []any{"Lost", "InBook"}})
	p, diags := f.build(Options{})

	newSite, inBook := opOf(t, p, "site", "New"), opOf(t, p, "group", "InBook")
	if onTarget := opOf(t, p, "group", "OnTarget"); onTarget.Action != batch.OpCreate || len(onTarget.Needs) != 0 {
		t.Errorf("OnTarget = %+v", onTarget)
	}
	if inBook.Action != batch.OpCreate || !slices.Equal(inBook.Needs, []int{newSite.ID}) {
		t.Errorf("InBook = %+v", inBook)
	}

	lost := opOf(t, p, "group", "Lost")
	missing := diagWith(diags, CodeRefMissing)
	if lost.Action != batch.OpBlocked || len(missing) != 1 {
		t.Fatalf("Lost = %+v, diags %v", lost, diags)
	}
	if m := missing[0]; m.Origin.String() != "Groups!B4" || m.Field != "site" || m.Severity != diag.Error ||
		!strings.HasPrefix(m.Message, `site "Nowhere" (Groups!B4) is neither in the workbook nor on target lab`) {
		t.Errorf("missing = %+v", m)
	}

	// p1 sets a reference to a group this plan deletes.
	if p1 := opOf(t, p, "person", "p1"); p1.Action != batch.OpBlocked || !strings.Contains(p1.Reason, `group "Old" (People!E3) is deleted by Groups!5`) {
		t.Errorf("p1 = %+v", p1)
	}
	// keeper's blank groups cell keeps Old: the delete cannot happen.
	if old := opOf(t, p, "group", "Old"); old.Action != batch.OpBlocked || !strings.Contains(old.Reason, `keeper`) {
		t.Errorf("Old = %+v", old)
	}
	if d := diagWith(diags, CodeRefDeleted); len(d) != 2 {
		t.Errorf("ref.deleted diags = %v", d)
	}
	// p2 needs InBook (created here) and Lost (blocked, absent): blocked by
	// it, reported as a warning, not as a second missing reference.
	p2 := opOf(t, p, "person", "p2")
	if p2.Action != batch.OpBlocked || !strings.HasPrefix(p2.Reason, `blocked by group "Lost" (Groups!4)`) || p2.Needs != nil {
		t.Errorf("p2 = %+v", p2)
	}
	if b := diagWith(diags, CodeBlockedBy); len(b) != 1 || b[0].Severity != diag.Warning || b[0].Row != 4 {
		t.Errorf("blocked_by = %v", b)
	}
}

// Deletes run in reverse dependency order: a record is deleted only after
// everything that references it is deleted or relinked.
func TestDeleteOrder(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "S"})
	f.put("site", rec{"siteName": "T"})
	f.put("group", rec{"groupName": "G", "site": "S"})
	f.put("group", rec{"groupName": "Child", "site": "S", "parent": "G"})
	f.put("person", rec{"userId": "u", "groups": []any{"G"}})
	f.put("person", rec{"userId": "mover", "groups": []any{"G"}})
	f.put("phone", rec{"number": "1001", "site": "S", "owner": "u"})

	f.row("site", 2, batch.DeleteRow, rec{"siteName": "S"})
	f.row("group", 2, batch.DeleteRow, rec{"groupName": "G"})
	f.row("group", 3, batch.DeleteRow, rec{"groupName": "Child"})
	f.row("group", 4, batch.Upsert, rec{"groupName": "H", "site": "T"})
	f.row("person", 2, batch.DeleteRow, rec{"userId": "u"})
	f.row("person", 3, batch.Upsert, rec{"userId": "mover", "groups": []any{"H"}}) // relinks away from G
	f.row("phone", 2, batch.DeleteRow, rec{"number": "1001", "site": "S"})
	p, diags := f.build(Options{})
	if diags.HasErrors() {
		t.Fatalf("diags: %v", diags)
	}
	id := func(kind, key string) int { return opOf(t, p, kind, key).ID }
	needs := func(kind, key string) []int { return opOf(t, p, kind, key).Needs }
	sorted := func(ids ...int) []int { slices.Sort(ids); return ids }

	if got, want := needs("site", "S"), sorted(id("group", "G"), id("group", "Child"), id("phone", "1001 / S")); !slices.Equal(got, want) {
		t.Errorf("site S needs %v, want %v", got, want)
	}
	if got, want := needs("group", "G"), sorted(id("group", "Child"), id("person", "u"), id("person", "mover")); !slices.Equal(got, want) {
		t.Errorf("group G needs %v, want %v", got, want)
	}
	if got, want := needs("person", "u"), []int{id("phone", "1001 / S")}; !slices.Equal(got, want) {
		t.Errorf("person u needs %v, want %v", got, want)
	}
	if got, want := needs("person", "mover"), []int{id("group", "H")}; !slices.Equal(got, want) {
		t.Errorf("mover needs %v, want %v", got, want)
	}
	if len(needs("phone", "1001 / S")) != 0 || len(needs("group", "Child")) != 0 {
		t.Errorf("phone needs %v, Child needs %v", needs("phone", "1001 / S"), needs("group", "Child"))
	}
}

func TestCycles(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ"})
	f.row("group", 2, batch.Upsert, rec{"groupName": "A", "site": "HQ", "parent": "B"})
	f.row("group", 3, batch.Upsert, rec{"groupName": "B", "site": "HQ", "parent": "C"})
	f.row("group", 4, batch.Upsert, rec{"groupName": "C", "site": "HQ", "parent": "A"})
	f.row("group", 5, batch.Upsert, rec{"groupName": "Self", "site": "HQ", "parent": "Self"})
	f.row("group", 6, batch.Upsert, rec{"groupName": "Leaf", "site": "HQ", "parent": "A"})
	f.row("group", 7, batch.Upsert, rec{"groupName": "Fine", "site": "HQ"})
	p, diags := f.build(Options{})

	path := `group "A" (Groups!2) → group "B" (Groups!3) → group "C" (Groups!4) → group "A" (Groups!2)`
	for _, k := range []string{"A", "B", "C"} {
		op := opOf(t, p, "group", k)
		if op.Action != batch.OpBlocked || !strings.Contains(op.Reason, "reference cycle: "+path) || op.Needs != nil {
			t.Errorf("%s = %+v", k, op)
		}
	}
	if self := opOf(t, p, "group", "Self"); self.Action != batch.OpBlocked || !strings.Contains(self.Reason, `refers to itself in parent`) {
		t.Errorf("Self = %+v", self)
	}
	if leaf := opOf(t, p, "group", "Leaf"); leaf.Action != batch.OpBlocked || !strings.HasPrefix(leaf.Reason, `blocked by group "A"`) {
		t.Errorf("Leaf = %+v", leaf)
	}
	if fine := opOf(t, p, "group", "Fine"); fine.Action != batch.OpCreate {
		t.Errorf("Fine = %+v", fine)
	}
	cyc := diagWith(diags, CodeRefCycle)
	if len(cyc) != 4 {
		t.Fatalf("cycle diags = %v", cyc)
	}
	for _, d := range cyc {
		if d.Severity != diag.Error {
			t.Errorf("not an error: %v", d)
		}
	}
	// Deleting records that reference each other is a cycle too.
	g := newFixture(t)
	g.put("site", rec{"siteName": "HQ"})
	g.put("group", rec{"groupName": "A", "site": "HQ", "parent": "B"})
	g.put("group", rec{"groupName": "B", "site": "HQ", "parent": "A"})
	g.row("group", 2, batch.DeleteRow, rec{"groupName": "A"})
	g.row("group", 3, batch.DeleteRow, rec{"groupName": "B"})
	p, _ = g.build(Options{})
	for _, op := range p.Ops {
		if op.Action != batch.OpBlocked || !strings.Contains(op.Reason, "reference cycle") {
			t.Errorf("delete cycle: %+v", op)
		}
	}
}

type refuse map[string]string // "kind/action" → reason

func (r refuse) Supports(kind string, a adapters.Action) string { return r[kind+"/"+string(a)] }

func TestCapabilities(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ"})
	f.row("site", 2, batch.DeleteRow, rec{"siteName": "HQ"})
	f.row("site", 3, batch.Upsert, rec{"siteName": "New"})
	f.row("group", 2, batch.Upsert, rec{"groupName": "G", "site": "New"})
	p, diags := f.build(Options{Capabilities: refuse{"site/delete": "sites are removed by the vendor only", "site/create": "read-only API"}})
	if op := opOf(t, p, "site", "HQ"); op.Action != batch.OpBlocked || op.Reason != "target lab cannot delete site records: sites are removed by the vendor only" {
		t.Errorf("HQ = %+v", op)
	}
	if op := opOf(t, p, "group", "G"); op.Action != batch.OpBlocked || !strings.Contains(op.Reason, `blocked by site "New"`) {
		t.Errorf("G = %+v", op)
	}
	if d := diagWith(diags, CodeUnsupported); len(d) != 2 {
		t.Errorf("diags = %v", diags)
	}
}

func TestDuplicatesAndBlankKeys(t *testing.T) {
	f := newFixture(t)
	f.row("site", 2, batch.Upsert, rec{"siteName": "HQ"})
	f.row("site", 3, batch.Upsert, rec{"siteName": "HQ", "description": "again"})
	f.row("site", 4, batch.Upsert, rec{"description": "no name"})
	p, diags := f.build(Options{})
	for _, op := range p.Ops {
		if op.Action != batch.OpBlocked {
			t.Errorf("%+v not blocked", op)
		}
	}
	if !strings.Contains(p.Ops[0].Reason, "also in Sites!3") || !strings.Contains(p.Ops[1].Reason, "also in Sites!2") {
		t.Errorf("reasons: %q / %q", p.Ops[0].Reason, p.Ops[1].Reason)
	}
	if d := diagWith(diags, CodeNoKey); len(d) != 1 || d[0].Origin.String() != "Sites!A4" {
		t.Errorf("no key diag = %v", d)
	}
}

func TestLocks(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ"})
	f.put("person", rec{"userId": "u"})
	f.row("phone", 2, batch.Upsert, rec{"number": "1001", "site": "HQ", "owner": "u"})
	p, _ := f.build(Options{Locker: f.a})
	if got := p.Ops[0].Locks; !slices.Equal(got, []string{"person/u", "phone/1001 / HQ"}) {
		t.Fatalf("locks = %v", got)
	}
}

func TestReadsListOrGet(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		f.put("site", stub.Fixture("site", i))
		f.row("site", i+2, batch.Upsert, stub.Fixture("site", i))
	}
	f.row("site", 9, batch.Upsert, rec{"siteName": "absent"})
	f.a.SetPageSize(2)
	f.build(Options{})
	if s := f.a.Stats(); s.Calls["site/get"] != 6 || s.Calls["site/list"] != 0 {
		t.Errorf("default: calls %v", s.Calls)
	}
	f.a.ResetStats()
	p, _ := f.build(Options{Reads: Reads{ListThreshold: 3}})
	if s := f.a.Stats(); s.Calls["site/get"] != 0 || s.Calls["site/list"] != 3 {
		t.Errorf("listed: calls %v", s.Calls)
	}
	if op := opOf(t, p, "site", "absent"); op.Action != batch.OpCreate {
		t.Errorf("absent after list: %s", op.Action)
	}
	if op := opOf(t, p, "site", "site-3"); op.Action != batch.OpNoop {
		t.Errorf("site-3 after list: %s %+v", op.Action, op.Changes)
	}
}

func TestReadErrorsStopThePlan(t *testing.T) {
	f := newFixture(t)
	f.row("site", 2, batch.Upsert, rec{"siteName": "HQ"})
	f.a.AddFault(stub.Fault{Op: "get", Kind: "site", Class: adapters.Auth, Message: "token revoked"})
	_, _, err := Build(context.Background(), f.conn, f.a.Kinds(), f.rows, Options{Target: "lab"})
	if err == nil || !strings.Contains(err.Error(), `reading site "HQ" from target lab: auth`) || !strings.Contains(err.Error(), "token revoked") {
		t.Fatalf("err = %v", err)
	}
	if adapters.ClassOf(err) != adapters.Auth {
		t.Errorf("class lost: %v", adapters.ClassOf(err))
	}
}

// scenario builds the mixed plan used by the determinism, golden and
// secrets tests.
func scenario(t *testing.T) *fixture {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ", "description": "head office"})
	f.put("group", rec{"groupName": "Sales", "site": "HQ", "description": "old"})
	f.put("person", rec{"userId": "jdoe", "name": map[string]any{"first": "John", "last": "Doe"}, "email": "a@x", "groups": []any{"Sales"}})
	f.put("phone", rec{"number": "1001", "site": "HQ", "owner": "jdoe", "model": "desk", "lines": 2})
	f.put("phone", rec{"number": "1009", "site": "HQ"})

	f.row("site", 2, batch.Upsert, rec{"siteName": "HQ", "description": "head office"})
	f.row("site", 3, batch.Upsert, rec{"siteName": "Branch", "description": "new branch"})
	f.row("group", 2, batch.Upsert, rec{"groupName": "Support", "site": "Branch", "parent": "Sales"})
	f.row("group", 3, batch.Upsert, rec{"groupName": "Sales", "description": "new"})
	f.row("group", 4, batch.Upsert, rec{"groupName": "Ops", "site": "Mars"})
	f.row("person", 2, batch.Upsert, rec{"userId": "jdoe", "email": "b@x", "pin": "4711"})
	f.row("person", 3, batch.CreateRow, rec{"userId": "asmith", "name": map[string]any{"first": "Ann", "last": "Smith"}, "groups": []any{"Support"}, "pin": "8642"})
	f.row("person", 4, batch.Upsert, rec{"userId": "ops1", "groups": []any{"Ops"}})
	f.row("phone", 2, batch.Upsert, rec{"number": "1002", "site": "Branch", "owner": "asmith", "model": "soft"})
	f.row("phone", 3, batch.DeleteRow, rec{"number": "1009", "site": "HQ"})
	f.row("phone", 4, batch.DeleteRow, rec{"number": "1010", "site": "HQ"})
	f.row("phone", 5, batch.UpdateRow, rec{"number": "1001", "site": "HQ", "lines": 4, "label": "John"})
	return f
}

func TestDeterministic(t *testing.T) {
	f := scenario(t)
	p1, d1 := f.build(Options{Reads: Reads{Concurrency: 1, ListThreshold: -1}, Locker: f.a})
	p2, d2 := f.build(Options{Reads: Reads{Concurrency: 16, ListThreshold: 1}, Locker: f.a})
	b1, err := Marshal(p1)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := Marshal(p2)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("two plans of the same input differ:\n%s\n---\n%s", b1, b2)
	}
	if !reflectEqual(d1, d2) {
		t.Fatalf("diagnostics differ")
	}
	golden(t, "scenario.plan.json", b1)
}

func TestTextGolden(t *testing.T) {
	f := scenario(t)
	f.rows[0].Origin.File = "rollout.xlsx"
	p, _ := f.build(Options{Input: "rollout.xlsx", TargetURL: "https://127.0.0.1:8443"})
	var b bytes.Buffer
	if err := WriteText(&b, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "scenario.txt", b.Bytes())
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("colour without Color")
	}
	b.Reset()
	WriteText(&b, p, TextOptions{Color: true, Fields: true})
	if !strings.Contains(b.String(), "\x1b[32m+\x1b[0m site Branch\n    description: \"new branch\"\n    siteName: \"Branch\"") {
		t.Errorf("coloured output:\n%s", b.String())
	}

	// No changes at all.
	g := newFixture(t)
	g.put("site", rec{"siteName": "HQ"})
	g.row("site", 2, batch.Upsert, rec{"siteName": "HQ"})
	p, _ = g.build(Options{})
	b.Reset()
	WriteText(&b, p, TextOptions{})
	golden(t, "nochange.txt", b.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestSecrets(t *testing.T) {
	f := scenario(t)
	dir := t.TempDir()
	input := filepath.Join(dir, "in.xlsx")
	os.WriteFile(input, []byte("the workbook bytes"), 0o600)
	sum, err := HashInput(input)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.build(Options{Input: input, InputSHA256: sum})
	b, _ := Marshal(p)
	for _, secret := range []string{"4711", "8642"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("plan.json holds secret %s:\n%s", secret, b)
		}
	}
	// A secret the platform never returns is a change on update too, shown
	// masked.
	jdoe := opOf(t, p, "person", "jdoe")
	want := []batch.FieldChange{{Field: "email", Before: "a@x", After: "b@x"}, {Field: "pin", After: schemas.Mask}}
	if !reflectEqual(jdoe.Changes, want) {
		t.Errorf("jdoe changes = %+v", jdoe.Changes)
	}
	var text bytes.Buffer
	WriteText(&text, p, TextOptions{Fields: true})
	if strings.Contains(text.String(), "4711") || strings.Contains(text.String(), "8642") {
		t.Fatalf("text shows a secret:\n%s", text.String())
	}

	path := filepath.Join(dir, "plan.json")
	if err := Save(path, p); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := FillSecrets(loaded, f.rows); err != nil {
		t.Fatal(err)
	}
	if got := opOf(t, loaded, "person", "asmith").Record.String("pin"); got != "8642" {
		t.Errorf("asmith pin = %q", got)
	}
	if got := opOf(t, loaded, "person", "jdoe").Record.String("pin"); got != "4711" {
		t.Errorf("jdoe pin = %q", got)
	}
	// Changes stay masked: they are for people, not for the target.
	if c := opOf(t, loaded, "person", "jdoe").Changes[1]; c.After != schemas.Mask {
		t.Errorf("changes unmasked: %+v", c)
	}

	os.WriteFile(input, []byte("someone edited the workbook"), 0o600)
	loaded, _ = Load(path)
	err = FillSecrets(loaded, f.rows)
	if err == nil || !strings.Contains(err.Error(), "changed since the plan was made") || !strings.Contains(err.Error(), "plan again") {
		t.Fatalf("changed input: %v", err)
	}
	if got := opOf(t, loaded, "person", "jdoe").Record.String("pin"); got != schemas.Mask {
		t.Errorf("secret filled despite the hash mismatch: %q", got)
	}
}

func TestSaveLoad(t *testing.T) {
	f := scenario(t)
	p, _ := f.build(Options{Locker: f.a})
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := Save(path, p); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Marshal(p)
	b, _ := Marshal(loaded)
	if !bytes.Equal(a, b) {
		t.Fatalf("round trip differs:\n%s\n---\n%s", a, b)
	}
	if _, isNum := opOf(t, loaded, "phone", "1001 / HQ").Before["lines"].(json.Number); !isNum {
		t.Errorf("numbers must load as json.Number")
	}

	for _, c := range []struct{ content, want string }{
		{`{"version": 99, "ops": []}`, "plan format version 99"},
		{`{"version": 1, "ops": [{"id": 0, "action": "create", "needs": [5]}]}`, "op 0 needs op 5"},
		{`{"version": 1, "ops": [{"id": 3, "action": "create"}]}`, "op 0 is missing or out of place"},
		{`{"version": 1, "ops": [{"id": 0, "action": "explode"}]}`, `unknown action "explode"`},
		{`not json`, "not a plan file"},
	} {
		os.WriteFile(path, []byte(c.content), 0o644)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v", c.content, err)
		}
	}
}

func TestCheckStale(t *testing.T) {
	f := scenario(t)
	p, _ := f.build(Options{})
	drift, err := CheckStale(context.Background(), f.conn, p)
	if err != nil || len(drift) != 0 {
		t.Fatalf("fresh plan: %v %v", drift, err)
	}
	// The same from a saved plan (numbers and lists as JSON gives them).
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := Save(path, p); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if drift, err = CheckStale(context.Background(), f.conn, loaded); err != nil || len(drift) != 0 {
		t.Fatalf("fresh saved plan: %v %v", drift, err)
	}

	f.put("group", rec{"groupName": "Sales", "site": "HQ", "description": "edited by hand"}) // update target moved
	f.put("site", rec{"siteName": "Branch"})                                                 // create target appeared
	f.a.Put("person", rec{"userId": "jdoe", "name": map[string]any{"first": "John", "last": "Doe"}, "email": "a@x", "groups": []any{"Sales"}, "pin": "0000"})
	drift, err = CheckStale(context.Background(), f.conn, p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range drift {
		got = append(got, d.String())
	}
	want := []string{
		`site "Branch" (Sites!3) was created on the target since the plan was made`,
		`group "Sales" (Groups!3) changed on the target since the plan was made: description`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("drift:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckStaleDeleted(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ"})
	f.put("phone", rec{"number": "1009", "site": "HQ"})
	f.row("phone", 2, batch.DeleteRow, rec{"number": "1009", "site": "HQ"})
	p, _ := f.build(Options{})
	if _, err := f.conn.Apply(context.Background(), adapters.Change{Kind: "phone", Action: adapters.Delete, Record: rec{"number": "1009", "site": "HQ"}}); err != nil {
		t.Fatal(err)
	}
	drift, err := CheckStale(context.Background(), f.conn, p)
	if err != nil || len(drift) != 1 || drift[0].Was != true || drift[0].Now != false ||
		drift[0].String() != `phone "1009 / HQ" (Phones!2) was deleted from the target since the plan was made` {
		t.Fatalf("drift = %+v, %v", drift, err)
	}
}

// revealing is a target that, unlike most, reads secrets back.
type revealing struct{ adapters.Conn }

func (c revealing) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	r, err := c.Conn.Get(ctx, kind, key)
	if err == nil && kind == "person" {
		r.Set("pin", "1234")
	}
	return r, err
}

func TestSecretReadBack(t *testing.T) {
	f := newFixture(t)
	f.put("person", rec{"userId": "same"})
	f.put("person", rec{"userId": "other"})
	f.row("person", 2, batch.Upsert, rec{"userId": "same", "pin": "1234"})
	f.row("person", 3, batch.Upsert, rec{"userId": "other", "email": "o@x"})
	f.conn = revealing{f.conn}
	p, _ := f.build(Options{})
	if op := opOf(t, p, "person", "same"); op.Action != batch.OpNoop {
		t.Errorf("an unchanged secret the target returns is no change: %s %+v", op.Action, op.Changes)
	}
	other := opOf(t, p, "person", "other")
	if _, has := other.Record.Get("pin"); has || other.Before.String("pin") != schemas.Mask {
		t.Errorf("record %v, before %v", other.Record, other.Before)
	}
	if b, _ := Marshal(p); bytes.Contains(b, []byte("1234")) {
		t.Errorf("plan holds the secret read back:\n%s", b)
	}
}

func TestHashInputDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("userId\nu1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sites.csv"), []byte("siteName\nHQ\n"), 0o644)
	h1, err := HashInput(dir)
	if err != nil || len(h1) != 64 {
		t.Fatalf("%q %v", h1, err)
	}
	os.WriteFile(filepath.Join(dir, ".~lock.users.csv#"), []byte("editor lock"), 0o644)
	if h2, _ := HashInput(dir); h2 != h1 {
		t.Error("a hidden file changed the hash")
	}
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("userId\nu2\n"), 0o644)
	if h3, _ := HashInput(dir); h3 == h1 {
		t.Error("an edited file did not change the hash")
	}
	if _, err := HashInput(filepath.Join(dir, "missing.xlsx")); err == nil {
		t.Error("no error for a missing input")
	}
}

func TestSameValue(t *testing.T) {
	num := json.Number("5")
	for _, c := range []struct {
		a, b any
		want bool
	}{
		{num, "5", true}, {json.Number("5.0"), num, true}, {true, "true", true}, {"a", "A", false},
		{[]any{"a", "b"}, []any{"a", "b"}, true}, {[]any{"a", "b"}, []any{"b", "a"}, false}, {[]any{"a;b"}, "a;b", false},
		{map[string]any{"x": "1"}, "1", false}, {nil, "", true},
	} {
		if got := same(c.a, c.b, nil); got != c.want {
			t.Errorf("same(%#v, %#v) = %v", c.a, c.b, got)
		}
	}
}

func TestUnknownKindAndAction(t *testing.T) {
	f := newFixture(t)
	f.rows = append(f.rows, batch.Row{Kind: "fax", Origin: diag.Origin{Sheet: "Faxes", Row: 2}, Set: rec{"n": "1"}})
	f.row("site", 2, "replace", rec{"siteName": "HQ"})
	p, diags := f.build(Options{})
	if len(p.Ops) != 1 || p.Ops[0].Action != batch.OpBlocked || !strings.Contains(p.Ops[0].Reason, `unknown action "replace"`) {
		t.Fatalf("ops = %+v", p.Ops)
	}
	if d := diagWith(diags, CodeKind); len(d) != 1 || !strings.Contains(d[0].Message, `"fax" is not a kind of stub`) {
		t.Fatalf("diags = %v", diags)
	}
}

func TestCancelled(t *testing.T) {
	f := newFixture(t)
	f.row("site", 2, batch.Upsert, rec{"siteName": "HQ"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := Build(ctx, f.conn, f.a.Kinds(), f.rows, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// A secret set on a record that exists does not make an update by itself
// (re-applying a rollout is all no-ops); it goes along with other changes,
// and counts on its own when the row's action is update.
func TestSecretsOnExistingRecords(t *testing.T) {
	f := newFixture(t)
	f.put("person", rec{"userId": "pinonly"})
	f.put("person", rec{"userId": "both", "email": "a@x"})
	f.put("person", rec{"userId": "reset"})
	f.row("person", 2, batch.Upsert, rec{"userId": "pinonly", "pin": "1111"})
	f.row("person", 3, batch.Upsert, rec{"userId": "both", "email": "b@x", "pin": "2222"})
	f.row("person", 4, batch.Upsert, rec{"userId": "new", "pin": "3333"})
	f.row("person", 5, batch.UpdateRow, rec{"userId": "reset", "pin": "4444"})
	p, _ := f.build(Options{})
	if op := opOf(t, p, "person", "pinonly"); op.Action != batch.OpNoop {
		t.Errorf("pinonly: %s %+v", op.Action, op.Changes)
	}
	both := opOf(t, p, "person", "both")
	if both.Action != batch.OpUpdate || len(both.Changes) != 2 || both.Record.String("pin") != schemas.Mask {
		t.Errorf("both: the pin must go along with the e-mail change, masked: %+v", both)
	}
	if op := opOf(t, p, "person", "new"); op.Action != batch.OpCreate || op.Record.String("pin") != schemas.Mask {
		t.Errorf("new: %+v", op)
	}
	if op := opOf(t, p, "person", "reset"); op.Action != batch.OpUpdate || len(op.Changes) != 1 || op.Changes[0].After != schemas.Mask {
		t.Errorf("reset (action update): %+v", op)
	}
}

// A zero value the target does not show is no change: platforms omit them.
func TestZeroValuesMatchAbsent(t *testing.T) {
	f := newFixture(t)
	f.put("person", rec{"userId": "z"})
	f.row("person", 2, batch.Upsert, rec{"userId": "z", "email": ""})
	p, _ := f.build(Options{})
	if op := opOf(t, p, "person", "z"); op.Action != batch.OpNoop {
		t.Errorf("z: %s %+v", op.Action, op.Changes)
	}
}

// Reading the live state reports its progress, record by record or kind
// by kind, up to every record wanted.
func TestReadsReportProgress(t *testing.T) {
	for _, threshold := range []int{-1, 3} {
		f := newFixture(t)
		for i := range 5 {
			f.put("site", stub.Fixture("site", i))
			f.row("site", i+2, batch.Upsert, stub.Fixture("site", i))
		}
		f.row("site", 9, batch.Upsert, rec{"siteName": "absent"})
		var seen [][2]int
		f.build(Options{Reads: Reads{ListThreshold: threshold, Progress: func(done, total int) { seen = append(seen, [2]int{done, total}) }}})
		if len(seen) == 0 || seen[len(seen)-1] != [2]int{6, 6} {
			t.Fatalf("threshold %d: progress %v, want it to end at 6 of 6", threshold, seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i][0] <= seen[i-1][0] {
				t.Errorf("threshold %d: progress went back: %v", threshold, seen)
			}
		}
	}
}
