package main

// End-to-end tests of migrate into APIO, through the real CLI: the sample
// of MX-ONE or sipXcom applied to its simulator, exported, mapped to
// virtual on-net users, planned and applied to an APIO simulator holding
// only its default group (footenant/foogroup, the profiles' defaults).

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters/apio/api"
	apiosim "github.com/pbxbatch/pbxbatch/adapters/apio/sim"
	sipxapi "github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
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

func TestMigrateSipxToAPIO(t *testing.T) {
	e, s := newMigrateAPIOEnv(t)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "sipx", "--progress", "none", sipxRollout)
	out := filepath.Join(e.dir, "site")
	log := e.mustCLI(exitOK, "migrate", "--from", "sipx", "--to", "apio", "--profile", "sipx-to-apio", "--out", out, "--yes", "--progress", "none")
	if !strings.Contains(log, "0 failed, 0 blocked") {
		t.Errorf("migrate did not apply cleanly:\n%s", tail(log))
	}
	// Every user whose name is a number, and each of its first two numeric
	// aliases, is a virtual user of the user's name.
	number := regexp.MustCompile(`^[0-9]{1,10}$`)
	want := map[string]api.User{}
	for _, u := range e.sipx.Snapshot().Users {
		w := api.User{FirstName: sipxapi.Text(u.FirstName), LastName: sipxapi.Text(u.LastName)}
		var exts []string
		if number.MatchString(u.UserName) {
			exts = append(exts, u.UserName)
		}
		aliases := 0
		for _, a := range u.Aliases {
			if number.MatchString(a) && aliases < 2 {
				exts, aliases = append(exts, a), aliases+1
			}
		}
		for _, x := range exts {
			w.Extension = x
			want["footenant/foogroup/+468555"+x] = w
		}
	}
	if len(want) != 320 {
		t.Errorf("%d sipXcom extensions, want the sample's 320 users", len(want))
	}
	assertVirtualUsers(t, s, want)
	report, err := os.ReadFile(filepath.Join(out, "mapped.mapping.txt"))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, report, "sipx-to-apio.report.golden")

	log = e.mustCLI(exitOK, "migrate", "--from", "sipx", "--to", "apio", "--profile", "sipx-to-apio", "--out", out, "--yes", "--progress", "none")
	if !strings.Contains(log, "Nothing to change") {
		t.Errorf("re-running migrate should be all no-ops:\n%s", tail(log))
	}
}
