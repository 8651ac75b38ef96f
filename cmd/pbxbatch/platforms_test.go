package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every command that takes a platform offers the registered ones and only
// those: the internal stub (whose schemas are embedded for the engine's
// tests) is refused by name, and each message lists what is offered.
func TestStubIsNotOffered(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "sites.csv")
	if err := os.WriteFile(csv, []byte("siteName\nHQ\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"kinds", "stub"},
		{"template", "stub", "-o", filepath.Join(dir, "stub.xlsx")},
		{"validate", "--adapter", "stub", csv},
		{"diff", "--adapter", "stub", csv, csv},
		{"sim", "stub", "--listen", "127.0.0.1:0"},
	} {
		code, out := runTemplate(args...)
		if code == exitOK || !strings.Contains(out, "stub") || !strings.Contains(out, "mxone, sipx") {
			t.Errorf("pbxbatch %s: exit %d, %s", strings.Join(args, " "), code, out)
		}
	}
	for _, args := range [][]string{{"sim", "--help"}, {"validate", "--help"}} {
		if _, out := runTemplate(args...); strings.Contains(out, "stub") || !strings.Contains(out, "mxone, sipx") {
			t.Errorf("pbxbatch %s offers the stub, or not the platforms:\n%s", strings.Join(args, " "), out)
		}
	}
}

// kinds documents the target options a platform declares.
func TestKindsListsTargetOptions(t *testing.T) {
	code, out := runTemplate("kinds", "sipx")
	if code != exitOK || !strings.Contains(out, "Target options (pbxbatch.yaml, under options:):\n  generate_profiles (boolean): regenerate") ||
		!strings.Contains(out, "  realm (string): ") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if _, out := runTemplate("kinds", "mxone"); strings.Contains(out, "Target options") {
		t.Errorf("mxone declares no options, yet:\n%s", out)
	}
}

// A misspelt option of a shipped platform stops plan before anything is
// read or sent, naming the line and the option meant.
func TestTargetOptionTypoStopsPlan(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pbxbatch.yaml")
	yaml := "targets:\n  lab:\n    adapter: sipx\n    url: https://127.0.0.1:1\n    options:\n      generate_profile: true\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runTemplate("--config", cfg, "plan", "--target", "lab", filepath.Join(dir, "absent.xlsx"))
	if code != exitError || !strings.Contains(out, "pbxbatch.yaml:6: target lab: adapter sipx has no option \"generate_profile\"; did you mean generate_profiles?") {
		t.Errorf("exit %d: %s", code, out)
	}
}
