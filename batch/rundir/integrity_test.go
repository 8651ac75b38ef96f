package rundir_test

import (
	"os"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

// An edited plan.json is refused: a run carries on only with its own plan.
func TestReadPlanRefusesAnEditedPlan(t *testing.T) {
	state := t.TempDir()
	p := &batch.Plan{Version: plan.Version, Adapter: "stub", Ops: []*batch.Op{{ID: 0, Kind: "site", Key: "HQ", Action: batch.OpCreate}}}
	d, err := rundir.CreateWithPlan(state, rundir.Meta{Target: "lab", Input: "in.xlsx"}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Meta().PlanSHA256 == "" {
		t.Fatal("meta.json records no plan SHA-256")
	}
	if _, err := d.ReadPlan(); err != nil {
		t.Fatalf("the run's own plan: %v", err)
	}
	p.Ops[0].Action = batch.OpDelete
	if err := plan.Save(d.File(rundir.PlanFile), p); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadPlan(); err == nil || !strings.Contains(err.Error(), "changed since run "+d.ID) {
		t.Errorf("edited plan read as %v, want it refused", err)
	}
}

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
