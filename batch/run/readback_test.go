package run_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// A create that landed but ended failed (its read-back ran out of
// retries) is read back on resume, never created again.
func TestResumeReadsBackAFailedCreateThatLanded(t *testing.T) {
	b := rollout(1, 2, 0)
	a := stub.New()
	sl := &sleeps{}
	a.AddFault(stub.Fault{Op: "create", Kind: "person", Key: "u0000", Class: adapters.Unknown, Applied: true, Times: 1})
	a.AddFault(stub.Fault{Op: "get", Kind: "person", Key: "u0000", Class: adapters.Retryable})
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j, Sleep: sl.sleep})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err != nil || out.Counts.Failed != 1 {
		t.Fatalf("first run: %v, counts %+v; want the one create failed", err, out.Counts)
	}

	a.ClearFaults() // the target answers again
	prior, err := journal.Replay(path)
	if err != nil {
		t.Fatal(err)
	}
	if j, err = journal.Open(path); err != nil {
		t.Fatal(err)
	}
	out, err = run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j, Prior: prior, Sleep: sl.sleep})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err != nil || !out.Counts.Complete() {
		t.Fatalf("resume: %v, counts %+v", err, out.Counts)
	}
	if n := a.Stats().DuplicateCreates; n != 0 {
		t.Errorf("%d duplicate creates on resume: a failed create that landed was sent again", n)
	}
}

// A create found in part on the target (it landed, its second half did
// not) is finished as an update, and the journal says so.
func TestResumeFinishesAPartCreateAsAnUpdateAndJournalsIt(t *testing.T) {
	b := rollout(1, 1, 0)
	a := stub.New()
	a.Put("site", schemas.Record{"siteName": "HQ"})
	a.Put("group", schemas.Record{"groupName": "g0", "site": "HQ"})
	// The person landed without its name: a create that stopped half way.
	a.Put("person", schemas.Record{"userId": "u0000", "groups": []any{"g0"}})
	prior := map[int]journal.Entry{
		0: {Op: 0, Status: batch.StatusSucceeded, Attempt: 1},
		1: {Op: 1, Status: batch.StatusSucceeded, Attempt: 1},
		2: {Op: 2, Status: batch.StatusFailed, Attempt: 6, Message: "gave up"},
	}
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j, Prior: prior})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err != nil || !out.Counts.Complete() {
		t.Fatalf("resume: %v, counts %+v", err, out.Counts)
	}
	st := a.Stats()
	if st.DuplicateCreates != 0 || st.Calls["person/create"] != 0 || st.Calls["person/update"] != 1 {
		t.Errorf("calls %v, duplicates %d: want the person finished by one update, no create", st.Calls, st.DuplicateCreates)
	}
	if got := a.Records("person"); len(got) != 1 || got[0].String("name.last") != "u0000" {
		t.Errorf("person on the target: %v", got)
	}
	entries, err := journal.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, e := range entries {
		if e.Op == 2 {
			if e.Sent != batch.OpUpdate {
				t.Errorf("journal entry %+v does not say the create was sent as an update", e)
			}
			sent++
		}
	}
	if sent < 2 || !strings.Contains(out.Results[2].Message, "update") {
		t.Errorf("%d journal entries for the person; message %q", sent, out.Results[2].Message)
	}
}

type startEvents struct{ done, total []int }

func (s *startEvents) OnEvent(e run.Event) {
	if e.Type == run.EventStart {
		s.done, s.total = append(s.done, e.Done), append(s.total, e.Total)
	}
}

// The start of a resumed run counts what is already settled: the
// operations done before.
func TestResumeStartCountsWhatIsAlreadySettled(t *testing.T) {
	b := rollout(1, 2, 0)
	a := stub.New()
	a.Put("site", schemas.Record{"siteName": "HQ"})
	prior := map[int]journal.Entry{0: {Op: 0, Status: batch.StatusSucceeded, Attempt: 1}}
	ev := &startEvents{}
	if _, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Prior: prior, Progress: ev}); err != nil {
		t.Fatal(err)
	}
	if len(ev.done) != 1 || ev.done[0] != 1 || ev.total[0] != len(b.p.Ops) {
		t.Errorf("start events: done %v of %v, want 1 already settled of %d", ev.done, ev.total, len(b.p.Ops))
	}
}

// An operation sent in an earlier attempt and blocked in this one keeps its
// attempts in the journal: the next resume must still read it back.
func TestBlockedKeepsTheAttemptsOfEarlierRuns(t *testing.T) {
	b := rollout(1, 1, 0)
	a := stub.New()
	a.Put("site", schemas.Record{"siteName": "HQ"})
	a.AddFault(stub.Fault{Op: "create", Kind: "group", Class: adapters.Permanent})
	prior := map[int]journal.Entry{
		0: {Op: 0, Status: batch.StatusSucceeded, Attempt: 1},
		2: {Op: 2, Status: batch.StatusFailed, Attempt: 2},
	}
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j, Prior: prior}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	last, err := journal.Replay(path)
	if err != nil {
		t.Fatal(err)
	}
	if e := last[2]; e.Status != batch.StatusBlocked || e.Attempt != 2 {
		t.Errorf("person journaled as %+v, want blocked with its 2 earlier attempts", e)
	}
}
