package main

// End-to-end tests of migrate between the two simulators, through the real
// CLI: the sample of one platform applied to its simulator, exported,
// mapped, planned and applied to an empty simulator of the other.

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	mxonesim "github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	sipxsim "github.com/pbxbatch/pbxbatch/adapters/sipx/sim"
	"github.com/pbxbatch/pbxbatch/batch/mapping"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
)

var updateGolden = flag.Bool("update", false, "rewrite the mapping report goldens")

// migrateEnv is a sipXcom simulator ("sipx") and an MX-ONE simulator
// ("mxone") in one config.
type migrateEnv struct {
	*cliEnv
	sipx  *sipxsim.Sim
	mxone *mxonesim.Sim
}

func newMigrateEnv(t *testing.T) *migrateEnv {
	t.Helper()
	srv, ss, err := sipxsim.Start("127.0.0.1:0", sipxsim.Options{Options: simkit.Options{Username: "superadmin", Password: "e2e-secret-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ms, err := mxonesim.New(mxonesim.Options{Options: simkit.Options{Username: "admin", Password: "e2e-secret-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	msrv, err := ms.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { msrv.Close() })
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pbxbatch.yaml")
	target := func(name, adapter, url, user string) string {
		return fmt.Sprintf("  %s:\n    adapter: %s\n    url: %s\n    username: %s\n    password_env: %s\n    rate: 2000\n    concurrency: 8\n    timeout: 2s\n", name, adapter, url, user, e2ePasswordEnv)
	}
	body := "targets:\n" + target("sipx", "sipx", srv.URL, "superadmin") + target("mxone", "mxone", msrv.URL, "admin")
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(e2ePasswordEnv, "e2e-secret-pw")
	e := &cliEnv{t: t, dir: dir, global: []string{"--config", cfg, "--state-dir", filepath.Join(dir, "state")}}
	return &migrateEnv{cliEnv: e, sipx: ss, mxone: ms}
}

// permName is sipXcom's generated name of a custom permission: its number
// depends on the order a concurrent apply created them in.
var permName = regexp.MustCompile(`"perm_[0-9]+"`)

// checkGolden compares a mapping report with its golden file.
func checkGolden(t *testing.T, got []byte, name string) {
	t.Helper()
	got = permName.ReplaceAll(got, []byte(`"perm_N"`))
	golden := filepath.Join("..", "..", "testdata", "mapping", name)
	if *updateGolden {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("mapping report differs from %s (run with -update after checking):\n%s", golden, got)
	}
}

// assertSecretsOnlyInSecretsFile checks that the generated secrets are in
// the secrets file (0600) and in no other file migrate or the run left, nor
// in its output.
func assertSecretsOnlyInSecretsFile(t *testing.T, e *migrateEnv, out, log string) {
	t.Helper()
	secretsFile := filepath.Join(out, "mapped.secrets.xlsx")
	st, err := os.Stat(secretsFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v, want mode 0600", err)
	}
	book, err := workbook.Open(secretsFile, workbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	users := book.Table("users")
	col := users.Column("newPassword")
	it, err := users.Rows()
	if err != nil || col < 0 {
		t.Fatal(err, col)
	}
	var secrets []string
	for it.Next() {
		secrets = append(secrets, it.Row().Cells[col])
	}
	it.Close()
	book.Close()
	if len(secrets) != 320 {
		t.Fatalf("%d generated passwords in the secrets file, want 320", len(secrets))
	}
	texts := map[string]string{"migrate's output": log}
	_ = filepath.Walk(e.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || path == secretsFile {
			return err
		}
		if filepath.Ext(path) == ".xlsx" {
			texts[path] = xlsxText(t, path)
		} else {
			b, _ := os.ReadFile(path)
			texts[path] = string(b)
		}
		return nil
	})
	for name, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds a generated secret", name)
				break
			}
		}
	}
}

func xlsxText(t *testing.T, path string) string {
	t.Helper()
	book, err := workbook.Open(path, workbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	var b strings.Builder
	for _, tb := range book.Tables {
		it, err := tb.Rows()
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			b.WriteString(strings.Join(it.Row().Cells, "\t") + "\n")
		}
		it.Close()
	}
	return b.String()
}

func TestMigrateStopsBeforePlanWhenTheMappedWorkbookHasErrors(t *testing.T) {
	e := newMigrateEnv(t)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "sipx", "--progress", "none", sipxRollout)
	profile := filepath.Join(e.dir, "bad.yaml")
	// A user's e-mail address is no extension number: the MX-ONE schema
	// refuses every mapped extension.
	body := "source: sipx\ntarget: mxone\nkinds:\n  extension:\n    - from: user\n      fields:\n        extensionNumber: \"{emailAddress}\"\n        subsystemName: S\n        extensionType: virtual\n" +
		"drop:\n  user: not this time\n  permission: no\n  call_group: no\n  park_orbit: no\n  phone: no\n  line: no\n"
	if err := os.WriteFile(profile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(e.dir, "site")
	log := e.mustCLI(exitError, "migrate", "--from", "sipx", "--to", "mxone", "--profile", profile, "--out", out, "--yes")
	if !strings.Contains(log, "Stopped before plan") || !strings.Contains(log, "source.xlsx users!F") {
		t.Errorf("migrate should stop before plan, naming the source cells:\n%s", tail(log))
	}
	for _, f := range []string{"plan.json", "mapped.xlsx"} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			t.Errorf("%s was written", f)
		}
	}
	if n := len(e.mxone.Snapshot().Extensions); n != 0 {
		t.Errorf("%d extensions reached MX-ONE", n)
	}
}

// assertOriginsCarried checks that the plan and the run's results name
// each mapped row's source row.
func assertOriginsCarried(t *testing.T, e *migrateEnv, out string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"source": "source.xlsx users!2"`) {
		t.Error("plan.json does not name the source rows of its operations")
	}
	results, _ := filepath.Glob(filepath.Join(e.dir, "state", "runs", "*", "results.xlsx"))
	if len(results) != 2 { // the sample's apply to sipXcom, then migrate's
		t.Fatalf("results.xlsx: %v", results)
	}
	book, err := workbook.Open(results[1], workbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	users := book.Table("users")
	if users == nil || users.Column(mapping.OriginColumn) < 0 {
		t.Fatal("results.xlsx has no users sheet with the #origin column")
	}
}

func TestMigrateSipxToMXONE(t *testing.T) {
	e := newMigrateEnv(t)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "sipx", "--progress", "none", sipxRollout)
	out := filepath.Join(e.dir, "site")
	log := e.mustCLI(exitOK, "migrate", "--from", "sipx", "--to", "mxone", "--profile", "sipx-to-mxone", "--out", out, "--yes", "--progress", "none")
	if !strings.Contains(log, "0 failed, 0 blocked") {
		t.Errorf("migrate did not apply cleanly:\n%s", tail(log))
	}
	snap := e.mxone.Snapshot()
	src := e.sipx.Snapshot()
	users := 0
	for _, u := range src.Users {
		if u.UserName == "superadmin" {
			continue
		}
		users++
		mu, ok := snap.User(u.UserName)
		if !ok {
			t.Errorf("user %s not migrated", u.UserName)
			continue
		}
		if mu.FirstName != api.Text(u.FirstName) || mu.LastName != api.Text(u.LastName) || !mu.HasPassword {
			t.Errorf("user %s: %q %q password %v, want %q %q and a password", u.UserName, mu.FirstName, mu.LastName, mu.HasPassword, api.Text(u.FirstName), api.Text(u.LastName))
		}
		if want := []string{"sipXcom " + u.BranchName}; !slices.Equal(mu.Departments, want) {
			t.Errorf("user %s departments %v, want %v", u.UserName, mu.Departments, want)
		}
		if want := []string{u.UserName + "@MX-SIPX"}; !slices.Equal(mu.Extensions, want) {
			t.Errorf("user %s extensions %v, want %v", u.UserName, mu.Extensions, want)
		}
		x, ok := snap.Extension(u.UserName, "MX-SIPX")
		if !ok || x.Owner != u.UserName {
			t.Errorf("extension %s: present %v owner %q", u.UserName, ok, x.Owner)
		}
	}
	if len(snap.Users) != users || len(snap.Extensions) != users {
		t.Errorf("MX-ONE holds %d users and %d extensions, want %d each", len(snap.Users), len(snap.Extensions), users)
	}
	// Users with a phone line got an IP extension with the first phone's MAC.
	firstMAC := map[string]string{}
	for _, p := range src.Phones {
		for _, l := range p.Lines {
			if _, ok := firstMAC[l.UserID]; !ok {
				firstMAC[l.UserID] = p.SerialNumber
			}
		}
	}
	for user, mac := range firstMAC {
		x, _ := snap.Extension(user, "MX-SIPX")
		if !strings.EqualFold(x.Type, "ip") || !strings.EqualFold(strings.NewReplacer(":", "", "-", "").Replace(fmt.Sprint(x.Fields["macAddress"])), mac) {
			t.Errorf("extension %s: type %s MAC %v, want ip %s", user, x.Type, x.Fields["macAddress"], mac)
		}
	}
	if len(snap.SecurityProfiles) != 3 {
		t.Errorf("%d security profiles, want the 3 custom permissions", len(snap.SecurityProfiles))
	}
	report, err := os.ReadFile(filepath.Join(out, "mapped.mapping.txt"))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, report, "sipx-to-mxone.report.golden")
	assertOriginsCarried(t, e, out)
	assertSecretsOnlyInSecretsFile(t, e, out, log)

	log = e.mustCLI(exitOK, "migrate", "--from", "sipx", "--to", "mxone", "--profile", "sipx-to-mxone", "--out", out, "--yes", "--progress", "none")
	if !strings.Contains(log, "Nothing to change") {
		t.Errorf("re-running migrate should be all no-ops:\n%s", tail(log))
	}
}

func TestMigrateMXONEToSipx(t *testing.T) {
	e := newMigrateEnv(t)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "mxone", "--progress", "none", "../../testdata/mxone/rollout.xlsx")
	before := e.sipx.Snapshot()
	out := filepath.Join(e.dir, "site")
	log := e.mustCLI(exitOK, "migrate", "--from", "mxone", "--to", "sipx", "--profile", "mxone-to-sipx", "--out", out, "--yes", "--progress", "none")
	if !strings.Contains(log, "0 failed, 0 blocked") {
		t.Errorf("migrate did not apply cleanly:\n%s", tail(log))
	}
	src, snap := e.mxone.Snapshot(), e.sipx.Snapshot()
	owned := map[string][]string{}
	for _, x := range src.Extensions {
		owned[x.Owner] = append(owned[x.Owner], x.Number)
	}
	byName := map[string]int{}
	for i, u := range snap.Users {
		byName[u.UserName] = i
	}
	for _, u := range src.Users {
		i, ok := byName[u.UserID]
		if !ok {
			t.Errorf("user %s not migrated", u.UserID)
			continue
		}
		su := snap.Users[i]
		if api.Text(su.FirstName) != u.FirstName || api.Text(su.LastName) != u.LastName {
			t.Errorf("user %s: %q %q, want %q %q", u.UserID, api.Text(su.FirstName), api.Text(su.LastName), u.FirstName, u.LastName)
		}
		if got, want := slices.Sorted(slices.Values(su.Aliases)), slices.Sorted(slices.Values(owned[u.UserID])); !slices.Equal(got, want) {
			t.Errorf("user %s aliases %v, want its extensions %v", u.UserID, got, want)
		}
		if !slices.Equal(su.Groups, u.Departments) {
			t.Errorf("user %s groups %v, want its departments %v", u.UserID, su.Groups, u.Departments)
		}
	}
	if len(snap.Users) != len(before.Users)+len(src.Users) {
		t.Errorf("sipXcom holds %d users, want %d", len(snap.Users), len(before.Users)+len(src.Users))
	}
	// Every MX-ONE terminal with a MAC is a phone with a line of its owner.
	hex := regexp.MustCompile(`[^0-9a-f]`)
	phones := map[string]string{}
	for _, p := range snap.Phones {
		for _, l := range p.Lines {
			phones[p.SerialNumber] = l.UserID
		}
	}
	macs := 0
	for _, x := range src.Extensions {
		mac := fmt.Sprint(x.Fields["macAddress"])
		if m, ok := x.Fields["ipExtension"].(map[string]any); ok && m["macAddress"] != nil {
			mac = fmt.Sprint(m["macAddress"])
		}
		if mac == "<nil>" || mac == "" {
			continue
		}
		macs++
		serial := hex.ReplaceAllString(strings.ToLower(mac), "")
		if phones[serial] != x.Owner {
			t.Errorf("phone %s (extension %s): line of %q, want %q", serial, x.Number, phones[serial], x.Owner)
		}
	}
	if macs == 0 || len(snap.Phones) != macs {
		t.Errorf("sipXcom holds %d phones, want %d (one per MX-ONE MAC)", len(snap.Phones), macs)
	}
	report, err := os.ReadFile(filepath.Join(out, "mapped.mapping.txt"))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, report, "mxone-to-sipx.report.golden")

	log = e.mustCLI(exitOK, "migrate", "--from", "mxone", "--to", "sipx", "--profile", "mxone-to-sipx", "--out", out, "--yes", "--progress", "none")
	if !strings.Contains(log, "Nothing to change") {
		t.Errorf("re-running migrate should be all no-ops:\n%s", tail(log))
	}
}

// TestMigrateFailuresNameTheirSourceRow makes MX-ONE refuse most
// extensions (a number series too small for the site) and checks that the
// failures point back at the sipXcom rows they came from.
func TestMigrateFailuresNameTheirSourceRow(t *testing.T) {
	e := newMigrateEnv(t)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "sipx", "--progress", "none", sipxRollout)
	out := filepath.Join(e.dir, "site")
	log := e.mustCLI(exitPartial, "migrate", "--from", "sipx", "--to", "mxone", "--profile", "sipx-to-mxone",
		"--set", "numberSeries=EX:2000-2009", "--out", out, "--yes", "--progress", "none")
	if !regexp.MustCompile(`first at extensions!\d+ from source\.xlsx users!\d+`).MatchString(log) {
		t.Errorf("the failure reasons do not name the source row:\n%s", tail(log))
	}
	failed, _ := filepath.Glob(filepath.Join(e.dir, "state", "runs", "*", "failed.xlsx"))
	slices.Sort(failed)
	book, err := workbook.Open(failed[len(failed)-1], workbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	exts := book.Table("extensions")
	if exts == nil || exts.Column(mapping.OriginColumn) < 0 {
		t.Fatal("failed.xlsx has no extensions sheet with the #origin column")
	}
	it, err := exts.Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	rows := 0
	for it.Next() {
		rows++
		if o := it.Row().Cells[exts.Column(mapping.OriginColumn)]; !strings.HasPrefix(o, "source.xlsx users!") {
			t.Errorf("failed row %d: #origin %q, want its source row", it.Row().Num, o)
		}
	}
	if rows != 310 {
		t.Errorf("%d failed extension rows, want the 310 outside EX:2000-2009", rows)
	}
}
