package rundir_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

func TestLockNamesTheHolder(t *testing.T) {
	state := t.TempDir()
	d, err := rundir.Create(state, rundir.Meta{Target: "lab", Adapter: "stub", Input: "users.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rundir.Open(state, d.ID)
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Fatalf("second Open of a held run: %v, want an error naming pid %d", err, os.Getpid())
	}
	d.Close()
	d2, err := rundir.Open(state, d.ID)
	if err != nil {
		t.Fatalf("Open after the holder let go: %v", err)
	}
	if m := d2.Meta(); m.Resumes != 1 || m.State != rundir.Running || m.Target != "lab" {
		t.Errorf("meta after resume = %+v", m)
	}
	d2.Close()
}

func TestOpenRejectsBadIDs(t *testing.T) {
	state := t.TempDir()
	for _, id := range []string{"../../etc", "20261122-083012-zzzz", "20261122-083012-ab12"} {
		if _, err := rundir.Open(state, id); err == nil || !strings.Contains(err.Error(), "runs") {
			t.Errorf("Open(%q) = %v, want an error pointing at pbxbatch runs", id, err)
		}
	}
}

func TestListNewestFirstWithCounts(t *testing.T) {
	state := t.TempDir()
	pl := &batch.Plan{Version: plan.Version, Ops: []*batch.Op{{ID: 0, Action: batch.OpCreate}, {ID: 1, Action: batch.OpUpdate}, {ID: 2, Action: batch.OpCreate}}}

	first, _ := rundir.Create(state, rundir.Meta{Target: "lab", Input: "a.xlsx", Started: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)})
	first.WritePlan(pl)
	var c batch.RunCounts
	c.Add(batch.OpCreate, batch.StatusSucceeded)
	c.Add(batch.OpUpdate, batch.StatusFailed)
	first.Finish(c, "", nil)
	first.Close()

	// Within the same second as the next run: List orders by start time,
	// not by id alone.
	// A run that crashed: meta says running, the lock is gone, the journal
	// knows two operations.
	crashed, _ := rundir.Create(state, rundir.Meta{Target: "lab", Input: "b.xlsx"})
	crashed.WritePlan(pl)
	j, _ := journal.Open(crashed.File(rundir.JournalFile))
	j.Append(journal.Entry{Op: 0, Action: batch.OpCreate, Status: batch.StatusSucceeded})
	j.Append(journal.Entry{Op: 1, Action: batch.OpUpdate, Status: batch.StatusInFlight, Attempt: 1})
	j.Close()
	crashed.Close()

	runs, err := rundir.List(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != crashed.ID || runs[1].ID != first.ID {
		t.Fatalf("List = %+v, want the crashed run first", runs)
	}
	if runs[1].State != rundir.Partial || runs[1].Counts.Failed != 1 {
		t.Errorf("finished run: state %s counts %+v, want partial with 1 failed", runs[1].State, runs[1].Counts)
	}
	got := runs[0].Counts
	if runs[0].State != rundir.Interrupted || got.Created != 1 || got.InFlight != 1 || got.Pending != 1 || got.Planned != 3 {
		t.Errorf("crashed run: state %s counts %+v, want interrupted, 1 created, 1 in flight, 1 pending of 3", runs[0].State, got)
	}
	p, err := plan.Load(filepath.Join(runs[0].Dir, rundir.PlanFile))
	if err != nil || len(p.Ops) != 3 {
		t.Fatalf("ReadPlan: %v, %v", p, err)
	}
}

func TestCreateWithPlanAppearsWithItsPlan(t *testing.T) {
	state := t.TempDir()
	p := &batch.Plan{Version: plan.Version, Adapter: "stub", Ops: []*batch.Op{{ID: 0, Kind: "site", Key: "HQ", Action: batch.OpCreate}}}
	d, err := rundir.CreateWithPlan(state, rundir.Meta{Target: "lab", Input: "in.xlsx"}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := d.ReadPlan()
	if err != nil || len(got.Ops) != 1 || got.Ops[0].Key != "HQ" {
		t.Fatalf("plan in the new run: %+v, %v", got, err)
	}
	if d.Meta().Ops != 1 {
		t.Errorf("meta counts %d ops, want 1", d.Meta().Ops)
	}
	// An edited plan.json is refused: a run carries on only with its own.
	if d.Meta().PlanSHA256 == "" {
		t.Fatal("meta.json records no plan SHA-256")
	}
	p.Ops[0].Action = batch.OpDelete
	if err := plan.Save(d.File(rundir.PlanFile), p); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadPlan(); err == nil || !strings.Contains(err.Error(), "changed since run "+d.ID) {
		t.Errorf("edited plan read as %v, want it refused", err)
	}
}
