package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/batch/report"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/internal/config"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	root := newRootCmd()
	root.SetArgs([]string{"version"})
	root.SetOut(&out)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	v := readBuildVersion()
	if !strings.HasPrefix(out.String(), "pbxbatch "+v.String()+"\n") || v.Version == "" {
		t.Errorf("version prints %q, want %q", out.String(), v)
	}
	root = newRootCmd()
	out.Reset()
	root.SetArgs([]string{"--version"})
	root.SetOut(&out)
	if err := root.Execute(); err != nil || out.String() != "pbxbatch "+v.String()+"\n" {
		t.Errorf("--version prints %q (%v)", out.String(), err)
	}
	// Tests build without VCS stamping (CI passes -buildvcs=false): both
	// forms must read well.
	for _, c := range []struct {
		v    buildVersion
		want string
	}{
		{buildVersion{Version: "v1.2.0", Commit: "0123456789abcdef0123"}, "v1.2.0 (commit 0123456789ab)"},
		{buildVersion{Version: "(devel)", Commit: "0123456789abcdef", Modified: true}, "(devel) (commit 0123456789ab, modified)"},
		{buildVersion{Version: "(devel)"}, "(devel) (commit unknown)"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("%+v renders %q, want %q", c.v, got, c.want)
		}
	}
}

// The example config is a valid config.
func TestConfigExampleParses(t *testing.T) {
	var out bytes.Buffer
	root := newRootCmd()
	root.SetArgs([]string{"config", "example"})
	root.SetOut(&out)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse("example.yaml", out.Bytes())
	if err != nil {
		t.Fatalf("config example does not parse: %v\n%s", err, out.String())
	}
	if got := f.Names(); !slices.Equal(got, []string{"lab", "rehearsal"}) {
		t.Errorf("targets %v", got)
	}
}

func complete(t *testing.T, args ...string) []string {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append([]string{"__complete"}, args...))
	root.SetOut(&out)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			v, _, _ := strings.Cut(l, "\t")
			got = append(got, v)
		}
	}
	return got
}

func TestCompletion(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	writeRollout(t, filepath.Join(e.dir, "in.xlsx"), smallRollout)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", filepath.Join(e.dir, "in.xlsx"))
	runs, _ := rundir.List(e.global[3])
	for _, c := range []struct {
		args []string
		want []string
	}{
		{append(slices.Clone(e.global), "status", ""), []string{runs[0].ID}},
		{append(slices.Clone(e.global), "apply", "--target", ""), []string{"lab"}},
		{[]string{"diff", "--format", ""}, []string{"text", "json", "xlsx"}},
		{[]string{"apply", "--format", ""}, []string{"text", "json"}},
		{[]string{"runs", "--format", ""}, []string{"text", "json", "csv"}},
		{[]string{"validate", "--adapter", ""}, []string{"mxone", "sipx"}},
		{[]string{"diff", "--adapter", "mxone", "--kinds", ""}, []string{"department", "extension", "location"}},
		{[]string{"sim", ""}, []string{"mxone"}},
	} {
		got := complete(t, c.args...)
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("completing %v: %v lacks %q", c.args, got, w)
			}
		}
	}
}

// --format json: one document on stdout, the rest on stderr; --quiet:
// only the final summary and errors; the printed hints work as printed.
func TestApplyJSONQuietAndHints(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	dir := filepath.Join(e.dir, "csv")
	const badKey = "99999"
	writeRolloutCSV(t, dir, smallRollout, "extension", func(header []string, rows [][]string) {
		rows[len(rows)-1][slices.Index(header, "extensionNumber")] = badKey
	})
	code, stdout, stderr := e.cli("apply", "--yes", "--target", "lab", "--format", "json", dir)
	if code != exitPartial {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var doc runJSON
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if doc.State != rundir.Partial || doc.Counts.Failed != 1 || len(doc.FailedRows) != 1 || doc.FailedRows[0].Count != 1 || len(doc.Next) != 2 {
		t.Errorf("json %+v", doc)
	}
	// The resume hint, run as printed, resumes this run.
	resume := strings.Fields(doc.Next[0])
	if resume[0] != "pbxbatch" || resume[1] != "resume" || resume[2] != doc.RunID {
		t.Fatalf("hint %q", doc.Next[0])
	}
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append(resume[1:], "--quiet"))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	if exitCode(err) != exitPartial {
		t.Fatalf("the printed hint %q does not work: %v\n%s", doc.Next[0], err, errb.String())
	}
	// Quiet: the summary of the run and of this resume, nothing else.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Run "+doc.RunID+": ") || !strings.HasPrefix(lines[1], "This resume: 0 created") {
		t.Errorf("quiet resume printed:\n%s", out.String())
	}
	if strings.Contains(errb.String(), "Why rows failed") {
		t.Errorf("quiet resume printed the reasons:\n%s", errb.String())
	}
}

// A saved plan names its target: apply needs no --target, and refuses
// another one.
func TestApplySavedPlanTakesItsTarget(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	in := filepath.Join(e.dir, "in.xlsx")
	writeRollout(t, in, smallRollout)
	planPath := filepath.Join(e.dir, "plan.json")
	out := e.mustCLI(exitChanges, "plan", "--target", "lab", "--out", planPath, in)
	if !strings.Contains(out, "pbxbatch apply "+planPath+" --plan-sha256 ") || !strings.Contains(out, " --config ") {
		t.Errorf("the saved plan's hint lacks the config it was made with:\n%s", tail(out))
	}
	code, _, stderr := e.cli("apply", "--yes", "--target", "other", planPath)
	if code != exitError || !strings.Contains(stderr, "other") {
		t.Errorf("a mismatching --target: exit %d\n%s", code, stderr)
	}
	e.mustCLI(exitOK, "apply", "--yes", "--progress", "none", planPath)
}

// Ctrl-C while the plan reads the target: exit 130, nothing changed.
func TestInterruptWhilePlanning(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{Latency: 50 * time.Millisecond})
	in := filepath.Join(e.dir, "in.xlsx")
	writeRollout(t, in, smallRollout)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append(slices.Clone(e.global), "apply", "--yes", "--target", "lab", "--progress", "log", in))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(ctx)
	if code := exitCode(err); code != exitCancelled || err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("exit %d, err %v, want 130 and \"nothing was changed\"\n%s", code, err, errb.String())
	}
	if n := e.sim.Stats().Creates; len(n) != 0 {
		t.Errorf("creates %v after an interrupted plan", n)
	}
	if runs, _ := rundir.List(e.global[3]); len(runs) != 0 {
		t.Errorf("a run was made: %v", runs)
	}
}

// A report that cannot be written leaves no half file, fails the run with
// the way out, and "report" writes it once the cause is gone.
func TestReportWriteFailureFailsTheRun(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	in := filepath.Join(e.dir, "in.xlsx")
	writeRollout(t, in, smallRollout)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", in)
	runs, _ := rundir.List(e.global[3])
	dir := runs[0].Dir
	results := filepath.Join(dir, report.ResultsFile)
	if err := os.Remove(results); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(results, 0o700); err != nil { // in the way, like a full disk
		t.Fatal(err)
	}
	code, _, stderr := e.cli("resume", runs[0].ID)
	if code != exitError || !strings.Contains(stderr, "reports not written") || !strings.Contains(stderr, "pbxbatch report "+runs[0].ID) {
		t.Fatalf("resume with an unwritable report: exit %d\n%s", code, stderr)
	}
	info, err := rundir.Stat(e.global[3], runs[0].ID)
	if err != nil || info.State != rundir.Failed || !strings.Contains(info.Error, "reports not written") {
		t.Errorf("the run's state %s (%q), want failed saying the reports were not written", info.State, info.Error)
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if strings.HasSuffix(en.Name(), ".tmp") {
			t.Errorf("left behind: %s", en.Name())
		}
		if fi, err := en.Info(); err == nil && !en.IsDir() && strings.HasSuffix(en.Name(), ".xlsx") && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", en.Name(), fi.Mode().Perm())
		}
	}
	os.Remove(results)
	e.mustCLI(exitOK, "report", runs[0].ID)
	if fi, err := os.Stat(results); err != nil || fi.IsDir() {
		t.Errorf("report did not write results.xlsx: %v", err)
	}
}

// Help lists a global flag only under the commands it means something to.
func TestHelpShowsOnlyMeaningfulGlobalFlags(t *testing.T) {
	help := func(cmd string) string {
		var out bytes.Buffer
		root := newRootCmd()
		root.SetArgs([]string{cmd, "--help"})
		root.SetOut(&out)
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for cmd, want := range map[string][]string{
		"apply": {"--config", "--state-dir", "--verbose"}, "plan": {"--config"}, "runs": {"--state-dir"},
	} {
		for _, f := range want {
			if !strings.Contains(help(cmd), f) {
				t.Errorf("%s --help lacks %s", cmd, f)
			}
		}
	}
	for cmd, not := range map[string][]string{
		"diff": {"--config", "--state-dir", "--verbose"}, "template": {"--config", "--state-dir"}, "runs": {"--config"}, "plan": {"--state-dir"},
	} {
		for _, f := range not {
			if strings.Contains(help(cmd), f+" ") {
				t.Errorf("%s --help shows %s, which means nothing to it", cmd, f)
			}
		}
	}
}
