package run_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

// The crash test re-executes this test binary as "apply" in a child
// process (TestMain sees the environment variable) against the stub served
// over loopback HTTP by the parent, so the target's state survives the
// child being killed.
const (
	childEnv    = "PBXBATCH_RUN_CRASH_CHILD"
	childURL    = "PBXBATCH_RUN_CRASH_URL"
	childState  = "PBXBATCH_RUN_CRASH_STATE"
	childPlan   = "PBXBATCH_RUN_CRASH_PLAN" // "vusers": batchPlan, else crashPlan
	crashRunIDs = "run-id"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

func crashPlan() *builder { return rollout(5, 150, 2) }

// batchPlan is the plan of the batch crash test: virtual users, created in
// batches of 10.
func batchPlan() *builder { return vusers(2000) }

// crashChild applies crashPlan, resuming the run whose id is in the state
// directory if there is one. Exit status: 0 done, 3 failures, 1 error.
func crashChild() int {
	ctx := context.Background()
	state := os.Getenv(childState)
	b := crashPlan()
	if os.Getenv(childPlan) == "vusers" {
		b = batchPlan()
	}
	conn, err := stub.New().Open(ctx, adapters.Target{URL: os.Getenv(childURL), Timeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var d *rundir.Dir
	var prior map[int]journal.Entry
	if id, err := os.ReadFile(filepath.Join(state, crashRunIDs)); err == nil {
		if d, err = rundir.Open(state, string(id)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if prior, err = journal.Replay(d.File(rundir.JournalFile)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	} else {
		if d, err = rundir.Create(state, rundir.Meta{Adapter: "stub", Target: "crash", Input: "generated"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := d.WritePlan(masked(b)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		tmp := filepath.Join(state, crashRunIDs+".tmp")
		if err := os.WriteFile(tmp, []byte(d.ID), 0o600); err != nil || os.Rename(tmp, filepath.Join(state, crashRunIDs)) != nil {
			fmt.Fprintln(os.Stderr, "saving the run id failed")
			return 1
		}
	}
	fmt.Println("ready") // the parent's kill timer starts now
	defer d.Close()
	j, err := journal.Open(d.File(rundir.JournalFile))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out, runErr := run.Run(ctx, conn, b.p, b.kinds, run.Options{Concurrency: 4, Journal: j, Prior: prior, BatchSize: 10})
	if err := errors.Join(runErr, j.Close(), d.Finish(out.Counts, "", runErr)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if !out.Counts.Complete() {
		fmt.Fprintf(os.Stderr, "counts %+v\n", out.Counts)
		return 3
	}
	return 0
}

// masked is the plan as it is saved: secrets replaced by the mask.
func masked(b *builder) *batch.Plan {
	p := *b.p
	p.Ops = nil
	for _, op := range b.p.Ops {
		c := *op
		c.Record = b.kinds.Kind(op.Kind).Redact(op.Record)
		p.Ops = append(p.Ops, &c)
	}
	return &p
}

func TestKill9AtRandomMomentsThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs subprocesses")
	}
	a := stub.New()
	a.SetLatency(10 * time.Millisecond)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	state := t.TempDir()
	kills := killAndResume(t, srv.URL, state)

	b := crashPlan()
	st := a.Stats()
	if st.DuplicateCreates != 0 || st.Creates != len(b.p.Ops) {
		t.Fatalf("target saw %d creates (want %d) and %d duplicate creates (want 0)", st.Creates, len(b.p.Ops), st.DuplicateCreates)
	}
	clean := stub.New()
	if _, err := run.Run(context.Background(), open(t, clean), b.p, b.kinds, run.Options{}); err != nil {
		t.Fatal(err)
	}
	equalStates(t, a, clean)

	id, err := os.ReadFile(filepath.Join(state, crashRunIDs))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := rundir.List(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		// A child killed between creating its run and saving the id leaves
		// a run that never sent anything.
		if r.ID != string(id) && (r.Counts.Created != 0 || r.Counts.InFlight != 0) {
			t.Errorf("stray run %+v", r)
		}
	}
	runs = slices.DeleteFunc(runs, func(r rundir.Info) bool { return r.ID != string(id) })
	if len(runs) != 1 {
		t.Fatalf("run %s missing from %+v", id, runs)
	}
	if r := runs[0]; r.State != rundir.Succeeded || r.Counts.Created != len(b.p.Ops) || r.Resumes < 1 || r.Resumes > kills {
		t.Errorf("run %+v, want succeeded with every create counted, resumed 1 to %d times", r, kills)
	}
	entries, err := journal.Read(filepath.Join(runs[0].Dir, rundir.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	readBack := 0
	for _, e := range entries {
		if strings.Contains(e.Message, "read back") {
			readBack++
		}
	}
	t.Logf("%d creates that landed while their process died were confirmed by reading back", readBack)
	if kills >= 3 && readBack == 0 {
		t.Error("no kill caught a write in flight: the test did not exercise the unknown outcome")
	}
	plan := readFile(t, filepath.Join(runs[0].Dir, rundir.PlanFile))
	raw := readFile(t, filepath.Join(runs[0].Dir, rundir.JournalFile))
	if strings.Contains(plan, `"4321"`) || strings.Contains(raw, `"4321"`) {
		t.Error("a PIN reached the run directory")
	}
}

// killAndResume runs the crash child against the stub served at url,
// killing it with SIGKILL at random moments up to five times, then lets a
// last resume finish; env selects the child's plan. It returns the kills.
func killAndResume(t *testing.T, url, state string, env ...string) int {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)

	kills, finished := 0, false
	for attempt := 0; attempt < 12 && !finished; attempt++ {
		var stderr bytes.Buffer
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(append(os.Environ(), childEnv+"=1", childURL+"="+url, childState+"="+state), env...)
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan struct{})
		exited := make(chan error, 1)
		go func() {
			if line, _ := bufio.NewReader(stdout).ReadString('\n'); line == "ready\n" {
				close(ready)
			}
			_, _ = io.Copy(io.Discard, stdout)
			exited <- cmd.Wait()
		}()
		if kills < 5 {
			select {
			case <-ready:
			case err := <-exited:
				t.Fatalf("child failed before starting: %v\n%s", err, stderr.String())
			}
			select {
			case err := <-exited:
				finished = err == nil
				if err != nil {
					t.Fatalf("child failed before being killed: %v\n%s", err, stderr.String())
				}
			case <-time.After(time.Duration(50+rng.IntN(350)) * time.Millisecond):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-exited
				kills++
			}
			continue
		}
		if err := <-exited; err != nil {
			t.Fatalf("resume %d: %v\n%s", attempt, err, stderr.String())
		}
		finished = true
	}
	if !finished {
		t.Fatal("the run did not finish after the kills")
	}
	t.Logf("killed %d times", kills)
	return kills
}
