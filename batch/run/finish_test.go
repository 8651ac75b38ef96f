package run_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/run"
)

// landedFinishes counts the end-of-run step's calls that took effect, per
// server.
func landedFinishes(a *stub.Adapter) map[string]int {
	out := map[string]int{}
	for _, c := range a.Calls() {
		if c.Op == "finish" && c.Landed {
			out[c.Key]++
		}
	}
	return out
}

func TestEndOfRunStepRunsOnceAfterEveryWrite(t *testing.T) {
	b := vusers(12)
	a := stub.New()
	a.SetServers("pbx-1", "pbx-2")
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{BatchSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	s := out.Step
	if s == nil || s.Status != batch.StatusSucceeded || len(s.Parts) != 2 || !s.Parts[0].OK || s.Parts[1].Name != "pbx-2" {
		t.Fatalf("step %+v, want succeeded on pbx-1 and pbx-2", s)
	}
	if got := landedFinishes(a); got["pbx-1"] != 1 || got["pbx-2"] != 1 {
		t.Fatalf("step calls per server %v, want one each", got)
	}
	var lastWrite, firstFinish int64
	for _, c := range a.Calls() {
		switch c.Op {
		case "batch":
			lastWrite = max(lastWrite, c.End)
		case "finish":
			if firstFinish == 0 {
				firstFinish = c.Start
			}
		}
	}
	if firstFinish < lastWrite {
		t.Errorf("the step started (%d) before the last write ended (%d)", firstFinish, lastWrite)
	}
}

func TestEndOfRunStepOnlyWhenItsKindsChanged(t *testing.T) {
	b := rollout(2, 3, 1) // sites, groups, people, phones: nothing the step publishes
	a := stub.New()
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Step != nil || len(landedFinishes(a)) != 0 {
		t.Fatalf("step %+v ran (calls %v) after a run that changed none of its kinds", out.Step, landedFinishes(a))
	}
}

func TestEndOfRunStepFailureIsReportedPerServer(t *testing.T) {
	b := vusers(3)
	a := stub.New()
	a.SetServers("pbx-1", "pbx-2")
	a.AddFault(stub.Fault{Op: "finish", Key: "pbx-2", Class: adapters.Permanent, Message: "disk full on pbx-2"})
	j := openJournal(t)
	var sl sleeps
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j, Sleep: sl.sleep})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	s := out.Step
	if s == nil || s.Status != batch.StatusFailed || !strings.Contains(s.Message, "pbx-2") || !s.Parts[0].OK || s.Parts[1].OK {
		t.Fatalf("step %+v, want failed naming pbx-2, pbx-1 fine", s)
	}
	if s.Attempts != 1 {
		t.Errorf("a refusal was tried %d times, want once", s.Attempts)
	}
	e, ok, err := journal.LastStep(j.Path())
	if err != nil || !ok || e.Status != batch.StatusFailed {
		t.Fatalf("journal's step entry %+v %v %v, want failed", e, ok, err)
	}
}

// hideSteps is a connection whose end-of-run step is invisible: a run
// through it ends as if the process had died just before the step.
type hideSteps struct{ adapters.Conn }

func TestResumeRunsTheStepAfterACrashBeforeIt(t *testing.T) {
	b := vusers(4)
	a := stub.New()
	j := openJournal(t)
	path := j.Path()
	out, err := run.Run(context.Background(), hideSteps{open(t, a)}, b.p, b.kinds, run.Options{Journal: j})
	if err != nil || out.Step != nil || out.Counts.Created != 4 {
		t.Fatalf("first attempt: %v, step %+v, counts %+v", err, out.Step, out.Counts)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	out = resume(t, a, b, path)
	if out.Step == nil || out.Step.Status != batch.StatusSucceeded || out.Counts.Created != 4 {
		t.Fatalf("resume: step %+v, counts %+v; want the step run for the earlier attempt's creates", out.Step, out.Counts)
	}
	if got := landedFinishes(a)["pbx-1"]; got != 1 || a.Stats().Creates != 4 {
		t.Fatalf("%d steps, %d creates; want 1 and 4", got, a.Stats().Creates)
	}

	// Once it succeeded, resuming again neither writes nor runs it.
	out = resume(t, a, b, path)
	if out.Step == nil || out.Step.Status != batch.StatusSucceeded || landedFinishes(a)["pbx-1"] != 1 {
		t.Fatalf("second resume: step %+v, %d steps; want the recorded success and no new step", out.Step, landedFinishes(a)["pbx-1"])
	}
}

func TestResumeRunsTheStepAgainAfterACrashDuringIt(t *testing.T) {
	b := vusers(4)
	a := stub.New()
	ctx, cancel := context.WithCancel(context.Background())
	// The process "dies" while the step is under way: the run is
	// cancelled and the step's call cut off before it lands.
	a.SetLatencyFunc(func(c stub.Call) time.Duration {
		if c.Op == "finish" {
			cancel()
			return time.Minute
		}
		return 0
	})
	j := openJournal(t)
	path := j.Path()
	out, _ := run.Run(ctx, open(t, a), b.p, b.kinds, run.Options{Journal: j, DrainTimeout: time.Millisecond})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if out.Step == nil || out.Step.Status != batch.StatusPending || len(landedFinishes(a)) != 0 {
		t.Fatalf("first attempt: step %+v, landed %v; want pending and nothing published", out.Step, landedFinishes(a))
	}
	if e, ok, _ := journal.LastStep(path); !ok || e.Status != batch.StatusInFlight {
		t.Fatalf("journal's last step entry %+v, want in flight", e)
	}
	a.SetLatencyFunc(nil)
	out = resume(t, a, b, path)
	if out.Step == nil || out.Step.Status != batch.StatusSucceeded || landedFinishes(a)["pbx-1"] != 1 || a.Stats().Creates != 4 {
		t.Fatalf("resume: step %+v, landed %v, creates %d", out.Step, landedFinishes(a), a.Stats().Creates)
	}
}

func TestCancelledRunLeavesTheStepForResume(t *testing.T) {
	b := newBuilder()
	b.add("vuser", batch.OpCreate, map[string]any{"number": "5551000", "ext": "1000"})
	b.add("vuser", batch.OpCreate, map[string]any{"number": "5551001", "ext": "1001"}, "vuser/5551000")
	a := stub.New()
	ctx, cancel := context.WithCancel(context.Background())
	// Cancelled when the second create goes out, after the first is done.
	a.SetLatencyFunc(func(c stub.Call) time.Duration {
		if c.Key == "5551001" {
			cancel()
		}
		return 0
	})
	a.AddFault(stub.Fault{Key: "5551001", Class: adapters.Retryable})
	var s sleeps
	out, err := run.Run(ctx, open(t, a), b.p, b.kinds, run.Options{Sleep: s.sleep})
	if err == nil || out.Counts.Created != 1 {
		t.Fatalf("err %v, counts %+v; want the cancel reported after one create", err, out.Counts)
	}
	if out.Step == nil || out.Step.Status != batch.StatusPending || len(landedFinishes(a)) != 0 {
		t.Fatalf("step %+v, landed %v; want pending: half a rollout is never made effective", out.Step, landedFinishes(a))
	}
}

// resume runs b again against a with the journal at path as its prior
// attempt.
func resume(t *testing.T, a *stub.Adapter, b *builder, path string) *run.Outcome {
	t.Helper()
	prior, err := journal.Replay(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j, Prior: prior})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestResumeThatChangesMoreRunsTheStepAgain(t *testing.T) {
	b := vusers(3)
	a := stub.New()
	// The first attempt fails one row; its step publishes the other two.
	a.AddFault(stub.Fault{Op: "create", Key: "5550001", Times: 1, Class: adapters.Permanent})
	j := openJournal(t)
	path := j.Path()
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j, BatchSize: 1})
	if err != nil || out.Counts.Failed != 1 || out.Step == nil || out.Step.Status != batch.StatusSucceeded {
		t.Fatalf("first attempt: %v, counts %+v, step %+v", err, out.Counts, out.Step)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// A resume retries the failed row and dies before its step.
	prior, err := journal.Replay(path)
	if err != nil {
		t.Fatal(err)
	}
	if j, err = journal.Open(path); err != nil {
		t.Fatal(err)
	}
	out, err = run.Run(context.Background(), hideSteps{open(t, a)}, b.p, b.kinds, run.Options{Journal: j, Prior: prior})
	if err != nil || out.Counts.Created != 3 {
		t.Fatalf("second attempt: %v, counts %+v", err, out.Counts)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// The next resume changes nothing itself, but the row created after
	// the last step is not published yet: the step runs again.
	out = resume(t, a, b, path)
	if out.Step == nil || out.Step.Status != batch.StatusSucceeded || landedFinishes(a)["pbx-1"] != 2 {
		t.Fatalf("third attempt: step %+v, %d steps; want the step run a second time", out.Step, landedFinishes(a)["pbx-1"])
	}
	out = resume(t, a, b, path)
	if landedFinishes(a)["pbx-1"] != 2 || out.Step == nil || out.Step.Status != batch.StatusSucceeded {
		t.Fatalf("a resume after the step: %d steps, step %+v; want it not run again, its success reported", landedFinishes(a)["pbx-1"], out.Step)
	}
}
