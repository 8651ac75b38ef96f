package main

// End-to-end tests of an APIO virtual-user rollout through the real CLI,
// against the apio simulator: the must-holds of the MX-ONE rollout (issue
// 11).

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/adapters/apio"
	apiosim "github.com/pbxbatch/pbxbatch/adapters/apio/sim"
	"github.com/pbxbatch/pbxbatch/batch/report"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/batch/seed"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

const apioRollout = "../../testdata/apio/rollout.xlsx"

// apioTarget is one target of an apio config: a simulator holding the
// sample's groups.
type apioTarget struct {
	name string
	sim  *apiosim.Sim
	url  string
}

func startAPIO(t testing.TB, o simkit.Options) (*apiosim.Sim, string) {
	t.Helper()
	o.Username, o.Password = "admin", "e2e-secret-pw"
	o.Settings = map[string]string{apiosim.SettingGroups: strings.Join(apio.SampleGroups, ";")}
	s, err := apiosim.New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return s, srv.URL
}

// newAPIOEnv writes a config naming each target, at rate requests/s with
// options (the keys of every target's options, "" for none), and returns
// the env running the CLI.
func newAPIOEnv(t testing.TB, rate int, options string, targets ...apioTarget) *cliEnv {
	t.Helper()
	dir := t.TempDir()
	body := "targets:\n"
	for _, tg := range targets {
		body += fmt.Sprintf("  %s:\n    adapter: apio\n    url: %s\n    username: admin\n    password_env: %s\n    rate: %d\n    concurrency: 8\n    timeout: 2s\n",
			tg.name, tg.url, e2ePasswordEnv, rate)
		if options != "" {
			body += "    options: {" + options + "}\n"
		}
	}
	cfg := filepath.Join(dir, "pbxbatch.yaml")
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(e2ePasswordEnv, "e2e-secret-pw")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	return &cliEnv{t: t, dir: dir, global: []string{"--config", cfg, "--state-dir", filepath.Join(dir, "state")}}
}

// writeAPIOSample writes a sample rollout of about users users, edited by
// edit (nil: as generated).
func writeAPIOSample(t testing.TB, path string, users int, edit func(header []string, rows [][]string)) {
	t.Helper()
	sheets, err := apio.NewSample(users).Sheets(schemas.MustLoad("apio"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		rows := sampledata.Collect(sheets[0])
		edit(sheets[0].Header, rows)
		sheets[0].Rows = sampledata.Rows(rows)
	}
	if err := sampledata.WriteXLSX(path, sheets); err != nil {
		t.Fatal(err)
	}
}

// assertAPIOHolds checks that the simulator holds exactly the workbook's
// virtual users (its range rows expanded), field by field, and that no
// create reached it twice.
func assertAPIOHolds(t *testing.T, s *apiosim.Sim, workbook string) {
	t.Helper()
	want, err := seed.Read(context.Background(), schemas.MustLoad("apio"), workbook)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Users()
	if len(got) != len(want) {
		t.Errorf("simulator holds %d virtual users, want %d", len(got), len(want))
	}
	for _, w := range want {
		r := w.Record
		key := r.String("tenant") + "/" + r.String("group") + "/" + r.String("phoneNumber")
		u, ok := got[key]
		if !ok {
			t.Errorf("%s (%s) missing", key, w.Origin)
			continue
		}
		if u.Extension != r.String("extension") || u.FirstName != r.String("firstName") || u.LastName != r.String("lastName") ||
			u.CLIFirstName != r.String("cliFirstName") || u.CLILastName != r.String("cliLastName") || u.CallType != r.String("callType") {
			t.Errorf("%s (%s): simulator holds %+v, want %v", key, w.Origin, u, r)
		}
	}
	if n := s.Stats().TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate-create attempts reached the simulator", n)
	}
}

// posts counts the create POSTs the simulator saw.
func posts(s *apiosim.Sim) int64 {
	return s.Stats().Requests["POST /api/v1/tenants/{tenant}/groups/{group}/services/virtual_users/{$}"]
}

func TestAPIORolloutAppliesExactlyAndReappliesAsNoops(t *testing.T) {
	s, url := startAPIO(t, simkit.Options{})
	e := newAPIOEnv(t, 2000, "", apioTarget{"lab", s, url})
	out := e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", apioRollout)
	if !strings.Contains(out, "0 failed, 0 blocked") {
		t.Errorf("apply summary does not say zero failures:\n%s", tail(out))
	}
	assertAPIOHolds(t, s, apioRollout)
	// 1,980 users in 3 groups of 660, batches of 100: 7 POSTs a group.
	if n := posts(s); n != 21 {
		t.Errorf("%d create POSTs for 1,980 users in 3 groups, want 21 (batches of 100 per group)", n)
	}
	out = e.mustCLI(exitOK, "plan", "--target", "lab", apioRollout)
	if !strings.Contains(strings.ToLower(out), "no changes") {
		t.Errorf("re-plan after apply should show no changes:\n%s", tail(out))
	}
	out = e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", apioRollout)
	if !strings.Contains(out, "0 created, 0 updated, 0 deleted") {
		t.Errorf("re-apply should change nothing:\n%s", tail(out))
	}
	if strings.Contains(out, "e2e-secret-pw") {
		t.Error("the password appears in the output")
	}
}

func TestAPIORolloutSurvivesFaultsWithoutDuplicates(t *testing.T) {
	faults, err := simkit.ParseFaults("429,503,500,drop,timeout,write/500@after,write/drop@after,write/timeout@after")
	if err != nil {
		t.Fatal(err)
	}
	s, url := startAPIO(t, simkit.Options{FaultRate: 0.10, Faults: faults, FaultSeed: 7, TimeoutHold: 3 * time.Second, RetryAfter: 10 * time.Millisecond})
	e := newAPIOEnv(t, 2000, "batch_size: 20", apioTarget{"lab", s, url})
	in := filepath.Join(e.dir, "rollout.xlsx")
	writeAPIOSample(t, in, 600, nil)
	e.applyUnderFaults(in)
	st := s.Stats()
	if st.TotalFaults() == 0 || st.Faults["write/drop@after"]+st.Faults["write/500@after"]+st.Faults["write/timeout@after"] == 0 {
		t.Fatalf("faults %v: no answer to a landed write was lost; the test proves nothing", st.Faults)
	}
	assertAPIOHolds(t, s, in)
}

func TestAPIOKillAndResumeEndsInTheSameState(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	// Small batches and a slow target, so that kills land while batches
	// are in flight.
	s, url := startAPIO(t, simkit.Options{Latency: 30 * time.Millisecond})
	e := newAPIOEnv(t, 2000, "batch_size: 2", apioTarget{"lab", s, url})
	in := filepath.Join(e.dir, "rollout.xlsx")
	writeAPIOSample(t, in, 600, nil)
	killAndResume(t, e.global, rand.New(rand.NewPCG(11, 11)), 600, "apply", "--yes", "--target", "lab", "--progress", "none", in)
	assertAPIOHolds(t, s, in)
}

// A group the target does not have blocks exactly its rows at plan
// (virtual users reference their group): apply refuses the plan, and with
// --allow-blocked creates every other row.
func TestAPIOBadGroupBlocksExactlyItsRows(t *testing.T) {
	s, url := startAPIO(t, simkit.Options{})
	e := newAPIOEnv(t, 2000, "", apioTarget{"lab", s, url})
	in := filepath.Join(e.dir, "rollout.xlsx")
	bad := map[string]bool{}
	writeAPIOSample(t, in, 300, func(h []string, rows [][]string) {
		g, p := slices.Index(h, "group"), slices.Index(h, "phoneNumber")
		for i, r := range rows {
			if r[g] == "bargroup" && i%2 == 0 && !strings.Contains(r[p], "..") {
				r[g] = "nosuchgroup"
				bad[r[p]] = true
			}
		}
	})
	if len(bad) == 0 {
		t.Fatal("no row names the missing group; the test proves nothing")
	}
	out := e.mustCLI(exitError, "apply", "--yes", "--target", "lab", "--progress", "none", in)
	if !strings.Contains(out, "nosuchgroup") {
		t.Errorf("the refusal does not name the missing group:\n%s", tail(out))
	}
	e.mustCLI(exitPartial, "apply", "--yes", "--target", "lab", "--progress", "none", "--allow-blocked", in)
	runs, err := rundir.List(e.global[3])
	if err != nil || len(runs) != 1 {
		t.Fatalf("want one run, got %d (%v)", len(runs), err)
	}
	blocked := statusInResults(t, filepath.Join(runs[0].Dir, report.ResultsFile), "blocked")
	for p := range bad {
		if !blocked[p] {
			t.Errorf("row %s of the missing group is not blocked", p)
		}
	}
	for p := range blocked {
		if !bad[p] {
			t.Errorf("row %s is blocked but is not in the missing group", p)
		}
	}
	if n, want := len(s.Users()), apio.NewSample(300).Users()-len(bad); n != want {
		t.Errorf("%d virtual users created, want every other row's %d", n, want)
	}
}

// statusInResults reads results.xlsx: the phoneNumber cells of the rows
// with the status.
func statusInResults(t *testing.T, path, status string) map[string]bool {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil || len(rows) < 2 {
			continue
		}
		st, phone := slices.Index(rows[0], "status"), slices.Index(rows[0], "phoneNumber")
		if st < 0 || phone < 0 {
			continue
		}
		for _, row := range rows[1:] {
			if st < len(row) && row[st] == status {
				out[row[phone]] = true
			}
		}
	}
	return out
}

// Export → import into an empty system → export gives the same inventory,
// and an unmodified export applied back to its source changes nothing.
func TestAPIOExportImportRoundTrip(t *testing.T) {
	a, urlA := startAPIO(t, simkit.Options{})
	b, urlB := startAPIO(t, simkit.Options{})
	e := newAPIOEnv(t, 2000, "", apioTarget{"a", a, urlA}, apioTarget{"b", b, urlB})
	in := filepath.Join(e.dir, "rollout.xlsx")
	writeAPIOSample(t, in, 300, nil)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "a", "--progress", "none", in)

	exportA, exportB := filepath.Join(e.dir, "export-a"), filepath.Join(e.dir, "export-b")
	e.mustCLI(exitOK, "export", "--target", "a", "--format", "csv", "-o", exportA)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "b", "--progress", "none", exportA)
	e.mustCLI(exitOK, "export", "--target", "b", "--format", "csv", "-o", exportB)
	e.mustCLI(exitOK, "diff", exportA, exportB)
	x, errA := os.ReadFile(filepath.Join(exportA, "virtual_users.csv"))
	y, errB := os.ReadFile(filepath.Join(exportB, "virtual_users.csv"))
	if errA != nil || errB != nil || !bytes.Equal(x, y) || bytes.Count(x, []byte("\n")) < 300 {
		t.Errorf("virtual_users.csv differs between the export of the source and of the copy (%v %v)", errA, errB)
	}
	assertAPIOHolds(t, b, in)
	out := e.mustCLI(exitOK, "apply", "--yes", "--target", "a", "--progress", "none", exportA)
	if !strings.Contains(out, "0 created, 0 updated, 0 deleted") {
		t.Errorf("an unmodified export applied to its own source must be all no-ops:\n%s", tail(out))
	}
}
