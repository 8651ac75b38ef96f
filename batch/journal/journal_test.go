package journal_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
)

func TestTornTailIsIgnoredAndCutOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Sync(journal.Entry{Op: 1, Status: batch.StatusInFlight, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	j.Append(journal.Entry{Op: 1, Status: batch.StatusSucceeded, TargetID: "site-1"})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of the next write.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"op":2,"status":"in_fl`)
	f.Close()

	last, err := journal.Replay(path)
	if err != nil {
		t.Fatalf("Replay of a torn journal: %v", err)
	}
	if len(last) != 1 || last[1].Status != batch.StatusSucceeded || last[1].TargetID != "site-1" {
		t.Fatalf("Replay = %+v, want op 1 succeeded only", last)
	}

	j, err = journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Sync(journal.Entry{Op: 2, Status: batch.StatusInFlight, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	data, _ := os.ReadFile(path)
	if strings.Count(string(data), "\n") != 3 {
		t.Fatalf("the torn tail was not cut before appending:\n%s", data)
	}
	entries, err := journal.Read(path)
	if err != nil || len(entries) != 3 {
		t.Fatalf("Read = %d entries, %v; want 3", len(entries), err)
	}
}

func TestCrashBetweenInFlightAndOutcome(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := journal.Open(path)
	j.Sync(journal.Entry{Op: 7, Status: batch.StatusInFlight, Attempt: 2, Kind: "site", Key: "HQ"})
	// No Close: the process dies here. Sync returned, so the mark is on disk.
	last, err := journal.Replay(path)
	if err != nil {
		t.Fatal(err)
	}
	if e := last[7]; e.Status != batch.StatusInFlight || e.Attempt != 2 || e.Key != "HQ" {
		t.Fatalf("after a crash the in-flight mark must be on disk: %+v", e)
	}
	j.Close()
}

func TestDamagedMiddleLineIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	os.WriteFile(path, []byte("{\"op\":1,\"status\":\"succeeded\"}\nnot json\n{\"op\":2,\"status\":\"succeeded\"}\n"), 0o600)
	if _, err := journal.Read(path); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("Read of a journal damaged on line 2: %v, want an error naming line 2", err)
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				op := w*each + i
				if err := j.Sync(journal.Entry{Op: op, Status: batch.StatusInFlight, Attempt: 1}); err != nil {
					t.Error(err)
					return
				}
				j.Append(journal.Entry{Op: op, Status: batch.StatusSucceeded})
			}
		})
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := journal.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2*writers*each {
		t.Fatalf("%d entries, want %d", len(entries), 2*writers*each)
	}
	seenInFlight := map[int]bool{}
	for _, e := range entries {
		switch e.Status {
		case batch.StatusInFlight:
			seenInFlight[e.Op] = true
		case batch.StatusSucceeded:
			if !seenInFlight[e.Op] {
				t.Fatalf("op %d: outcome written before its in-flight mark", e.Op)
			}
		}
	}
}

func TestSyncAfterCloseFails(t *testing.T) {
	j, _ := journal.Open(filepath.Join(t.TempDir(), "j"))
	j.Close()
	if err := j.Sync(journal.Entry{Op: 1, Status: batch.StatusInFlight}); err != journal.ErrClosed {
		t.Fatalf("Sync after Close = %v, want ErrClosed", err)
	}
}

// A complete last line that does not decode is torn too: Open cuts it, so
// the next append does not bury it where Read would refuse the journal.
func TestUndecodableLastLineIsCutOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	good := `{"op":1,"status":"succeeded","at":"2026-11-22T08:00:00Z"}` + "\n"
	if err := os.WriteFile(path, []byte(good+`{"op":2,"status":"in_fl`+"\x00\x00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Sync(journal.Entry{Op: 3, Status: batch.StatusInFlight}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := journal.Read(path)
	if err != nil {
		t.Fatalf("journal unreadable after a torn line and an append: %v", err)
	}
	if len(got) != 2 || got[0].Op != 1 || got[1].Op != 3 {
		t.Errorf("entries %+v, want ops 1 and 3", got)
	}
}
