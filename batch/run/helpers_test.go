package run_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// builder makes plans over the stub's kinds the way the planner would:
// keys, origins (one sheet per kind, rows from 2), needs and locks.
type builder struct {
	p     *batch.Plan
	kinds *schemas.Set
	rows  map[string]int
	byKey map[string]int // "kind/key" → op id
	lock  adapters.Locker
}

func newBuilder() *builder {
	a := stub.New()
	return &builder{p: &batch.Plan{Version: 1, Adapter: "stub", Target: "test"}, kinds: a.Kinds(), rows: map[string]int{}, byKey: map[string]int{}, lock: a}
}

// add appends an operation; needs name other ops as "kind/key".
func (b *builder) add(kind string, action batch.OpAction, rec schemas.Record, needs ...string) int {
	k := b.kinds.Kind(kind)
	b.rows[kind]++
	op := &batch.Op{
		ID: len(b.p.Ops), Kind: k.Name, Key: k.KeyOf(rec), Action: action, Record: rec,
		Origin: diag.Origin{Sheet: k.Plural, Row: b.rows[kind] + 1},
	}
	for _, n := range needs {
		id, ok := b.byKey[n]
		if !ok {
			panic("builder: unknown need " + n)
		}
		op.Needs = append(op.Needs, id)
	}
	if a, ok := map[batch.OpAction]adapters.Action{batch.OpCreate: adapters.Create, batch.OpUpdate: adapters.Update, batch.OpDelete: adapters.Delete}[action]; ok {
		op.Locks = b.lock.Locks(adapters.Change{Kind: k.Name, Action: a, Record: rec})
	}
	b.byKey[k.Name+"/"+op.Key] = op.ID
	b.p.Ops = append(b.p.Ops, op)
	return op.ID
}

// rollout is a plan that creates a site, groups, people and their phones:
// nPeople people in nGroups groups (group-N>0 under group-0), each with
// phonesEach phones.
func rollout(nGroups, nPeople, phonesEach int) *builder {
	b := newBuilder()
	b.add("site", batch.OpCreate, schemas.Record{"siteName": "HQ"})
	for g := range nGroups {
		rec := schemas.Record{"groupName": fmt.Sprintf("g%d", g), "site": "HQ"}
		needs := []string{"site/HQ"}
		if g > 0 {
			rec["parent"] = "g0"
			needs = append(needs, "group/g0")
		}
		b.add("group", batch.OpCreate, rec, needs...)
	}
	for p := range nPeople {
		g := fmt.Sprintf("g%d", p%nGroups)
		id := fmt.Sprintf("u%04d", p)
		b.add("person", batch.OpCreate, schemas.Record{"userId": id, "groups": []any{g}, "pin": "4321",
			"name": map[string]any{"first": "P", "last": id}}, "group/"+g)
		for f := range phonesEach {
			num := fmt.Sprintf("%d", 10000+p*phonesEach+f)
			b.add("phone", batch.OpCreate, schemas.Record{"number": num, "site": "HQ", "owner": id, "lines": schemas.Normalize(1)}, "site/HQ", "person/"+id)
		}
	}
	return b
}

func open(t testing.TB, a *stub.Adapter) adapters.Conn {
	t.Helper()
	c, err := a.Open(context.Background(), adapters.Target{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sleeps is a fake Options.Sleep that records the waits and does not wait.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

// equalStates compares two stubs' records, secrets included.
func equalStates(t *testing.T, got, want *stub.Adapter) {
	t.Helper()
	g, w := got.Dump(), want.Dump()
	for kind, wr := range w {
		gr := g[kind]
		if len(gr) != len(wr) {
			t.Errorf("%s: %d records, want %d", kind, len(gr), len(wr))
			continue
		}
		for i := range wr {
			if !gr[i].Equal(wr[i]) {
				t.Errorf("%s #%d = %v, want %v", kind, i, gr[i], wr[i])
			}
		}
	}
}

func openJournal(t testing.TB) *journal.Journal {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
