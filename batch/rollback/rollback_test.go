package rollback_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/rollback"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func person(id, first string) schemas.Record {
	return schemas.Record{"userId": id, "groups": []any{"g0"}, "name": map[string]any{"first": first, "last": id}}
}

// fixture is a target and a run's plan and journal, written by hand so
// that every outcome the journal can record is covered.
type fixture struct {
	a       *stub.Adapter
	p       *batch.Plan
	entries []journal.Entry
}

func newFixture() *fixture {
	a := stub.New()
	a.Put("site", schemas.Record{"siteName": "HQ"})
	a.Put("group", schemas.Record{"groupName": "g0", "site": "HQ"})
	return &fixture{a: a, p: &batch.Plan{Version: 1, Adapter: "stub"}}
}

// op adds an operation and its journal entries: an in-flight mark (with a
// before-image when before is not nil or imaged), then status when it is
// not in flight.
func (f *fixture) op(action batch.OpAction, rec, planned schemas.Record, status batch.Status, image bool, before, after schemas.Record) int {
	k := f.a.Kinds().Kind("person")
	id := len(f.p.Ops)
	f.p.Ops = append(f.p.Ops, &batch.Op{ID: id, Kind: "person", Key: k.KeyOf(rec), Action: action, Record: rec, Before: planned,
		Origin: diag.Origin{File: "people.csv", Row: id + 2}})
	f.entries = append(f.entries, journal.Entry{Op: id, Status: batch.StatusInFlight, Action: action, Kind: "person", Attempt: 1, Image: image, Before: before})
	if status != batch.StatusInFlight {
		f.entries = append(f.entries, journal.Entry{Op: id, Status: status, Action: action, Kind: "person", Attempt: 1, After: after})
	}
	return id
}

func (f *fixture) build(t *testing.T, o rollback.Options) *rollback.Inverse {
	t.Helper()
	conn, err := f.a.Open(context.Background(), adapters.Target{})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := rollback.Build(context.Background(), conn, f.a.Kinds(), f.p, f.entries, o)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func steps(inv *rollback.Inverse) map[string]rollback.Step {
	out := map[string]rollback.Step{}
	for _, s := range inv.Steps {
		out[s.Key] = s
	}
	return out
}

func TestInverseOfEachOutcome(t *testing.T) {
	f := newFixture()
	// Created, done: deleted.
	f.a.Put("person", person("created", "C"))
	f.op(batch.OpCreate, person("created", "C"), nil, batch.StatusSucceeded, false, nil, person("created", "C"))
	// Created, outcome unknown (in flight at a kill), there: ours, deleted.
	f.a.Put("person", person("maybe", "M"))
	f.op(batch.OpCreate, person("maybe", "M"), nil, batch.StatusInFlight, false, nil, nil)
	// Created, outcome unknown, not there: nothing to undo.
	f.op(batch.OpCreate, person("never", "N"), nil, batch.StatusFailed, false, nil, nil)
	// Updated: restored to the before-image, not to what the plan read;
	// the pin the run set is not restorable.
	f.a.Put("person", person("updated", "New"))
	up := person("updated", "New")
	up["pin"] = schemas.Mask
	f.op(batch.OpUpdate, up, person("updated", "Planned"), batch.StatusSucceeded, true, person("updated", "Old"), person("updated", "New"))
	// Update in flight that did not land: as before.
	f.a.Put("person", person("unlanded", "Old"))
	f.op(batch.OpUpdate, person("unlanded", "New"), person("unlanded", "Old"), batch.StatusInFlight, true, person("unlanded", "Old"), nil)
	// Deleted: recreated from the image.
	f.op(batch.OpDelete, schemas.Record{"userId": "deleted"}, person("deleted", "D"), batch.StatusSucceeded, true, person("deleted", "D"), nil)
	// Updated, then edited by hand: refused.
	edited := person("edited", "New")
	edited["name"] = map[string]any{"first": "New", "last": "ByHand"}
	f.a.Put("person", edited)
	f.op(batch.OpUpdate, person("edited", "New"), person("edited", "Old"), batch.StatusSucceeded, true, person("edited", "Old"), person("edited", "New"))

	// Delete in flight that landed in part (unlinked, not deleted): put
	// back as it was.
	half := person("halfdeleted", "H")
	half["groups"] = []any{}
	f.a.Put("person", half)
	f.op(batch.OpDelete, schemas.Record{"userId": "halfdeleted"}, person("halfdeleted", "H"), batch.StatusInFlight, true, person("halfdeleted", "H"), nil)

	inv := f.build(t, rollback.Options{})
	got := steps(inv)
	if s := got["halfdeleted"]; s.Action != batch.UpdateRow || s.Record.String("groups") != "g0" {
		t.Errorf("a delete that landed in part: %+v, want restored with its group", s)
	}
	if s := got["created"]; s.Action != batch.DeleteRow {
		t.Errorf("created: %+v, want a delete", s)
	}
	if s := got["maybe"]; s.Action != batch.DeleteRow {
		t.Errorf("created with an unknown outcome, found: %+v, want a delete", s)
	}
	if _, ok := got["never"]; ok {
		t.Error("a create that never landed is undone")
	}
	if s := got["updated"]; s.Action != batch.UpdateRow || s.Record.String("name.first") != "Old" || strings.Join(s.Lost, ",") != "pin" {
		t.Errorf("updated: %+v, want restored to first name Old, pin not restorable", s)
	}
	if _, ok := got["unlanded"]; ok {
		t.Error("an update that never landed is undone")
	}
	if s := got["deleted"]; s.Action != batch.CreateRow || s.Record.String("name.first") != "D" || s.Record.String("pin") != "" {
		t.Errorf("deleted: %+v, want recreated from its image, without a pin", s)
	}
	if len(inv.Refused) != 1 || inv.Refused[0].Key != "edited" || !strings.Contains(inv.Refused[0].Reason, "changed on the target since the run: name.last") {
		t.Errorf("refused = %v, want the hand-edited record, naming name.last", inv.Refused)
	}
	if inv.AsBefore != 2 {
		t.Errorf("as before = %d, want 2", inv.AsBefore)
	}

	inv = f.build(t, rollback.Options{Force: []string{"person"}})
	if s := steps(inv)["edited"]; s.Action != batch.UpdateRow || len(inv.Refused) != 0 {
		t.Errorf("--force person: edited = %+v, refused %v", s, inv.Refused)
	}
}

// caps refuses deletes of persons, as sipXcom refuses park orbits.
type caps struct{}

func (caps) Supports(kind string, a adapters.Action) string {
	if a == adapters.Delete {
		return "no deletes here"
	}
	return ""
}

func TestInverseThePlatformCannotDoIsRefused(t *testing.T) {
	f := newFixture()
	f.a.Put("person", person("created", "C"))
	f.op(batch.OpCreate, person("created", "C"), nil, batch.StatusSucceeded, false, nil, person("created", "C"))
	inv := f.build(t, rollback.Options{Capabilities: caps{}})
	if len(inv.Steps) != 0 || len(inv.Refused) != 1 || !strings.Contains(inv.Refused[0].Reason, "no deletes here") {
		t.Errorf("steps %v, refused %v: want the create refused with the platform's reason", inv.Steps, inv.Refused)
	}
	if got := rollback.Summary(rollback.Losses(f.p, f.a.Kinds(), caps{})); !strings.Contains(got, "1 person create cannot be undone (it needs a delete): no deletes here") {
		t.Errorf("summary = %q", got)
	}
	if got := rollback.Summary(rollback.Losses(f.p, f.a.Kinds(), nil)); !strings.HasPrefix(got, "Reversible: fully") {
		t.Errorf("summary without limits = %q", got)
	}
}

// Without a journaled image the plan's reading is restored, and counted.
func TestWithoutImagesThePlanIsTheBeforeImage(t *testing.T) {
	f := newFixture()
	f.a.Put("person", person("updated", "New"))
	f.op(batch.OpUpdate, person("updated", "New"), person("updated", "Planned"), batch.StatusSucceeded, false, nil, nil)
	inv := f.build(t, rollback.Options{})
	if s := steps(inv)["updated"]; s.Record.String("name.first") != "Planned" || inv.Planned != 1 {
		t.Errorf("step %+v, planned %d", s, inv.Planned)
	}
}

// The input holds one CSV per kind, an action per row, <clear> for what
// the run set and the record did not have, and no secret column.
func TestWriteInput(t *testing.T) {
	f := newFixture()
	now := person("updated", "New")
	now["email"] = "set@by.the.run"
	f.a.Put("person", now)
	was := person("updated", "Old")
	was["email"] = "" // held empty: cleared too, not kept
	f.op(batch.OpUpdate, now, nil, batch.StatusSucceeded, true, was, now)
	inv := f.build(t, rollback.Options{})
	dir := filepath.Join(t.TempDir(), "in")
	if err := inv.WriteInput(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "people.csv"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "action,") || !strings.Contains(text, "update,updated") || !strings.Contains(text, batch.ClearToken) || strings.Contains(text, "pin") {
		t.Errorf("people.csv:\n%s", text)
	}
}
