package run_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func TestNothingStartsBeforeItsNeeds(t *testing.T) {
	b := rollout(4, 30, 2)
	a := stub.New()
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 1))
	a.SetLatencyFunc(func(stub.Call) time.Duration { // called under the stub's lock
		mu.Lock()
		defer mu.Unlock()
		return time.Duration(rng.IntN(3000)) * time.Microsecond
	})
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	if out.Counts.Created != len(b.p.Ops) {
		t.Fatalf("counts %+v, want all %d created", out.Counts, len(b.p.Ops))
	}
	writes := map[string]stub.CallRecord{}
	for _, c := range a.Calls() {
		if c.Landed {
			writes[c.Kind+"/"+c.Key] = c
		}
	}
	for _, op := range b.p.Ops {
		w := writes[op.Kind+"/"+op.Key]
		for _, n := range op.Needs {
			need := b.p.Ops[n]
			if nw := writes[need.Kind+"/"+need.Key]; nw.End >= w.Start {
				t.Errorf("%s %s started (#%d) before %s %s it needs had finished (#%d)", op.Kind, op.Key, w.Start, need.Kind, need.Key, nw.End)
			}
		}
	}
	if s := a.Stats(); s.MaxConcurrency < 2 || s.MaxConcurrency > 8 {
		t.Errorf("max concurrency seen %d, want between 2 and the cap 8", s.MaxConcurrency)
	}
}

func TestFailureBlocksExactlyItsDependentsOnce(t *testing.T) {
	b := rollout(2, 4, 1) // site, g0, g1(parent g0), u0..u3 in g0/g1 alternately, a phone each
	a := stub.New()
	a.AddFault(stub.Fault{Op: "create", Key: "g1", Class: adapters.Permanent, Message: "group g1: invalid name"})
	j := openJournal(t)
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Concurrency: 3, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	g1 := b.byKey["group/g1"]
	if r := out.Results[g1]; r.Status != batch.StatusFailed || !strings.Contains(r.Message, "invalid name") {
		t.Fatalf("g1: %+v, want failed with the target's message", r)
	}
	wantBlocked := map[int]bool{b.byKey["person/u0001"]: true, b.byKey["person/u0003"]: true, b.byKey["phone/10001 / HQ"]: true, b.byKey["phone/10003 / HQ"]: true}
	for i, r := range out.Results {
		switch {
		case wantBlocked[i]:
			if r.Status != batch.StatusBlocked || r.BlockedBy == nil || *r.BlockedBy != g1 || r.Message != "blocked by groups!3 (group g1)" {
				t.Errorf("op %d (%s %s): %+v, want blocked by groups!3 (group g1)", i, b.p.Ops[i].Kind, b.p.Ops[i].Key, r)
			}
		case i != g1:
			if r.Status != batch.StatusSucceeded {
				t.Errorf("op %d (%s %s): %+v, want succeeded", i, b.p.Ops[i].Kind, b.p.Ops[i].Key, r)
			}
		}
	}
	if out.Counts.Failed != 1 || out.Counts.Blocked != 4 || out.Counts.Created != len(b.p.Ops)-5 {
		t.Errorf("counts %+v", out.Counts)
	}
	for _, c := range a.Calls() {
		if c.Key == "u0001" || c.Key == "10003 / HQ" {
			t.Errorf("a blocked operation was sent: %+v", c)
		}
	}
	entries, _ := journal.Read(j.Path())
	blockedEntries := 0
	for _, e := range entries {
		if e.Status == batch.StatusBlocked {
			blockedEntries++
		}
	}
	if blockedEntries != 4 {
		t.Errorf("journal has %d blocked entries, want each blocked op once (4)", blockedEntries)
	}
}

func TestRetriesHonourRetryAfter(t *testing.T) {
	b := newBuilder()
	b.add("site", batch.OpCreate, schemas.Record{"siteName": "A"})
	b.add("site", batch.OpCreate, schemas.Record{"siteName": "B"})
	b.add("site", batch.OpCreate, schemas.Record{"siteName": "C"})
	a := stub.New()
	a.AddFault(stub.Fault{Op: "create", Key: "A", Times: 2, Class: adapters.Throttled, RetryAfter: 7 * time.Second})
	a.AddFault(stub.Fault{Op: "create", Key: "B", Times: 3, Class: adapters.Retryable})
	a.AddFault(stub.Fault{Op: "create", Key: "C", Class: adapters.Retryable}) // never recovers
	var s sleeps
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Concurrency: 1, Sleep: s.sleep, MaxAttempts: 5})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.Results[0]; r.Status != batch.StatusSucceeded || r.Attempts != 3 {
		t.Errorf("A (throttled twice): %+v, want succeeded at attempt 3", r)
	}
	if r := out.Results[1]; r.Status != batch.StatusSucceeded || r.Attempts != 4 {
		t.Errorf("B (3 transient faults): %+v, want succeeded at attempt 4", r)
	}
	if r := out.Results[2]; r.Status != batch.StatusFailed || r.Attempts != 5 || !strings.Contains(r.Message, "gave up after 5 attempts") {
		t.Errorf("C (always failing): %+v, want failed after 5 attempts", r)
	}
	ds := s.all()
	if len(ds) != 2+3+4 {
		t.Fatalf("waits %v, want 9 (2 for A, 3 for B, 4 for C)", ds)
	}
	honoured := 0
	for _, d := range ds {
		switch {
		case d >= 7*time.Second && d < 8*time.Second:
			honoured++
		case d < 0 || d > 2*time.Second: // 4 retries: at most 200 ms·2³
			t.Errorf("backoff %v out of the jitter window", d)
		}
	}
	if honoured != 2 {
		t.Errorf("waits %v: want the two after the 429s to honour Retry-After 7s", ds)
	}
	if st := a.Stats(); st.Calls["site/create"] != 3+4+5 {
		t.Errorf("site creates sent %d, want 12", st.Calls["site/create"])
	}
}

func TestThrottledWithRetryAfterUsesNoAttempt(t *testing.T) {
	// Ten throttled answers with Retry-After, then success, with 3 attempts
	// allowed: the target said when to come back, so waiting is not failing.
	b := newBuilder()
	b.add("site", batch.OpCreate, stub.Fixture("site", 1))
	b.add("site", batch.OpCreate, stub.Fixture("site", 2))
	a := stub.New()
	a.AddFault(stub.Fault{Op: "create", Key: "site-1", Times: 10, Class: adapters.Throttled, RetryAfter: time.Millisecond})
	a.AddFault(stub.Fault{Op: "create", Key: "site-2", Times: 10, Class: adapters.Throttled})
	var s sleeps
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Concurrency: 1, MaxAttempts: 3, Sleep: s.sleep})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Results[0]; got.Status != batch.StatusSucceeded || got.Attempts != 11 {
		t.Errorf("throttled with Retry-After: %+v, want succeeded after 11 calls", got)
	}
	if got := out.Results[1]; got.Status != batch.StatusFailed || got.Attempts != 3 {
		t.Errorf("throttled without Retry-After: %+v, want failed after 3 attempts", got)
	}
}

func TestSameRecordWritesAreSerialised(t *testing.T) {
	b := rollout(1, 5, 6) // 5 owners with 6 phones each
	a := stub.New()
	a.SetLatency(3 * time.Millisecond)
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Concurrency: 8})
	if err != nil || out.Counts.Created != len(b.p.Ops) {
		t.Fatalf("%v %+v", err, out.Counts)
	}
	s := a.Stats()
	if s.MaxPerLock != 1 {
		t.Errorf("max writes at once on one person: %d, want 1", s.MaxPerLock)
	}
	if s.MaxConcurrency < 3 {
		t.Errorf("max concurrency %d: phones of different owners should run in parallel", s.MaxConcurrency)
	}
}

func TestFailureBudget(t *testing.T) {
	for _, tc := range []struct {
		name          string
		opts          run.Options
		failed, skips int
	}{
		{"max-failures 3", run.Options{MaxFailures: 3}, 4, 16},
		{"fail-fast", run.Options{FailFast: true}, 1, 19},
		{"no budget", run.Options{}, 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder()
			for i := range 20 {
				b.add("site", batch.OpCreate, stub.Fixture("site", i))
			}
			a := stub.New()
			a.AddFault(stub.Fault{Op: "create", Class: adapters.Permanent})
			tc.opts.Concurrency = 1
			out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if out.Counts.Failed != tc.failed || out.Counts.Skipped != tc.skips {
				t.Fatalf("counts %+v, want %d failed and %d skipped", out.Counts, tc.failed, tc.skips)
			}
			for _, r := range out.Results {
				if r.Status == batch.StatusSkipped && (out.Stopped != run.StopMaxFailures || !strings.Contains(r.Message, "failure budget")) {
					t.Errorf("stopped %q, skipped %+v: want the failure budget named", out.Stopped, r)
				}
			}
			if got := a.Stats().Calls["site/create"]; got != tc.failed {
				t.Errorf("%d creates sent, want %d: nothing may start once the budget is spent", got, tc.failed)
			}
		})
	}
}

func TestUnknownOutcomesNeverDuplicateCreates(t *testing.T) {
	b := rollout(3, 40, 2)
	a := stub.New()
	a.SetSeed(3)
	a.AddFault(stub.Fault{Op: "create", Probability: 0.2, Class: adapters.Unknown, Applied: true})
	a.AddFault(stub.Fault{Op: "create", Probability: 0.1, Class: adapters.Unknown})
	a.AddFault(stub.Fault{Op: "get", Probability: 0.2, Class: adapters.Retryable})
	var s sleeps
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Concurrency: 6, Sleep: s.sleep, MaxAttempts: 20})
	if err != nil {
		t.Fatal(err)
	}
	if out.Counts.Created != len(b.p.Ops) {
		t.Fatalf("counts %+v", out.Counts)
	}
	st := a.Stats()
	if st.DuplicateCreates != 0 || st.Faults == 0 {
		t.Fatalf("duplicate creates %d (faults injected %d), want 0", st.DuplicateCreates, st.Faults)
	}
	clean := stub.New()
	if _, err := run.Run(context.Background(), open(t, clean), b.p, b.kinds, run.Options{}); err != nil {
		t.Fatal(err)
	}
	equalStates(t, a, clean)
	confirmed := 0
	for _, r := range out.Results {
		if strings.Contains(r.Message, "read back") {
			confirmed++
		}
	}
	if confirmed == 0 {
		t.Error("no create was confirmed by read-back, so the unknown-outcome path was not exercised")
	}
}

func TestConflictAfterUnknownIsReadBack(t *testing.T) {
	b := newBuilder()
	b.add("site", batch.OpCreate, schemas.Record{"siteName": "A"})
	a := stub.New()
	// The create lands but the answer is lost; the read-back then fails
	// transiently, and the create is sent again: Conflict means done.
	a.AddFault(stub.Fault{Op: "create", Times: 1, Class: adapters.Unknown, Applied: true})
	a.AddFault(stub.Fault{Op: "get", Times: 1, Class: adapters.Retryable})
	var s sleeps
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Sleep: s.sleep})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.Results[0]; r.Status != batch.StatusSucceeded {
		t.Fatalf("result %+v", r)
	}
	if st := a.Stats(); st.DuplicateCreates != 0 || st.Creates != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestCancelThenResume(t *testing.T) {
	b := rollout(3, 60, 2)
	a := stub.New()
	a.SetLatency(2 * time.Millisecond)
	jpath := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := journal.Open(jpath)
	ctx, cancel := context.WithCancel(context.Background())
	progress := run.ProgressFunc(func(e run.Event) {
		if e.Done >= 40 {
			cancel()
		}
	})
	out, err := run.Run(ctx, open(t, a), b.p, b.kinds, run.Options{Concurrency: 4, Journal: j, Progress: progress})
	j.Close()
	if !errors.Is(err, context.Canceled) || out.Stopped != run.StopCancelled {
		t.Fatalf("cancelled run: err %v, stopped %q", err, out.Stopped)
	}
	firstCreates := a.Stats().Creates
	if out.Counts.Skipped == 0 || out.Counts.Created != firstCreates || out.Counts.InFlight != 0 {
		t.Fatalf("after cancel: counts %+v with %d creates on the target; in-flight calls must finish and be recorded", out.Counts, firstCreates)
	}

	prior, err := journal.Replay(jpath)
	if err != nil {
		t.Fatal(err)
	}
	j, _ = journal.Open(jpath)
	out, err = run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Concurrency: 4, Journal: j, Prior: prior})
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out.Counts.Created != len(b.p.Ops) || !out.Counts.Complete() {
		t.Fatalf("after resume: counts %+v", out.Counts)
	}
	if st := a.Stats(); st.Creates != len(b.p.Ops) || st.DuplicateCreates != 0 || st.Calls["site/create"] != 1 {
		t.Fatalf("after resume: %+v, want each create sent once", st)
	}
}

func TestResumeReconcilesInFlightByReadingBack(t *testing.T) {
	b := newBuilder()
	landed := b.add("site", batch.OpCreate, schemas.Record{"siteName": "landed"})
	lost := b.add("site", batch.OpCreate, schemas.Record{"siteName": "lost"})
	upd := b.add("site", batch.OpUpdate, schemas.Record{"siteName": "upd", "description": "new"})
	updDone := b.add("site", batch.OpUpdate, schemas.Record{"siteName": "upd2", "description": "new"})
	del := b.add("site", batch.OpDelete, schemas.Record{"siteName": "gone"})
	b.p.Ops[upd].Before = schemas.Record{"siteName": "upd", "description": "old"}

	a := stub.New()
	a.Put("site", schemas.Record{"siteName": "landed"})
	a.Put("site", schemas.Record{"siteName": "upd", "description": "old"})
	a.Put("site", schemas.Record{"siteName": "upd2", "description": "new"})
	prior := map[int]journal.Entry{}
	for _, i := range []int{landed, lost, upd, updDone, del} {
		prior[i] = journal.Entry{Op: i, Status: batch.StatusInFlight, Attempt: 1}
	}
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Prior: prior})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Counts.Complete() {
		t.Fatalf("counts %+v results %+v", out.Counts, out.Results)
	}
	st := a.Stats()
	if st.Calls["site/create"] != 1 || st.Calls["site/update"] != 1 || st.Calls["site/delete"] != 0 || st.DuplicateCreates != 0 {
		t.Errorf("calls %v: want only the lost create and the unfinished update sent again", st.Calls)
	}
	if got := a.Records("site"); len(got) != 4 || got[2].String("description") != "new" || got[3].String("description") != "new" {
		t.Errorf("state %v", got)
	}
	if r := out.Results[landed]; r.Attempts != 1 || !strings.Contains(r.Message, "read back") {
		t.Errorf("landed create: %+v", r)
	}
}

func TestResumeSkipsWhatSucceeded(t *testing.T) {
	b := rollout(1, 3, 1)
	a := stub.New()
	prior := map[int]journal.Entry{0: {Op: 0, Status: batch.StatusSucceeded, TargetID: "site-9", Attempt: 1}}
	a.Put("site", schemas.Record{"siteName": "HQ"})
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Prior: prior})
	if err != nil || !out.Counts.Complete() {
		t.Fatalf("%v %+v", err, out.Counts)
	}
	if a.Stats().Calls["site/create"] != 0 || out.Results[0].TargetID != "site-9" {
		t.Errorf("the site done before was touched again: %v, %+v", a.Stats().Calls, out.Results[0])
	}
}

func TestRevokedCredentialsStopTheRun(t *testing.T) {
	b := rollout(2, 10, 1)
	a := stub.New()
	a.AddFault(stub.Fault{Op: "create", Kind: "person", Class: adapters.Auth, Message: "password expired"})
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Concurrency: 1})
	if !errors.Is(err, run.ErrAuth) || out.Stopped != run.StopAuth {
		t.Fatalf("err %v stopped %q, want ErrAuth", err, out.Stopped)
	}
	if out.Counts.Failed != 1 || out.Counts.Skipped == 0 || a.Stats().Calls["person/create"] != 1 {
		t.Errorf("counts %+v calls %v: want one failure, the rest skipped, no more person creates", out.Counts, a.Stats().Calls)
	}
}

func TestMaskedSecretIsNeverSent(t *testing.T) {
	b := rollout(1, 1, 0)
	b.p.Ops[2].Record["pin"] = schemas.Mask
	a := stub.New()
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.Results[2]; r.Status != batch.StatusFailed || !strings.Contains(r.Message, "secret field pin") {
		t.Fatalf("result %+v", r)
	}
	if a.Stats().Calls["person/create"] != 0 {
		t.Error("a masked PIN was sent to the target")
	}
}

func TestJournalHasNoSecretsAndBeforeImages(t *testing.T) {
	b := newBuilder()
	b.add("site", batch.OpCreate, schemas.Record{"siteName": "HQ"})
	b.add("group", batch.OpCreate, schemas.Record{"groupName": "g", "site": "HQ"}, "site/HQ")
	id := b.add("person", batch.OpUpdate, schemas.Record{"userId": "u", "pin": "98765", "groups": []any{"g"}}, "group/g")
	b.p.Ops[id].Before = schemas.Record{"userId": "u", "pin": "11111"}
	a := stub.New()
	a.Put("person", schemas.Record{"userId": "u", "pin": "11111"})
	j := openJournal(t)
	if _, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	entries, _ := journal.Read(j.Path())
	var sawBefore bool
	for _, e := range entries {
		if e.Op == id && e.Status == batch.StatusSucceeded {
			sawBefore = e.Before.String("pin") == schemas.Mask && e.Before.String("userId") == "u"
		}
	}
	raw := readFile(t, j.Path())
	if strings.Contains(raw, "98765") || strings.Contains(raw, "11111") || !sawBefore {
		t.Fatalf("journal leaks a PIN or lacks the masked before-image:\n%s", raw)
	}
}

func TestPlanWithCycleIsRefused(t *testing.T) {
	b := newBuilder()
	b.add("site", batch.OpCreate, schemas.Record{"siteName": "A"})
	b.add("site", batch.OpCreate, schemas.Record{"siteName": "B"}, "site/A")
	b.p.Ops[0].Needs = []int{1}
	_, err := run.Run(context.Background(), open(t, stub.New()), b.p, b.kinds, run.Options{})
	if err == nil || !strings.Contains(err.Error(), "sites!2 (site A)") {
		t.Fatalf("err %v, want a cycle naming the rows", err)
	}
}

func TestTerminalOffATerminalWritesPlainLines(t *testing.T) {
	var buf bytes.Buffer
	p := run.NewTerminal(&buf, time.Nanosecond)
	b := rollout(1, 5, 1)
	if _, err := run.Run(context.Background(), open(t, stub.New()), b.p, b.kinds, run.Options{Progress: p}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "\r") || !strings.Contains(out, "ops/s") || !strings.Contains(out, "12/12 done in") {
		t.Fatalf("log output:\n%s", out)
	}
}

func TestCallsCutOffAfterCancelStayInFlightForResume(t *testing.T) {
	b := newBuilder()
	for i := range 10 {
		b.add("site", batch.OpCreate, stub.Fixture("site", i))
	}
	a := stub.New()
	a.SetLatency(400 * time.Millisecond)
	j := openJournal(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	out, err := run.Run(ctx, open(t, a), b.p, b.kinds, run.Options{Concurrency: 4, Journal: j, DrainTimeout: time.Millisecond})
	j.Close()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if out.Counts.InFlight != 4 || out.Counts.Failed != 0 || out.Counts.Skipped != 6 {
		t.Fatalf("counts %+v: calls cut off by the drain timeout must stay in flight, not fail", out.Counts)
	}
	prior, err := journal.Replay(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	a.SetLatency(0)
	out, err = run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Prior: prior})
	if err != nil || out.Counts.Created != 10 {
		t.Fatalf("resume: %v, %+v", err, out.Counts)
	}
	if st := a.Stats(); st.DuplicateCreates != 0 || len(a.Records("site")) != 10 {
		t.Fatalf("after resume: %+v", st)
	}
}

func TestResumeWithoutLocksRunsEachOperationOnce(t *testing.T) {
	b := rollout(3, 6, 1)
	for _, op := range b.p.Ops {
		op.Locks = nil // without locks nothing else would serialise a double dispatch
	}
	a := stub.New()
	a.Put("site", schemas.Record{"siteName": "HQ"})
	prior := map[int]journal.Entry{0: {Op: 0, Status: batch.StatusSucceeded, Attempt: 1}}
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Concurrency: 8, Prior: prior})
	if err != nil || !out.Counts.Complete() {
		t.Fatalf("%v %+v", err, out.Counts)
	}
	for _, c := range a.Calls() {
		if c.Op == "create" && !c.Landed {
			t.Errorf("%s %s was sent twice", c.Kind, c.Key)
		}
	}
}
