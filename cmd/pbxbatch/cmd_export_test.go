package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// Issue 5's round trip against the MX-ONE simulator: export a populated
// system, apply the export to an empty one, export that: diff finds them
// identical; re-planning the export against its own source changes
// nothing; and a real change shows up in diff with exit status 2.
func TestMXONEExportRoundTripAndDiff(t *testing.T) {
	src := newMXONEEnv(t, simkit.Options{})
	rollout := filepath.Join(src.dir, "rollout.xlsx")
	writeRollout(t, rollout, smallRollout)
	src.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", rollout)

	first := filepath.Join(src.dir, "first.xlsx")
	out := src.mustCLI(exitOK, "export", "--target", "lab", "-o", first)
	if !strings.Contains(out, "users") || strings.Contains(out, "e2e-secret-pw") {
		t.Errorf("export output:\n%s", out)
	}
	out = src.mustCLI(exitOK, "export", "--verify", first)
	if !strings.Contains(out, "Unchanged since export") {
		t.Errorf("verify output:\n%s", out)
	}
	// An unmodified export applied back to its source is all no-ops.
	out = src.mustCLI(exitOK, "plan", "--target", "lab", first)
	if !strings.Contains(strings.ToLower(out), "no changes") {
		t.Errorf("re-planning the export against its source:\n%s", tail(out))
	}

	dst := newMXONEEnv(t, simkit.Options{})
	dst.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", first)
	second := filepath.Join(dst.dir, "second.xlsx")
	dst.mustCLI(exitOK, "export", "--target", "lab", "-o", second)
	out = dst.mustCLI(exitOK, "diff", first, second)
	if !strings.Contains(out, "No differences") {
		t.Errorf("diff of the round trip:\n%s", tail(out))
	}

	// A CSV export of the copy, one e-mail changed and applied: diff says so.
	csvDir := filepath.Join(dst.dir, "csv")
	dst.mustCLI(exitOK, "export", "--target", "lab", "-o", csvDir)
	users := filepath.Join(csvDir, "users.csv")
	b, err := os.ReadFile(users)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	header := strings.Split(lines[0], ",")
	col := -1
	for i, h := range header {
		if strings.EqualFold(h, "emailAddress") || strings.EqualFold(h, "email") {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("no e-mail column in %v", header)
	}
	cells := strings.Split(lines[1], ",")
	cells[col] = "changed@example.com"
	lines[1] = strings.Join(cells, ",")
	os.WriteFile(users, []byte(strings.Join(lines, "\n")), 0o644)
	if code, _, _ := dst.cli("export", "--verify", csvDir); code != exitError {
		t.Errorf("verify of an edited export: exit %d, want 1", code)
	}
	dst.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", users)
	third := filepath.Join(dst.dir, "third.xlsx")
	dst.mustCLI(exitOK, "export", "--target", "lab", "-o", third)
	out = dst.mustCLI(exitChanges, "diff", first, third)
	if !strings.Contains(out, "changed@example.com") || !strings.Contains(out, "1 changed") {
		t.Errorf("diff after a change:\n%s", tail(out))
	}
	js := dst.mustCLI(exitChanges, "diff", "--format", "json", first, third)
	if !strings.Contains(js, `"identical": false`) {
		t.Errorf("json diff:\n%s", tail(js))
	}
	report := filepath.Join(dst.dir, "drift.xlsx")
	dst.mustCLI(exitChanges, "diff", "--format", "xlsx", "-o", report, first, third)
	if _, err := os.Stat(report); err != nil {
		t.Error(err)
	}
	if code, _, errs := dst.cli("diff", first, filepath.Join(dst.dir, "missing.xlsx")); code != exitError {
		t.Errorf("diff with a missing input: exit %d\n%s", code, errs)
	}
}
