package main

// End-to-end tests of the sipXcom rollout through the real CLI, against
// the sipx simulator: what issue 6 says must hold.

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/sim"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

const sipxRollout = "../../testdata/sipx/rollout.xlsx"

// newSipxEnv starts a sipx simulator and a config naming it "lab"; the
// returned env runs the CLI like the MX-ONE tests do.
func newSipxEnv(t *testing.T, o simkit.Options) (*cliEnv, *sim.Sim) {
	t.Helper()
	o.Username, o.Password = "superadmin", "e2e-secret-pw"
	srv, s, err := sim.Start("127.0.0.1:0", sim.Options{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pbxbatch.yaml")
	body := "targets:\n  lab:\n    adapter: sipx\n    url: " + srv.URL + "\n    username: superadmin\n    password_env: " + e2ePasswordEnv +
		"\n    rate: 2000\n    concurrency: 8\n    timeout: 2s\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(e2ePasswordEnv, "e2e-secret-pw")
	return &cliEnv{t: t, dir: dir, global: []string{"--config", cfg, "--state-dir", filepath.Join(dir, "state")}}, s
}

// assertSipxRollout checks the simulator holds the sample rollout.
func assertSipxRollout(t *testing.T, s *sim.Sim) {
	t.Helper()
	snap := s.Snapshot()
	lines := 0
	for _, p := range snap.Phones {
		lines += len(p.Lines)
	}
	if len(snap.Users) != 321 || len(snap.Phones) != 300 || lines != 330 || len(snap.CallGroups) != 12 || len(snap.ParkOrbits) != 4 || len(snap.Permissions) != 13 {
		t.Fatalf("simulator holds %d users (with superadmin), %d phones, %d lines, %d call groups, %d park orbits, %d permissions; want 321, 300, 330, 12, 4, 13",
			len(snap.Users), len(snap.Phones), lines, len(snap.CallGroups), len(snap.ParkOrbits), len(snap.Permissions))
	}
	if n := s.Stats().Snapshot().TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate-create attempts reached the simulator: %v", n, s.Stats().Snapshot().DuplicateCreates)
	}
}

func TestSipxRolloutAppliesAndReappliesAsNoops(t *testing.T) {
	e, s := newSipxEnv(t, simkit.Options{})
	out := e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", sipxRollout)
	if !strings.Contains(out, "0 failed, 0 blocked") {
		t.Errorf("apply summary does not say zero failures:\n%s", tail(out))
	}
	assertSipxRollout(t, s)
	out = e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", sipxRollout)
	if !strings.Contains(out, "0 created, 0 updated, 0 deleted") {
		t.Errorf("re-apply should change nothing:\n%s", tail(out))
	}
}

// TestSipxKillAndResumeEndsInTheSameState kills apply with SIGKILL at
// random moments, resumes the run each time, and checks the PBX ends up
// holding exactly the rollout, with no create sent twice.
func TestSipxKillAndResumeEndsInTheSameState(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	e, s := newSipxEnv(t, simkit.Options{Latency: 3 * time.Millisecond})
	killAndResume(t, e.global, rand.New(rand.NewPCG(6, 6)), 500, "apply", "--yes", "--target", "lab", "--progress", "none", sipxRollout)
	assertSipxRollout(t, s)
}
