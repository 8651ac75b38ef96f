package main

// End-to-end tests of a rollout against the MX-ONE simulator, through the
// real CLI: what issue "MX-ONE … make demo runs a real rollout" says must
// hold.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	mxonesim "github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/batch/export"
	"github.com/pbxbatch/pbxbatch/batch/report"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// The test binary doubles as the pbxbatch binary for subprocess tests: with
// this variable set, TestMain runs the CLI instead of the tests.
const e2eMainEnv = "PBXBATCH_E2E_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(e2eMainEnv) == "1" {
		os.Exit(runMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// cliEnv is a working directory for CLI tests: a pbxbatch.yaml whose
// target "lab" points at a simulator, a state directory, and the global
// flags that select both. sim is set when the simulator is MX-ONE's.
type cliEnv struct {
	t      testing.TB
	sim    *mxonesim.Sim
	srv    *simkit.Server
	dir    string
	global []string
}

const e2ePasswordEnv = "PBXBATCH_E2E_PW"

func newMXONEEnv(t *testing.T, o simkit.Options) *cliEnv {
	return newMXONEEnvVia(t, o, "e2e-secret-pw", nil)
}

// newMXONEEnvVia is newMXONEEnv with the simulator's password, and with
// the target's URL in the config file made by via from the simulator's
// (a proxy in front of it); nil via: the simulator itself.
func newMXONEEnvVia(t *testing.T, o simkit.Options, password string, via func(simURL string) string) *cliEnv {
	t.Helper()
	o.Username, o.Password = "admin", password
	sim, err := mxonesim.New(mxonesim.Options{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	url := srv.URL
	if via != nil {
		url = via(srv.URL)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pbxbatch.yaml")
	body := fmt.Sprintf("targets:\n  lab:\n    adapter: mxone\n    url: %s\n    username: admin\n    password_env: %s\n    rate: 1000\n    concurrency: 8\n    timeout: 2s\n",
		url, e2ePasswordEnv)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(e2ePasswordEnv, password)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache")) // where target locks go
	return &cliEnv{t: t, sim: sim, srv: srv, dir: dir,
		global: []string{"--config", cfg, "--state-dir", filepath.Join(dir, "state")}}
}

// cli runs pbxbatch in-process and returns its exit code and output.
func (e *cliEnv) cli(args ...string) (int, string, string) {
	e.t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append(slices.Clone(e.global), args...))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	if err != nil && !isSilent(err) {
		fmt.Fprintln(&errb, "pbxbatch:", err)
	}
	return exitCode(err), out.String(), errb.String()
}

func (e *cliEnv) mustCLI(want int, args ...string) string {
	e.t.Helper()
	code, out, errs := e.cli(args...)
	if code != want {
		e.t.Fatalf("pbxbatch %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, tail(out), tail(errs))
	}
	return out + errs
}

// applyUnderFaults applies in, resuming the run while rows are left failed
// (retries run out only in a very unlucky streak of faults), and fails the
// test unless it ends with every row done.
func (e *cliEnv) applyUnderFaults(in string) {
	e.t.Helper()
	code, out, errs := e.cli("apply", "--yes", "--target", "lab", "--progress", "none", in)
	for tries := 0; code == exitPartial && tries < 3; tries++ {
		runs, err := rundir.List(e.global[3])
		if err != nil || len(runs) == 0 {
			e.t.Fatalf("no run to resume: %v", err)
		}
		code, out, errs = e.cli("resume", "--progress", "none", runs[0].ID)
	}
	if code != exitOK {
		e.t.Fatalf("apply with faults: exit %d\n%s\n%s", code, tail(out), tail(errs))
	}
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

func writeRollout(t *testing.T, path string, cfg sampledata.Config) *sampledata.Rollout {
	t.Helper()
	r := sampledata.New(cfg)
	sheets, err := r.Sheets(schemas.MustLoad("mxone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sampledata.WriteXLSX(path, sheets); err != nil {
		t.Fatal(err)
	}
	return r
}

// smallRollout keeps the e2e tests quick: every kind and extension type,
// a department tree per location, users with one and two extensions.
var smallRollout = sampledata.Config{Locations: 3, Users: 60, Extensions: 84}

// assertSimHolds checks that the simulator holds exactly the rollout's
// records, linked as the workbook says.
func assertSimHolds(t *testing.T, snap mxonesim.Snapshot, r *sampledata.Rollout) {
	t.Helper()
	names := func(kind, field string) []string {
		var out []string
		for rec := range r.Records(kind) {
			out = append(out, rec.String(field))
		}
		slices.Sort(out)
		return out
	}
	var got []string
	for _, l := range snap.Locations {
		got = append(got, l.Name)
	}
	if want := names("location", "locationName"); !slices.Equal(got, want) {
		t.Errorf("locations = %v, want %v", got, want)
	}
	if len(snap.Departments) != r.Len("department") {
		t.Errorf("%d departments, want %d", len(snap.Departments), r.Len("department"))
	}
	for rec := range r.Records("department") {
		d, ok := snap.Department(rec.String("departmentName"))
		if !ok {
			t.Errorf("department %q missing", rec.String("departmentName"))
			continue
		}
		if d.Location != rec.String("location") || d.Parent != rec.String("parentDepartment") {
			t.Errorf("department %s: location %q parent %q, want %q %q", d.Name, d.Location, d.Parent, rec.String("location"), rec.String("parentDepartment"))
		}
	}
	if len(snap.Users) != r.Len("user") {
		t.Errorf("%d users, want %d", len(snap.Users), r.Len("user"))
	}
	wantExts := map[string][]string{} // userId -> "number@subsystem"
	for rec := range r.Records("extension") {
		if o := rec.String("owner"); o != "" {
			wantExts[o] = append(wantExts[o], rec.String("extensionNumber")+"@"+rec.String("subsystemName"))
		}
	}
	for rec := range r.Records("user") {
		id := rec.String("userId")
		u, ok := snap.User(id)
		if !ok {
			t.Errorf("user %s missing", id)
			continue
		}
		if want := strings.Split(rec.String("departments"), ";"); !slices.Equal(u.Departments, want) {
			t.Errorf("user %s departments = %v, want %v (primary first)", id, u.Departments, want)
		}
		gotE, wantE := slices.Sorted(slices.Values(u.Extensions)), slices.Sorted(slices.Values(wantExts[id]))
		if !slices.Equal(gotE, wantE) {
			t.Errorf("user %s extensions = %v, want %v", id, gotE, wantE)
		}
	}
	if len(snap.Extensions) != r.Len("extension") {
		t.Errorf("%d extensions, want %d", len(snap.Extensions), r.Len("extension"))
	}
	for rec := range r.Records("extension") {
		x, ok := snap.Extension(rec.String("extensionNumber"), rec.String("subsystemName"))
		if !ok {
			t.Errorf("extension %s missing", schemas.MustLoad("mxone").Kind("extension").KeyOf(rec))
			continue
		}
		if x.Owner != rec.String("owner") {
			t.Errorf("extension %s owner %q, want %q", x.Number, x.Owner, rec.String("owner"))
		}
	}
}

func TestMXONERolloutAppliesExactlyAndReappliesAsNoops(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	in := filepath.Join(e.dir, "rollout.xlsx")
	r := writeRollout(t, in, smallRollout)

	out := e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", in)
	if !strings.Contains(out, "0 failed, 0 blocked") {
		t.Errorf("apply summary does not say zero failures:\n%s", out)
	}
	assertSimHolds(t, e.sim.Snapshot(), r)

	out = e.mustCLI(exitOK, "plan", "--target", "lab", in)
	if !strings.Contains(out, "No changes") && !strings.Contains(out, "no changes") {
		t.Errorf("re-plan after apply should show no changes:\n%s", tail(out))
	}
	out = e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", in)
	if !strings.Contains(out, "0 created, 0 updated, 0 deleted") {
		t.Errorf("re-apply should change nothing:\n%s", out)
	}
	if strings.Contains(out, "e2e-secret-pw") {
		t.Error("the password appears in the output")
	}
}

func TestMXONERolloutSurvivesFaultsWithoutDuplicates(t *testing.T) {
	faults, err := simkit.ParseFaults("429,503,500,drop,timeout,write/500@after,write/drop@after,write/timeout@after")
	if err != nil {
		t.Fatal(err)
	}
	e := newMXONEEnv(t, simkit.Options{FaultRate: 0.10, Faults: faults, FaultSeed: 7,
		TimeoutHold: 3 * time.Second, RetryAfter: 10 * time.Millisecond})
	in := filepath.Join(e.dir, "rollout.xlsx")
	r := writeRollout(t, in, smallRollout)

	e.applyUnderFaults(in)
	assertSimHolds(t, e.sim.Snapshot(), r)
	st := e.sim.Stats()
	if st.TotalFaults() == 0 {
		t.Fatal("no faults were injected; the test proves nothing")
	}
	if n := st.TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate-create attempts reached the simulator: %v", n, st.DuplicateCreates)
	}
}

func TestMXONEKillAndResumeEndsInTheSameState(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	e := newMXONEEnv(t, simkit.Options{Latency: 4 * time.Millisecond})
	in := filepath.Join(e.dir, "rollout.xlsx")
	r := writeRollout(t, in, smallRollout)

	killAndResume(t, e.global, rand.New(rand.NewPCG(1, 2)), 150, "apply", "--yes", "--target", "lab", "--progress", "none", in)
	assertSimHolds(t, e.sim.Snapshot(), r)
	if n := e.sim.Stats().TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate-create attempts after kill -9 and resume: %v", n, e.sim.Stats().DuplicateCreates)
		if runs, _ := rundir.List(e.global[3]); len(runs) > 0 {
			b, _ := os.ReadFile(filepath.Join(runs[0].Dir, rundir.JournalFile))
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, `"department"`) {
					t.Log(l)
				}
			}
		}
	}
}

func TestMXONEBadDepartmentBlocksExactlyItsUsersAndExtensions(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	dir := filepath.Join(e.dir, "csv")
	// One leaf department names a parent that exists nowhere: planning
	// blocks it, and apply --allow-blocked must block exactly the users in
	// it and their extensions, and create everything else.
	bad := ""
	r := writeRolloutCSV(t, dir, smallRollout, "department", func(header []string, rows [][]string) {
		last := rows[len(rows)-1]
		bad = last[slices.Index(header, "departmentName")]
		last[slices.Index(header, "parentDepartment")] = "No Such Department"
	})
	wantBlocked := map[string]bool{"department/" + bad: true}
	for u := range r.Records("user") {
		if slices.Contains(strings.Split(u.String("departments"), ";"), bad) {
			wantBlocked["user/"+u.String("userId")] = true
		}
	}
	for x := range r.Records("extension") {
		if wantBlocked["user/"+x.String("owner")] {
			wantBlocked["extension/"+x.String("extensionNumber")] = true
		}
	}
	if len(wantBlocked) < 3 {
		t.Fatalf("the bad department %q has no users with extensions; pick another", bad)
	}

	e.mustCLI(exitError, "apply", "--yes", "--target", "lab", "--progress", "none", dir)
	e.mustCLI(exitPartial, "apply", "--yes", "--target", "lab", "--progress", "none", "--allow-blocked", dir)

	runs, err := rundir.List(e.global[3])
	if err != nil || len(runs) != 1 {
		t.Fatalf("want one run, got %d (%v)", len(runs), err)
	}
	gotBlocked := blockedInResults(t, filepath.Join(runs[0].Dir, report.ResultsFile))
	for k := range wantBlocked {
		if !gotBlocked[k] {
			t.Errorf("%s should be blocked", k)
		}
	}
	for k := range gotBlocked {
		if !wantBlocked[k] {
			t.Errorf("%s is blocked but does not depend on department %q", k, bad)
		}
	}
	snap := e.sim.Snapshot()
	if _, ok := snap.Department(bad); ok {
		t.Errorf("the bad department was created")
	}
	if want := r.Len("user") - countPrefix(wantBlocked, "user/"); len(snap.Users) != want {
		t.Errorf("%d users created, want %d", len(snap.Users), want)
	}
}

func countPrefix(m map[string]bool, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// blockedInResults reads results.xlsx and returns "kind/key" of every row
// whose status is blocked (the key is the row's first data column).
func blockedInResults(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set := schemas.MustLoad("mxone")
	out := map[string]bool{}
	for _, sheet := range f.GetSheetList() {
		k := set.Kind(sheet)
		if k == nil {
			continue
		}
		rows, err := f.GetRows(sheet)
		if err != nil || len(rows) < 2 {
			continue
		}
		status := slices.Index(rows[0], "status")
		keyCol := slices.Index(rows[0], k.Key[0])
		if status < 0 || keyCol < 0 {
			t.Fatalf("%s: no status or key column in %v", sheet, rows[0])
		}
		for _, row := range rows[1:] {
			if status < len(row) && row[status] == "blocked" {
				out[k.Name+"/"+row[keyCol]] = true
			}
		}
	}
	return out
}

// secretMarker is in every password the secrets test sets, so a scan can
// find any that leaked.
const secretMarker = "-Zq9!secret"

// withPasswords adds a newPassword column to the users sheet.
func withPasswords(sheets []sampledata.Sheet) []sampledata.Sheet {
	return withPasswordsEnding(sheets, secretMarker)
}

// withPasswordsEnding adds a newPassword column to the users sheet:
// "pw-", the userId, then suffix.
func withPasswordsEnding(sheets []sampledata.Sheet, suffix string) []sampledata.Sheet {
	for i, s := range sheets {
		if s.Kind != "user" {
			continue
		}
		idCol := slices.Index(s.Header, "userId")
		rows := s.Rows
		sheets[i].Header = append(slices.Clone(s.Header), "newPassword")
		sheets[i].Rows = func(yield func([]string) bool) {
			for row := range rows {
				if !yield(append(slices.Clone(row), "pw-"+row[idCol]+suffix)) {
					return
				}
			}
		}
	}
	return sheets
}

// filesWithSecret returns the files under dir that hold the marker: plain
// files byte by byte, workbooks cell by cell and comment by comment (they
// are zipped), and how many files it read.
func filesWithSecret(t *testing.T, dir string) (found []string, files int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		if !strings.HasSuffix(path, ".xlsx") {
			b, err := os.ReadFile(path)
			if bytes.Contains(b, []byte(secretMarker)) {
				found = append(found, path)
			}
			return err
		}
		f, err := excelize.OpenFile(path)
		if err != nil {
			return err
		}
		defer f.Close()
		for _, sheet := range f.GetSheetList() {
			rows, _ := f.GetRows(sheet)
			comments, _ := f.GetComments(sheet)
			text := fmt.Sprint(rows, comments)
			if strings.Contains(text, secretMarker) {
				found = append(found, path+"!"+sheet)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found, files
}

// The run's plan, journal, meta, reports and every message: no password,
// while the passwords did reach the target; and the run is listed, shown
// and its reports regenerated by runs, status and report.
func TestMXONERunLeavesNoSecretAndIsListed(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	in := filepath.Join(e.dir, "rollout.xlsx")
	r := sampledata.New(sampledata.Config{Locations: 3, Users: 12, Extensions: 14})
	sheets, err := r.Sheets(schemas.MustLoad("mxone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sampledata.WriteXLSX(in, withPasswords(sheets)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(e.dir, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := e.mustCLI(exitChanges, "plan", "--target", "lab", "--out", filepath.Join(e.dir, "state", "plan.json"), in)
	out += e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "log", filepath.Join(e.dir, "state", "plan.json"))
	if strings.Contains(out, secretMarker) {
		t.Error("a password was printed")
	}
	u, _ := e.sim.Snapshot().User("u000003")
	if !u.HasPassword {
		t.Fatal("the password did not reach the target: the test proves nothing")
	}

	code, js, _ := e.cli("runs", "--format", "json")
	var runs []rundir.Info
	if code != exitOK || json.Unmarshal([]byte(js), &runs) != nil || len(runs) != 1 {
		t.Fatalf("runs --format json: exit %d: %s", code, js)
	}
	if runs[0].State != rundir.Succeeded || runs[0].Counts.Created != runs[0].Ops {
		t.Errorf("run listed as %s with %+v", runs[0].State, runs[0].Counts)
	}
	if status := e.mustCLI(exitOK, "status", runs[0].ID); !strings.Contains(status, "succeeded") {
		t.Errorf("status:\n%s", status)
	}
	if err := os.Remove(filepath.Join(runs[0].Dir, report.ResultsFile)); err != nil {
		t.Fatal(err)
	}
	e.mustCLI(exitOK, "report", runs[0].ID)
	if _, err := os.Stat(filepath.Join(runs[0].Dir, report.ResultsFile)); err != nil {
		t.Errorf("report did not regenerate results.xlsx: %v", err)
	}
	if found, files := filesWithSecret(t, filepath.Join(e.dir, "state")); len(found) > 0 || files < 6 {
		t.Errorf("passwords in %v (of %d files scanned)", found, files)
	}
	// The scan does see passwords where they are: in the user's own input.
	if found, _ := filesWithSecret(t, in); len(found) != 1 {
		t.Errorf("the scan misses the passwords in the input workbook: %v", found)
	}
}

// A saved plan whose records changed on the target since is refused,
// naming what moved, and applies nothing.
func TestMXONEStalePlanIsRefused(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	dir := filepath.Join(e.dir, "in")
	loc := "locationName,description\nStockholm,HQ\n"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "locations.csv"), []byte(loc), 0o644)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", dir)

	os.WriteFile(filepath.Join(dir, "locations.csv"), []byte("locationName,description\nStockholm,Head office\n"), 0o644)
	planFile := filepath.Join(e.dir, "plan.json")
	e.mustCLI(exitChanges, "plan", "--target", "lab", "--out", planFile, dir)

	// Someone changes the location behind the plan's back.
	other := filepath.Join(e.dir, "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "locations.csv"), []byte("locationName,description\nStockholm,Moved\n"), 0o644)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", other)

	out := e.mustCLI(exitError, "apply", "--yes", "--target", "lab", "--progress", "none", planFile)
	if !strings.Contains(out, "stale") || !strings.Contains(out, "Stockholm") {
		t.Errorf("stale plan message does not name the record:\n%s", out)
	}
	snap := e.sim.Snapshot()
	if len(snap.Locations) != 1 || snap.Locations[0].Description != "Moved" {
		t.Errorf("the stale plan changed the target: %+v", snap.Locations)
	}
}

// Export → import into an empty system → export gives the same inventory,
// and an unmodified export applied back to its source changes nothing.
func TestMXONEExportImportRoundTrip(t *testing.T) {
	a := newMXONEEnv(t, simkit.Options{})
	b := newMXONEEnv(t, simkit.Options{})
	// One config naming both simulators.
	cfg := filepath.Join(a.dir, "two.yaml")
	body := fmt.Sprintf("targets:\n  a:\n    adapter: mxone\n    url: %s\n    username: admin\n    password_env: %s\n    concurrency: 8\n"+
		"  b:\n    adapter: mxone\n    url: %s\n    username: admin\n    password_env: %s\n    concurrency: 8\n", a.srv.URL, e2ePasswordEnv, b.srv.URL, e2ePasswordEnv)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	a.global[1] = cfg
	in := filepath.Join(a.dir, "rollout.xlsx")
	writeRollout(t, in, smallRollout)
	a.mustCLI(exitOK, "apply", "--yes", "--target", "a", "--progress", "none", in)

	exportA := filepath.Join(a.dir, "export-a")
	a.mustCLI(exitOK, "export", "--target", "a", "--format", "csv", "-o", exportA)
	a.mustCLI(exitOK, "apply", "--yes", "--target", "b", "--progress", "none", exportA)
	exportB := filepath.Join(a.dir, "export-b")
	a.mustCLI(exitOK, "export", "--target", "b", "--format", "csv", "-o", exportB)

	a.mustCLI(exitOK, "diff", exportA, exportB) // exit 0: identical
	if m, err := export.ReadManifest(exportA); err != nil {
		t.Error(err)
	} else if m.ToolVersion != readBuildVersion().String() {
		t.Errorf("the export is stamped %q, want this build's version %q", m.ToolVersion, readBuildVersion())
	}
	for _, name := range []string{"locations.csv", "departments.csv", "users.csv", "extensions.csv", "subsystems.csv", "security_profiles.csv"} {
		x, errA := os.ReadFile(filepath.Join(exportA, name))
		y, errB := os.ReadFile(filepath.Join(exportB, name))
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v %v", name, errA, errB)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between the export of the source and of the copy", name)
		}
	}
	out := a.mustCLI(exitOK, "apply", "--yes", "--target", "a", "--progress", "none", exportA)
	if !strings.Contains(out, "0 created, 0 updated, 0 deleted") {
		t.Errorf("an unmodified export applied to its own source must be all no-ops:\n%s", out)
	}
	if n := b.sim.Stats().TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate creates on the copy", n)
	}
}

// runCLIProcess runs "pbxbatch ARGS" in a subprocess and kills it with
// SIGKILL if kill fires first (nil: never). It returns whether it was
// killed, its output, and how it ended.
func runCLIProcess(t *testing.T, args []string, kill <-chan time.Time) (killed bool, out string, err error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), e2eMainEnv+"=1")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-kill:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		killed = true
		err = <-done
	}
	return killed, buf.String(), err
}

// killAndResume runs "pbxbatch ARGS" in a subprocess and kills it with
// SIGKILL after a random 0.6–2.4× minMillis, four times, resuming the run
// after each kill, then lets the last resume finish. It fails the test when
// no kill landed (the run was too quick to prove anything) or the last
// attempt fails.
func killAndResume(t *testing.T, global []string, rng *rand.Rand, minMillis int, args ...string) {
	t.Helper()
	args = append(slices.Clone(global), args...)
	kills := 0
	for attempt := 0; ; attempt++ {
		var kill <-chan time.Time
		if attempt < 4 {
			kill = time.After(time.Duration(minMillis*6/10+rng.IntN(minMillis*18/10)) * time.Millisecond)
		}
		killed, out, err := runCLIProcess(t, args, kill)
		if !killed {
			if err != nil {
				t.Fatalf("final attempt failed: %v\n%s", err, tail(out))
			}
			break
		}
		kills++
		// Resume the newest run from now on; a kill before the run
		// directory existed sent nothing, so apply starts again.
		if runs, lerr := rundir.List(global[3]); lerr == nil && len(runs) > 0 {
			args = append(slices.Clone(global), "resume", "--progress", "none", runs[0].ID)
		}
	}
	if kills == 0 {
		t.Fatal("the run finished before the first kill; the test proves nothing")
	}
}

// Changing only which department is a user's primary (the first) is a
// change: the order of MX-ONE's departments list means something.
func TestMXONEPrimaryDepartmentChangeIsApplied(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	in := filepath.Join(e.dir, "rollout.xlsx")
	r := writeRollout(t, in, smallRollout)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", in)

	var id string
	var depts []string
	for u := range r.Records("user") {
		if d := strings.Split(u.String("departments"), ";"); len(d) >= 2 {
			id, depts = u.String("userId"), d
			break
		}
	}
	if id == "" {
		t.Fatal("no sample user has two departments")
	}
	swapped := append([]string{depts[1], depts[0]}, depts[2:]...)
	dir := filepath.Join(e.dir, "swap")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("action,userId,departments\nupdate,"+id+","+strings.Join(swapped, ";")+"\n"), 0o644)

	out := e.mustCLI(exitChanges, "plan", "--target", "lab", dir)
	if !strings.Contains(out, "1 to update") && !strings.Contains(out, "~ user "+id) {
		t.Errorf("the primary department change is not planned:\n%s", out)
	}
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", dir)
	u, _ := e.sim.Snapshot().User(id)
	if !slices.Equal(u.Departments, swapped) {
		t.Errorf("departments on the target %v, want %v (primary first)", u.Departments, swapped)
	}
	e.mustCLI(exitOK, "plan", "--target", "lab", dir) // and now nothing to do
}

// Ctrl-C: apply stops scheduling, lets calls in flight finish, exits 130
// and says how to resume; resume then finishes the job exactly.
func TestMXONEInterruptThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	e := newMXONEEnv(t, simkit.Options{Latency: 5 * time.Millisecond})
	in := filepath.Join(e.dir, "rollout.xlsx")
	r := writeRollout(t, in, smallRollout)

	cmd := exec.Command(os.Args[0], append(slices.Clone(e.global), "apply", "--yes", "--target", "lab", "--progress", "none", in)...)
	cmd.Env = append(os.Environ(), e2eMainEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the run has started (its directory exists).
	deadline := time.Now().Add(20 * time.Second)
	for {
		if runs, _ := rundir.List(e.global[3]); len(runs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no run started:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	_ = cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != exitCancelled {
		t.Fatalf("exit %d (%v), want %d\n%s", cmd.ProcessState.ExitCode(), err, exitCancelled, tail(out.String()))
	}
	if !strings.Contains(out.String(), "pbxbatch resume ") {
		t.Errorf("no resume hint:\n%s", tail(out.String()))
	}
	runs, _ := rundir.List(e.global[3])
	if runs[0].State != rundir.Cancelled {
		t.Errorf("run state %s, want cancelled", runs[0].State)
	}
	e.mustCLI(exitOK, "resume", "--progress", "none", runs[0].ID)
	assertSimHolds(t, e.sim.Snapshot(), r)
	if n := e.sim.Stats().TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate creates after interrupt and resume", n)
	}
}

// A row the target refuses fails on its own: the rest is applied, the
// exit status is 3, and the terminal says why, with the row.
func TestMXONERefusedRowFailsAloneAndSaysWhy(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	dir := filepath.Join(e.dir, "csv")
	// Outside every subsystem's EX number series: valid for the workbook,
	// refused by the PBX.
	const badKey = "99999"
	r := writeRolloutCSV(t, dir, smallRollout, "extension", func(header []string, rows [][]string) {
		rows[len(rows)-1][slices.Index(header, "extensionNumber")] = badKey
	})
	out := e.mustCLI(exitPartial, "apply", "--yes", "--target", "lab", "--progress", "none", dir)
	// The reason in plain words, without the record's own name (so that
	// rows failing alike group), and the first row it hit.
	if !strings.Contains(out, "Why rows failed:") || !strings.Contains(out, "1 × extension … is outside the EX number series") ||
		!strings.Contains(out, fmt.Sprintf(", first at extensions.csv:%d", r.Len("extension")+1)) || strings.Contains(out, "HTTP 400") {
		t.Errorf("the reason and the row are not shown:\n%s", tail(out))
	}
	if got := len(e.sim.Snapshot().Extensions); got != r.Len("extension")-1 {
		t.Errorf("%d extensions created, want all but the refused one (%d)", got, r.Len("extension")-1)
	}
}

// writeRolloutCSV writes a rollout as a directory of CSV files, letting edit
// change the rows of one kind first.
func writeRolloutCSV(t *testing.T, dir string, cfg sampledata.Config, kind string, edit func(header []string, rows [][]string)) *sampledata.Rollout {
	t.Helper()
	r := sampledata.New(cfg)
	sheets, err := r.Sheets(schemas.MustLoad("mxone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range sheets {
		if s.Kind == kind {
			rows := slices.Collect(s.Rows)
			edit(s.Header, rows)
			s.Rows = slices.Values(rows)
		}
		if err := sampledata.WriteCSVFile(filepath.Join(dir, s.FileName()), s, sampledata.CSVOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}
