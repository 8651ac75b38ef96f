package main

// End-to-end tests of rollback (issue 19) through the real CLI, against
// the MX-ONE and sipXcom simulators.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/export"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/report"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// csvRow is one row of a hand-made input: its action and record.
type csvRow struct {
	action string
	rec    schemas.Record
}

// writeKindCSV writes rows of kind k as dir/<plural>.csv with an action
// column and every field of the kind (blank keeps).
func writeKindCSV(t *testing.T, dir string, k *schemas.Kind, rows []csvRow, extra ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, k.Plural+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, _ := workbook.NewCSVWriter(f, false)
	header := append([]string{"action"}, export.Header(k)...)
	c.WriteRow(header)
	for _, r := range rows {
		cells := []string{r.action}
		for _, p := range header[1:] {
			cells = append(cells, r.rec.String(p))
		}
		c.WriteRow(cells)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

// mxoneMix is a rollout in two runs: the base (the sample rollout without
// its last two users and their extensions), then a change that creates
// those, updates three users (one with a new password, which no rollback
// can restore) and deletes a user with its extensions.
type mxoneMix struct {
	base, change string
	updated      []string // userIds
	deleted      string   // userId
}

func writeMXONEMix(t *testing.T, dir string) mxoneMix {
	t.Helper()
	set := schemas.MustLoad("mxone")
	r := sampledata.New(smallRollout)
	m := mxoneMix{base: filepath.Join(dir, "base"), change: filepath.Join(dir, "change")}
	users := slices.Collect(r.Records("user"))
	held := map[string]bool{users[len(users)-1].String("userId"): true, users[len(users)-2].String("userId"): true}
	owned := map[string]int{}
	for x := range r.Records("extension") {
		owned[x.String("owner")]++
	}
	for _, u := range users[5:] {
		if id := u.String("userId"); !held[id] && owned[id] > 0 {
			m.deleted = id
			break
		}
	}
	for _, kind := range sampledata.Kinds() {
		k := set.Kind(kind)
		var base, change []csvRow
		for rec := range r.Records(kind) {
			switch {
			case kind == "user" && held[rec.String("userId")], kind == "extension" && held[rec.String("owner")]:
				change = append(change, csvRow{"create", rec})
				continue
			case kind == "user" && rec.String("userId") == m.deleted, kind == "extension" && rec.String("owner") == m.deleted:
				change = append(change, csvRow{"delete", k.KeyRecord(rec)})
			case kind == "user" && len(m.updated) < 3:
				id := rec.String("userId")
				m.updated = append(m.updated, id)
				up := schemas.Record{"userId": id, "firstName": "Renamed" + id, "emailAddress": id + "@new.example", "udf1": "set by the run"}
				if len(m.updated) == 1 {
					up["newPassword"] = "rollback-pw" + secretMarker
				}
				change = append(change, csvRow{"update", up})
			}
			base = append(base, csvRow{"upsert", rec})
		}
		writeKindCSV(t, m.base, k, base)
		if len(change) > 0 {
			writeKindCSV(t, m.change, k, change)
		}
	}
	if m.deleted == "" {
		t.Fatal("no sample user with extensions to delete")
	}
	return m
}

// newMXONEMix starts an MX-ONE simulator, applies the mix's base to it and
// exports it: the state the change's rollback must return to.
func newMXONEMix(t *testing.T, o simkit.Options) (e *cliEnv, m mxoneMix, before string) {
	t.Helper()
	e = newMXONEEnv(t, o)
	m = writeMXONEMix(t, e.dir)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", m.base)
	return e, m, e.exportTo("export-before")
}

// newestRun returns the newest run.
func newestRun(t *testing.T, e *cliEnv) rundir.Info {
	t.Helper()
	runs, err := rundir.List(e.global[3])
	if err != nil || len(runs) == 0 {
		t.Fatalf("no run: %v", err)
	}
	return runs[0]
}

// exportTo exports the target as CSV into a new directory and returns it.
func (e *cliEnv) exportTo(name string) string {
	e.t.Helper()
	out := filepath.Join(e.dir, name)
	e.mustCLI(exitOK, "export", "--target", "lab", "-o", out)
	return out
}

// sameExports fails the test with the differences when two exports differ.
func (e *cliEnv) sameExports(a, b string) {
	e.t.Helper()
	code, out, errs := e.cli("diff", a, b)
	if code != exitOK {
		e.t.Errorf("exports %s and %s differ (exit %d):\n%s%s", filepath.Base(a), filepath.Base(b), code, tail(out), tail(errs))
	}
}

// Apply a mix of creates, updates and deletes, roll it back: the export
// equals the one taken before the run (the password it set is reported
// not restorable, and exports hold no password); then roll the rollback
// back: the export equals the one taken after the run.
func TestMXONERollbackRestoresTheExportAndRollsBackItself(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	m := writeMXONEMix(t, e.dir)
	out := e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", m.base)
	if !strings.Contains(out, "Reversible: fully") {
		t.Errorf("a plan of creates only is not said to be fully reversible:\n%s", tail(out))
	}
	before := e.exportTo("export-before")

	out = e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", m.change)
	if !strings.Contains(out, "Reversible: not fully: 1 user update not restorable: newPassword") {
		t.Errorf("apply does not say what a rollback cannot restore:\n%s", tail(out))
	}
	run := newestRun(t, e)
	if c := run.Counts; c.Created == 0 || c.Updated != 3 || c.Deleted == 0 {
		t.Fatalf("the change is not a mix of creates, updates and deletes: %+v", c)
	}
	if _, ok := e.sim.Snapshot().User(m.deleted); ok {
		t.Fatalf("user %s was not deleted", m.deleted)
	}
	after := e.exportTo("export-after")

	out = e.mustCLI(exitOK, "rollback", "--yes", "--progress", "none", run.ID)
	for _, want := range []string{
		"Rollback of run " + run.ID,
		"0 refused",
		`user "` + m.updated[0] + `"`, "newPassword", // not restorable, named
		// The rollback deletes what the run created: a recreate cannot
		// know their secrets.
		"Reversible: not fully: 2 user deletes not restorable: newPassword",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rollback output lacks %q:\n%s", want, tail(out))
		}
	}
	if strings.Contains(out, secretMarker) {
		t.Error("a password was printed")
	}
	e.sameExports(before, e.exportTo("export-rolled-back"))
	u, ok := e.sim.Snapshot().User(m.deleted)
	if !ok || len(u.Extensions) != 2 && len(u.Extensions) != 1 {
		t.Errorf("user %s recreated = %v with extensions %v: its extensions must be linked to it again", m.deleted, ok, u.Extensions)
	}
	if found, _ := filesWithSecret(t, filepath.Join(e.dir, "state")); len(found) > 0 {
		t.Errorf("a password is in %v", found)
	}

	rb := newestRun(t, e)
	if rb.ID == run.ID {
		t.Fatal("the rollback made no run")
	}
	if out := e.mustCLI(exitError, "resume", "--progress", "none", run.ID); !strings.Contains(out, "was rolled back by run "+rb.ID) {
		t.Errorf("resume of a rolled-back run is not refused naming its rollback:\n%s", tail(out))
	}
	// A run like any other: listed, its reports regenerated from its input.
	if status := e.mustCLI(exitOK, "status", rb.ID); !strings.Contains(status, "succeeded") {
		t.Errorf("status of the rollback:\n%s", status)
	}
	os.Remove(filepath.Join(rb.Dir, report.ResultsFile))
	e.mustCLI(exitOK, "report", rb.ID)
	if _, err := os.Stat(filepath.Join(rb.Dir, report.ResultsFile)); err != nil {
		t.Errorf("report did not regenerate the rollback's results.xlsx: %v", err)
	}
	e.mustCLI(exitOK, "rollback", "--yes", "--progress", "none", rb.ID)
	e.sameExports(after, e.exportTo("export-redone"))
}

// A record edited on the target after the run is refused, with the field
// named, and left as edited; the rest is rolled back (exit 3). --force
// for its kind undoes it too.
func TestMXONERollbackRefusesARecordEditedSinceTheRun(t *testing.T) {
	e, m, before := newMXONEMix(t, simkit.Options{})
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", m.change)
	run := newestRun(t, e)

	edited := m.updated[1]
	edit := filepath.Join(e.dir, "edit")
	writeKindCSV(t, edit, schemas.MustLoad("mxone").Kind("user"), []csvRow{{"update", schemas.Record{"userId": edited, "lastName": "EditedByHand"}}})
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", edit)

	out := e.mustCLI(exitPartial, "rollback", "--yes", "--progress", "none", run.ID)
	if !strings.Contains(out, `user "`+edited+`"`) || !strings.Contains(out, "changed on the target since the run: lastName") {
		t.Errorf("the edited user is not refused with its field:\n%s", tail(out))
	}
	notes, _ := filepath.Glob(filepath.Join(run.Dir, "rollback-*.json"))
	if len(notes) != 1 {
		t.Fatalf("notes beside the rollback's input: %v, want one file", notes)
	}
	if b, err := os.ReadFile(notes[0]); err != nil || !strings.Contains(string(b), `"key": "`+edited+`"`) {
		t.Errorf("the refusal is not in %s: %v\n%s", notes[0], err, b)
	}
	if u, _ := e.sim.Snapshot().User(edited); u.LastName != "EditedByHand" {
		t.Errorf("the edited user was overwritten: last name %q", u.LastName)
	}
	if u, _ := e.sim.Snapshot().User(m.updated[2]); strings.HasPrefix(u.FirstName, "Renamed") {
		t.Errorf("the other updated users were not rolled back: %+v", u)
	}

	e.mustCLI(exitOK, "rollback", "--yes", "--progress", "none", "--force", "Users", run.ID) // a kind by its sheet name too
	if u, _ := e.sim.Snapshot().User(edited); u.LastName == "EditedByHand" || strings.HasPrefix(u.FirstName, "Renamed") {
		t.Errorf("--force user did not restore the edited user: %+v", u)
	}
	e.sameExports(before, e.exportTo("export-forced"))
}

// A run killed half-way (kill -9, not resumed) is rolled back from its
// journal: what it did is undone, what it never did is left alone.
func TestMXONERollbackOfAKilledRunRestoresTheHalfThatHappened(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	e, m, before := newMXONEMix(t, simkit.Options{Latency: 30 * time.Millisecond})

	args := append(slices.Clone(e.global), "apply", "--yes", "--target", "lab", "--progress", "none", "--concurrency", "1", m.change)
	// Kill at several moments; each half-way run is rolled back and must
	// leave the target as before it.
	halves := 0
	for wait := 700; halves < 3; wait += 150 {
		if wait > 6000 {
			t.Fatalf("only %d kills left the run half-way", halves)
		}
		killed, out, err := runCLIProcess(t, args, time.After(time.Duration(wait)*time.Millisecond))
		if !killed && halves == 0 {
			t.Fatalf("the change finished before the kill (%v): the test proves nothing\n%s", err, tail(out))
		}
		run := newestRun(t, e)
		if !killed {
			e.mustCLI(exitOK, "rollback", "--yes", "--progress", "none", run.ID)
			break
		}
		if run.State != rundir.Interrupted {
			continue // killed while planning: nothing was sent
		}
		done, all := succeeded(t, run)
		e.mustCLI(exitOK, "rollback", "--yes", "--progress", "none", run.ID)
		if done == 0 || done == all {
			continue
		}
		halves++
		t.Logf("killed after %d ms, %d of %d operations done", wait, done, all)
		e.sameExports(before, e.exportTo(fmt.Sprintf("export-rolled-back-%d", wait)))
	}
}

// succeeded counts the writes a run's journal records done, of its writes.
func succeeded(t *testing.T, info rundir.Info) (done, all int) {
	t.Helper()
	last, err := journal.Replay(filepath.Join(info.Dir, rundir.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range last {
		if e.Status == batch.StatusSucceeded {
			done++
		}
	}
	return done, info.Ops
}

// The journal of a run holds before-images with its in-flight marks, and
// --no-before-images leaves them out.
func TestApplyJournalsBeforeImagesUnlessTold(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	m := writeMXONEMix(t, e.dir)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", m.base)
	images := func() (n int) {
		entries, err := journal.Read(filepath.Join(newestRun(t, e).Dir, rundir.JournalFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range entries {
			if x.Image {
				b, _ := json.Marshal(x)
				if x.Status != batch.StatusInFlight || strings.Contains(string(b), secretMarker) {
					t.Errorf("image on a %s entry, or with a secret: %s", x.Status, b)
				}
				n++
			}
		}
		return n
	}
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", "--no-before-images", m.change)
	if n := images(); n != 0 {
		t.Errorf("%d before-images with --no-before-images", n)
	}
	e.mustCLI(exitOK, "rollback", "--yes", "--progress", "none", newestRun(t, e).ID)
	if n := images(); n == 0 {
		t.Error("no before-image in the rollback's journal")
	}
}

// On sipXcom: a mix of creates, updates and deletes rolled back leaves the
// export as before the run, except the park orbit it created, which the
// API cannot delete: refused with the platform's reason (exit 3), and said
// before the run by apply's summary. The PINs it set are not restorable.
// Rolling the rollback back redoes the run.
func TestSipxRollbackRestoresAllButWhatTheAPICannotUndo(t *testing.T) {
	e, s := newSipxEnv(t, simkit.Options{})
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", sipxRollout)
	before := e.exportTo("export-before")

	snap := s.Snapshot()
	set := schemas.MustLoad("sipx")
	var users []csvRow
	for _, u := range snap.Users[1:3] {
		users = append(users, csvRow{"update", schemas.Record{"userName": u.UserName, "firstName": "Renamed", "pin": "9876"}})
	}
	users = append(users, csvRow{"create", schemas.Record{"userName": "rollback-new", "firstName": "New", "lastName": "User", "pin": "1234"}})
	var phone string
	var lines []csvRow
	for _, p := range snap.Phones {
		if len(p.Lines) == 1 {
			phone = p.SerialNumber
			lines = append(lines, csvRow{"delete", schemas.Record{"phone": phone, "user": p.Lines[0].UserID}})
			break
		}
	}
	change := filepath.Join(e.dir, "change")
	writeKindCSV(t, change, set.Kind("user"), users)
	writeKindCSV(t, change, set.Kind("line"), lines)
	writeKindCSV(t, change, set.Kind("phone"), []csvRow{{"delete", schemas.Record{"serialNumber": phone}}})
	writeKindCSV(t, change, set.Kind("park_orbit"), []csvRow{{"create", schemas.Record{"name": "rollback-orbit", "extension": "4999"}}})

	if out := e.mustCLI(exitChanges, "plan", "--target", "lab", change); !strings.Contains(out, "Reversible: not fully: ") || !strings.Contains(out, "2 user updates not restorable: pin") {
		t.Errorf("plan does not say what a rollback cannot undo:\n%s", tail(out))
	}
	out := e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", change)
	if !strings.Contains(out, "1 park_orbit create cannot be undone (it needs a delete): sipXconfig's API can remove park orbits only all at once") {
		t.Errorf("apply does not say the park orbit cannot be rolled back:\n%s", tail(out))
	}
	run := newestRun(t, e)
	if c := run.Counts; c.Created != 2 || c.Updated != 2 || c.Deleted != 2 {
		t.Fatalf("the change is not the mix planned: %+v", c)
	}
	after := e.exportTo("export-after")

	out = e.mustCLI(exitPartial, "rollback", "--yes", "--progress", "none", run.ID)
	for _, want := range []string{`park_orbit "rollback-orbit"`, "sipXconfig's API can remove park orbits only all at once", "pin", "1 record was refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("rollback output lacks %q:\n%s", want, tail(out))
		}
	}
	now := e.exportTo("export-rolled-back")
	code, diffOut, _ := e.cli("diff", "--format", "json", before, now)
	var d struct {
		Changes []struct {
			Kind   string `json:"kind"`
			Key    string `json:"key"`
			Change string `json:"change"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(diffOut), &d); err != nil {
		t.Fatalf("diff --format json: exit %d: %v\n%s", code, err, diffOut)
	}
	if len(d.Changes) != 1 || d.Changes[0].Kind != "park_orbit" || d.Changes[0].Key != "rollback-orbit" || d.Changes[0].Change != "added" {
		t.Errorf("after the rollback the export differs from before the run by %+v, want only the park orbit added", d.Changes)
	}
	if code != exitChanges {
		t.Errorf("diff exit %d: the park orbit should be the one difference", code)
	}

	e.mustCLI(exitOK, "rollback", "--yes", "--progress", "none", newestRun(t, e).ID)
	e.sameExports(after, e.exportTo("export-redone"))
}

// A rollback killed half-way is resumed like any run, and ends with the
// target as before the rolled-back run.
func TestMXONERollbackKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	e, m, before := newMXONEMix(t, simkit.Options{Latency: 30 * time.Millisecond})
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", m.change)
	run := newestRun(t, e)

	args := append(slices.Clone(e.global), "rollback", "--yes", "--progress", "none", "--concurrency", "1", run.ID)
	for wait := 700; ; wait += 150 {
		killed, out, err := runCLIProcess(t, args, time.After(time.Duration(wait)*time.Millisecond))
		if !killed {
			t.Fatalf("the rollback finished before the kill (%v): the test proves nothing\n%s", err, tail(out))
		}
		if rb := newestRun(t, e); rb.ID != run.ID && rb.State == rundir.Interrupted {
			if done, _ := succeeded(t, rb); done > 0 {
				e.mustCLI(exitOK, "resume", "--progress", "none", rb.ID)
				break
			}
		}
		if wait > 6000 {
			t.Fatal("no kill interrupted the rollback once it had started")
		}
	}
	e.sameExports(before, e.exportTo("export-rolled-back"))
}

// On sipXcom too, a record edited after the run is refused, not
// overwritten.
func TestSipxRollbackRefusesARecordEditedSinceTheRun(t *testing.T) {
	e, s := newSipxEnv(t, simkit.Options{})
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", sipxRollout)
	users := schemas.MustLoad("sipx").Kind("user")
	name := s.Snapshot().Users[1].UserName
	change, edit := filepath.Join(e.dir, "change"), filepath.Join(e.dir, "edit")
	writeKindCSV(t, change, users, []csvRow{{"update", schemas.Record{"userName": name, "firstName": "Renamed"}}})
	writeKindCSV(t, edit, users, []csvRow{{"update", schemas.Record{"userName": name, "lastName": "EditedByHand"}}})
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", change)
	run := newestRun(t, e)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", edit)

	out := e.mustCLI(exitPartial, "rollback", "--yes", "--progress", "none", run.ID)
	if !strings.Contains(out, `user "`+name+`"`) || !strings.Contains(out, "changed on the target since the run: lastName") {
		t.Errorf("the edited user is not refused with its field:\n%s", tail(out))
	}
	for _, u := range s.Snapshot().Users {
		if u.UserName == name && (u.LastName == nil || u.LastName.Value != "EditedByHand") {
			t.Errorf("the edited user was overwritten: %+v", u.LastName)
		}
	}
}

// The sample rollout killed half-way on sipXcom, rolled back: the target
// holds what it held before, but the park orbits the run had created (the
// API cannot delete them: refused, one line each).
func TestSipxRollbackOfAKilledRunRestoresTheHalfThatHappened(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	e, _ := newSipxEnv(t, simkit.Options{Latency: 3 * time.Millisecond})
	before := e.exportTo("export-before")
	args := append(slices.Clone(e.global), "apply", "--yes", "--target", "lab", "--progress", "none", sipxRollout)
	for wait := 600; ; wait += 300 {
		if wait > 6000 {
			t.Fatal("no kill left the run half-way")
		}
		killed, out, err := runCLIProcess(t, args, time.After(time.Duration(wait)*time.Millisecond))
		if !killed {
			t.Fatalf("the rollout finished before the kill (%v): the test proves nothing\n%s", err, tail(out))
		}
		runs, _ := rundir.List(e.global[3])
		if len(runs) == 0 || runs[0].State != rundir.Interrupted {
			continue // killed while planning: nothing was sent
		}
		run := runs[0]
		done, all := succeeded(t, run)
		switch {
		case done == all:
			t.Fatalf("killed with all %d operations done", all)
		case done == 0: // too early: clean up what was in flight, try later
			e.mustCLI(exitOK, "rollback", "--yes", "--progress", "none", run.ID)
			continue
		}
		t.Logf("killed after %d ms, %d of %d operations done", wait, done, all)
		code, out, errs := e.cli("rollback", "--yes", "--progress", "none", run.ID)
		if code != exitOK && code != exitPartial {
			t.Fatalf("rollback: exit %d\n%s\n%s", code, tail(out), tail(errs))
		}
		refused := strings.Count(errs, "sipXconfig's API can remove park orbits only all at once")
		_, diffOut, _ := e.cli("diff", "--format", "json", before, e.exportTo("export-rolled-back"))
		var d struct {
			Changes []struct{ Kind, Change string } `json:"changes"`
		}
		if err := json.Unmarshal([]byte(diffOut), &d); err != nil {
			t.Fatal(err)
		}
		for _, c := range d.Changes {
			if c.Kind != "park_orbit" || c.Change != "added" {
				t.Errorf("after the rollback: %s %s", c.Kind, c.Change)
			}
		}
		t.Logf("%d park orbits refused", refused)
		if len(d.Changes) != refused {
			t.Errorf("%d park orbits left, %d refused:\n%s", len(d.Changes), refused, errs)
		}
		return
	}
}
