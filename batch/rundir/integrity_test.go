package rundir_test

import (
	"os"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

// A damaged journal line does not hide the run: List shows it with the
// error and the way forward.
func TestListShowsADamagedJournal(t *testing.T) {
	state := t.TempDir()
	d, err := rundir.Create(state, rundir.Meta{Target: "lab", Input: "in.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(d.File(rundir.JournalFile), []byte("{\"op\":0,\"status\":\"in_flight\"}\n{garbage\n{\"op\":1,\"status\":\"in_flight\"}\n"), 0o600)
	d.Close()
	runs, err := rundir.List(state)
	if err != nil || len(runs) != 1 {
		t.Fatalf("List: %v %v", runs, err)
	}
	r := runs[0]
	if r.Target != "lab" || !strings.Contains(r.Error, "damaged journal entry") || !strings.Contains(r.Error, "--from-target") {
		t.Errorf("run listed as %+v, want its target and the journal error with the way forward", r)
	}
}
