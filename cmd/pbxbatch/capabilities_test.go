package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
)

func TestHTTPTargetWithoutURLIsRefusedNamingTheFix(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pbxbatch.yaml")
	if err := os.WriteFile(cfg, []byte("targets:\n  lab:\n    adapter: mxone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadTarget(&globalOptions{config: cfg}, "lab", nil)
	if err == nil || !strings.Contains(err.Error(), "target lab") || !strings.Contains(err.Error(), "has no url") {
		t.Fatalf("err %v, want target lab has no url", err)
	}
}

func TestEndOfRunStepOutcomeIsPrintedPerServer(t *testing.T) {
	var out, errs bytes.Buffer
	failed := &batch.Step{Status: batch.StatusFailed, Changed: []string{"extension"}, Message: "publishing failed on rec-2",
		StepResult: adapters.StepResult{Parts: []adapters.StepPart{{Name: "rec-1", OK: true}, {Name: "rec-2", Message: "timeout"}}}}
	if !writeStep(&out, &errs, failed) {
		t.Error("a failed step is not reported as undone")
	}
	if out.Len() != 0 || !strings.Contains(errs.String(), "end-of-run step (extension): failed: publishing failed on rec-2") ||
		!strings.Contains(errs.String(), "  rec-2: FAILED timeout") || !strings.Contains(errs.String(), "  rec-1: ok") {
		t.Errorf("stdout %q, stderr %q", out.String(), errs.String())
	}
	out.Reset()
	errs.Reset()
	if writeStep(&out, &errs, &batch.Step{Status: batch.StatusSucceeded, Changed: []string{"extension"}}) || errs.Len() != 0 || !strings.Contains(out.String(), "succeeded") {
		t.Errorf("a step that succeeded: stdout %q, stderr %q", out.String(), errs.String())
	}
}
