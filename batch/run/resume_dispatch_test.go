package run_test

import (
	"context"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Resuming settles the operations done before, which makes their dependents
// ready; those must still run once each. (They once ran twice, and with
// latency the second create raced the first into a duplicate.)
func TestResumeRunsReadiedDependentsOnce(t *testing.T) {
	b := rollout(3, 6, 1)
	a := stub.New()
	a.SetLatency(5 * time.Millisecond)
	a.Put("site", schemas.Record{"siteName": "HQ"})
	prior := map[int]journal.Entry{0: {Op: 0, Status: batch.StatusSucceeded, Attempt: 1}}
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Concurrency: 8, Prior: prior})
	if err != nil || !out.Counts.Complete() {
		t.Fatalf("%v %+v", err, out.Counts)
	}
	st := a.Stats()
	if st.Calls["group/create"] != 3 {
		t.Errorf("group creates = %d, want 3 (one per group)", st.Calls["group/create"])
	}
	if st.DuplicateCreates != 0 {
		t.Errorf("%d duplicate creates on resume", st.DuplicateCreates)
	}
}
