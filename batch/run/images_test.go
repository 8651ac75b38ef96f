package run_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// With Images, an update's and a delete's in-flight mark carries the record
// as the target held it just before the write (not what the plan saw), and
// a create's and an update's outcome what the target held after it; the
// pin (a secret) is never in clear in either.
func TestImagesAreJournaledWithTheWrites(t *testing.T) {
	a := stub.New()
	a.Put("site", schemas.Record{"siteName": "HQ"})
	a.Put("group", schemas.Record{"groupName": "g0", "site": "HQ"})
	a.Put("person", schemas.Record{"userId": "u1", "groups": []any{"g0"}, "pin": "1111", "name": map[string]any{"first": "Old", "last": "One"}})
	a.Put("person", schemas.Record{"userId": "u2", "groups": []any{"g0"}, "name": map[string]any{"first": "Gone", "last": "Two"}})

	b := newBuilder()
	b.add("person", batch.OpCreate, schemas.Record{"userId": "u3", "groups": []any{"g0"}, "pin": "3333", "name": map[string]any{"first": "New", "last": "Three"}})
	// The plan saw first name "Planned"; the target holds "Old" when the
	// write goes: the before-image must say "Old".
	up := b.add("person", batch.OpUpdate, schemas.Record{"userId": "u1", "groups": []any{"g0"}, "pin": "9999", "name": map[string]any{"first": "Changed", "last": "One"}})
	b.p.Ops[up].Before = schemas.Record{"userId": "u1", "name": map[string]any{"first": "Planned", "last": "One"}}
	del := b.add("person", batch.OpDelete, schemas.Record{"userId": "u2"})

	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	conn := open(t, a)
	out, err := run.Run(context.Background(), conn, b.p, b.kinds, run.Options{Journal: j, Images: true})
	if err != nil || !out.Counts.Complete() {
		t.Fatalf("run: %v %+v", err, out.Counts)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := journal.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	marks, after := map[int]journal.Entry{}, map[int]journal.Entry{}
	for _, e := range entries {
		switch e.Status {
		case batch.StatusInFlight:
			marks[e.Op] = e
		case batch.StatusSucceeded:
			after[e.Op] = e
		}
	}
	if m := marks[up]; !m.Image || m.Before.String("name.first") != "Old" || m.Before.String("pin") == "1111" {
		t.Errorf("update's mark = %+v, want the before-image read before the write (first name Old, no pin in clear)", m)
	}
	if m := marks[del]; !m.Image || m.Before.String("name.first") != "Gone" {
		t.Errorf("delete's mark = %+v, want its before-image", m)
	}
	if m := marks[0]; m.Image {
		t.Errorf("a create has no before-image: %+v", m)
	}
	if e := after[up]; e.After.String("name.first") != "Changed" || e.After.String("pin") == "9999" {
		t.Errorf("update's outcome after-image = %v, want the record as written, no pin in clear", e.After)
	}
	if e := after[0]; e.After != nil {
		t.Errorf("a create reads no after-image (rollback compares with the plan): %v", e.After)
	}
	if e := after[del]; e.After != nil {
		t.Errorf("a delete has no after-image: %v", e.After)
	}
	if got := a.Stats().Calls["person/get"]; got != 3 {
		t.Errorf("%d reads, want 3: one before the update and the delete, one after the update (none for the create)", got)
	}
}

// Without Images nothing extra is read or journaled.
func TestNoImagesNoReads(t *testing.T) {
	a, b := oneUpdate()
	j := openJournal(t)
	if _, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if got := a.Stats().Calls["person/get"]; got != 0 {
		t.Errorf("%d reads without images", got)
	}
	for _, e := range mustRead(t, j.Path()) {
		if e.Image || e.After != nil {
			t.Errorf("image journaled without Images: %+v", e)
		}
	}
}

func mustRead(t *testing.T, path string) []journal.Entry {
	t.Helper()
	es, err := journal.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// A resumed operation that an earlier attempt sent is not imaged again:
// the record may already hold that attempt's write, and the first
// attempt's image stands.
func TestResumeKeepsTheFirstBeforeImage(t *testing.T) {
	a, b := oneUpdate()
	j := openJournal(t)
	prior := map[int]journal.Entry{0: {Op: 0, Status: batch.StatusInFlight, Action: batch.OpUpdate, Attempt: 1, Image: true}}
	if _, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j, Images: true, Prior: prior}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	for _, e := range mustRead(t, j.Path()) {
		if e.Image {
			t.Errorf("a resumed write was imaged again: %+v", e)
		}
	}
	// The read-back that resume makes first, then the after-image.
	if got := a.Stats().Calls["person/get"]; got != 2 {
		t.Errorf("%d reads, want 2 (read back, after-image)", got)
	}
}

// oneUpdate is a target holding person u1 and a plan that renames it.
func oneUpdate() (*stub.Adapter, *builder) {
	a := stub.New()
	a.Put("site", schemas.Record{"siteName": "HQ"})
	a.Put("group", schemas.Record{"groupName": "g0", "site": "HQ"})
	a.Put("person", schemas.Record{"userId": "u1", "groups": []any{"g0"}, "name": map[string]any{"first": "Old", "last": "One"}})
	b := newBuilder()
	b.add("person", batch.OpUpdate, schemas.Record{"userId": "u1", "groups": []any{"g0"}, "name": map[string]any{"first": "Changed", "last": "One"}})
	return a, b
}
