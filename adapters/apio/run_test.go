package apio_test

import (
	"context"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters/apio"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// TestRefusedBatchIsReadBackNotResent: a plan's batch that APIO refuses
// (one of its users appeared after planning) is not sent again: the runner
// reads each member back, the one that is there is done, the others go
// alone.
func TestRefusedBatchIsReadBackNotResent(t *testing.T) {
	ts := startSim(t, simkit.Options{}, nil)
	c := open(t, ts)
	cs := creates(10, 0, true)
	p := &batch.Plan{Version: 1, Adapter: "apio", Target: "sim"}
	k := apio.New().Kinds().Kind(apio.Kind)
	for i, ch := range cs {
		p.Ops = append(p.Ops, &batch.Op{ID: i, Kind: apio.Kind, Key: k.KeyOf(ch.Record), Action: batch.OpCreate, Record: ch.Record,
			Origin: diag.Origin{Sheet: "virtual_users", Row: 2 + i}})
	}
	if _, err := c.Apply(context.Background(), cs[4]); err != nil { // lands after planning
		t.Fatal(err)
	}
	before := ts.sim.Stats().Requests["POST "+usersPattern]
	out, err := run.Run(context.Background(), c, p, apio.New().Kinds(), run.Options{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if out.Counts.Created != 10 || len(ts.sim.Users()) != 10 {
		t.Fatalf("counts %+v, %d users on the target; want 10 created", out.Counts, len(ts.sim.Users()))
	}
	// One refused range POST, then the 9 absent members one by one.
	if n := ts.sim.Stats().Requests["POST "+usersPattern] - before; n != 10 {
		t.Errorf("%d create POSTs, want 10 (the refused batch, then 9 alone)", n)
	}
	if d := ts.sim.Stats().TotalDuplicateCreates(); d != 1 {
		t.Errorf("%d duplicate creates, want only the refused batch's 1", d)
	}
}
