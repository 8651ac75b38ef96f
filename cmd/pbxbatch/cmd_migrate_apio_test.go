package main

// End-to-end tests of migrate into APIO, through the real CLI: the sample
// of MX-ONE or sipXcom applied to its simulator, exported, mapped to
// virtual on-net users, planned and applied to an APIO simulator holding
// only its default group (footenant/foogroup, the profiles' defaults).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters/apio/api"
	apiosim "github.com/pbxbatch/pbxbatch/adapters/apio/sim"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
)

// newMigrateAPIOEnv is newMigrateEnv plus an APIO simulator ("apio") with
// its default tenant and group.
func newMigrateAPIOEnv(t *testing.T) (*migrateEnv, *apiosim.Sim) {
	t.Helper()
	e := newMigrateEnv(t)
	s, err := apiosim.New(simkit.Options{Username: "admin", Password: "e2e-secret-pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg := e.global[1]
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintf(f, "  apio:\n    adapter: apio\n    url: %s\n    username: admin\n    password_env: %s\n    rate: 2000\n    concurrency: 8\n    timeout: 2s\n", srv.URL, e2ePasswordEnv)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return e, s
}

// assertVirtualUsers checks that the simulator holds exactly want (key
// tenant/group/phoneNumber), with the CLI names equal to the names.
func assertVirtualUsers(t *testing.T, s *apiosim.Sim, want map[string]api.User) {
	t.Helper()
	got := s.Users()
	if len(got) != len(want) {
		t.Errorf("APIO holds %d virtual users, want %d", len(got), len(want))
	}
	bad := 0
	for key, w := range want {
		u, ok := got[key]
		switch {
		case !ok:
			t.Errorf("virtual user %s missing", key)
		case u.Extension != w.Extension || u.FirstName != w.FirstName || u.LastName != w.LastName ||
			u.CLIFirstName != w.FirstName || u.CLILastName != w.LastName || u.CallType != "default":
			t.Errorf("virtual user %s: %+v, want extension %s, names and CLI names %q %q, call type default (the profiles' default)", key, u, w.Extension, w.FirstName, w.LastName)
		default:
			continue
		}
		if bad++; bad == 10 {
			t.Fatal("too many differences")
		}
	}
}

func TestMigrateMXONEToAPIO(t *testing.T) {
	e, s := newMigrateAPIOEnv(t)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "mxone", "--progress", "none", "../../testdata/mxone/rollout.xlsx")
	out := filepath.Join(e.dir, "site")
	log := e.mustCLI(exitOK, "migrate", "--from", "mxone", "--to", "apio", "--profile", "mxone-to-apio", "--out", out, "--yes", "--progress", "none")
	if !strings.Contains(log, "0 failed, 0 blocked") {
		t.Errorf("migrate did not apply cleanly:\n%s", tail(log))
	}
	src := e.mxone.Snapshot()
	names := map[string][2]string{}
	for _, u := range src.Users {
		names[u.UserID] = [2]string{u.FirstName, u.LastName}
	}
	// Every extension is a virtual user named by its owner (the sample's
	// extensions all have one), its number behind the default prefix.
	want := map[string]api.User{}
	for _, x := range src.Extensions {
		n, ok := names[x.Owner]
		if !ok {
			t.Fatalf("extension %s@%s has no owner in the sample: the test expects one", x.Number, x.Subsystem)
		}
		want["footenant/foogroup/+468555"+x.Number] = api.User{Extension: x.Number, FirstName: n[0], LastName: n[1]}
	}
	if len(want) != 700 {
		t.Errorf("%d distinct MX-ONE extension numbers, want the sample's 700", len(want))
	}
	assertVirtualUsers(t, s, want)
	report, err := os.ReadFile(filepath.Join(out, "mapped.mapping.txt"))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, report, "mxone-to-apio.report.golden")

	log = e.mustCLI(exitOK, "migrate", "--from", "mxone", "--to", "apio", "--profile", "mxone-to-apio", "--out", out, "--yes", "--progress", "none")
	if !strings.Contains(log, "Nothing to change") {
		t.Errorf("re-running migrate should be all no-ops:\n%s", tail(log))
	}
}

// writeCSVSource writes a source directory of CSV files.
func writeCSVSource(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// virtualUserRows reads the virtual_users sheet of a mapped workbook:
// phone number → field → value.
func virtualUserRows(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	book, err := workbook.Open(path, workbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	tb := book.Table("virtual_users")
	if tb == nil {
		t.Fatal("no virtual_users sheet")
	}
	it, err := tb.Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string]map[string]string{}
	for it.Next() {
		row := map[string]string{}
		for i, h := range tb.Header {
			if i < len(it.Row().Cells) {
				row[strings.TrimRight(h, "*")] = it.Row().Cells[i]
			}
		}
		out[row["phoneNumber"]] = row
	}
	return out
}

// TestMapToAPIOParamsAndNameDefaults checks what the sample does not
// show: --set tenant, group, prefix and call type; an MX-ONE extension
// without an owner named by its own name, one with no name anywhere named
// by the documented default.
func TestMapToAPIOParamsAndNameDefaults(t *testing.T) {
	e := &cliEnv{t: t, dir: t.TempDir()}
	src := filepath.Join(e.dir, "mxone")
	writeCSVSource(t, src, map[string]string{
		"users.csv": "userId,firstName,lastName\nu1,Anna,Berg\n",
		"extensions.csv": "extensionNumber,subsystemName,extensionType,owner,nameIdentity.firstName,nameIdentity.lastName\n" +
			"1000,MX-STO,ip,u1,Other,Name\n1001,MX-STO,virtual,,Reception,Desk\n1002,MX-STO,virtual,,,\n",
	})
	mapped := filepath.Join(e.dir, "mxone.xlsx")
	e.mustCLI(exitOK, "map", "--profile", "mxone-to-apio", "--set", "tenant=acme", "--set", "group=hq", "--set", "e164Prefix=+4930123",
		"--set", "callType=remote", "-o", mapped, src)
	rows := virtualUserRows(t, mapped)
	for _, want := range [][3]string{
		{"1000", "Anna", "Berg"}, // the owner's name, not the extension's
		{"1001", "Reception", "Desk"},
		{"1002", "Extension", "1002"}, // no name anywhere: the documented default
	} {
		phone := "+4930123" + want[0]
		r := rows[phone]
		if r == nil || r["tenant"] != "acme" || r["group"] != "hq" || r["extension"] != want[0] || r["callType"] != "remote" ||
			r["firstName"] != want[1] || r["lastName"] != want[2] || r["cliFirstName"] != want[1] || r["cliLastName"] != want[2] {
			t.Errorf("virtual user %s: %v, want acme/hq, extension %s, names %s %s, call type remote", phone, r, want[0], want[1], want[2])
		}
	}
	if len(rows) != 3 {
		t.Errorf("%d virtual users, want 3", len(rows))
	}

}
