package main

// End-to-end tests of issue 17 (hardening): no create repeated on resume,
// no secret in any encoding, one run per target, resume only where the
// run ran and only over records nobody changed since.

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/internal/redact/redacttest"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// proxy stands between pbxbatch and the simulator. It passes every request
// on, unless its rule answers it.
type proxy struct {
	URL  string
	mu   sync.Mutex
	rule func(w http.ResponseWriter, r *http.Request, body []byte) bool
}

func newProxy(t *testing.T, backend string) *proxy {
	t.Helper()
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &proxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.mu.Lock()
		rule := p.rule
		p.mu.Unlock()
		if rule == nil || !rule(w, r, body) {
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// set replaces the rule; nil passes everything on.
func (p *proxy) set(rule func(w http.ResponseWriter, r *http.Request, body []byte) bool) {
	p.mu.Lock()
	p.rule = rule
	p.mu.Unlock()
}

func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Write(b)
}

// newMXONEEnvBehindProxy is an MX-ONE environment whose target goes
// through a proxy.
func newMXONEEnvBehindProxy(t *testing.T, o simkit.Options, password string) (*cliEnv, *proxy) {
	t.Helper()
	var px *proxy
	e := newMXONEEnvVia(t, o, password, func(simURL string) string { px = newProxy(t, simURL); return px.URL })
	t.Setenv("XDG_CACHE_HOME", filepath.Join(e.dir, "cache")) // target locks
	return e, px
}

func isExtensionCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/pm-extension-ms/")
}

// An extension create lands and every request after it fails until the
// proxy is told to stop, so the operation ends failed with its extension on
// the target. Resume must read it back and finish it, never create it again.
func TestMXONEResumeNeverRecreatesAFailedCreateThatLanded(t *testing.T) {
	e, px := newMXONEEnvBehindProxy(t, simkit.Options{}, "e2e-secret-pw")
	dir := filepath.Join(e.dir, "csv")
	r := writeRolloutCSV(t, dir, smallRollout, "", nil)
	exts, aside := filepath.Join(dir, "extensions.csv"), filepath.Join(e.dir, "extensions.csv")
	if err := os.Rename(exts, aside); err != nil {
		t.Fatal(err)
	}
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", dir)
	if err := os.Rename(aside, exts); err != nil {
		t.Fatal(err)
	}

	var landed atomic.Bool
	px.set(func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if isExtensionCreate(r) && landed.CompareAndSwap(false, true) {
			return false // this one reaches the simulator
		}
		if !landed.Load() {
			return false
		}
		refuse(w, http.StatusBadRequest, "refused by the test proxy")
		return true
	})
	e.mustCLI(exitPartial, "apply", "--yes", "--target", "lab", "--progress", "none", dir)
	if n := len(e.sim.Snapshot().Extensions); !landed.Load() || n != 1 {
		t.Fatalf("%d extensions on the target after the failing apply, want the one that landed", n)
	}
	px.set(nil)

	runs, err := rundir.List(e.global[3])
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs: %v %v", runs, err)
	}
	out := e.mustCLI(exitOK, "resume", "--progress", "none", runs[0].ID)
	if n := e.sim.Stats().TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate-create attempts at the simulator: resume sent a create that had landed again", n)
	}
	assertSimHolds(t, e.sim.Snapshot(), r)
	want := "0 already settled, " + strconv.Itoa(r.Len("extension")) + " to read back first"
	if !strings.Contains(out, want) {
		t.Errorf("resume does not say what it does (%q):\n%s", want, out)
	}
	info, err := rundir.Stat(e.global[3], runs[0].ID)
	if err != nil || info.Resumes != 1 || info.State != rundir.Succeeded {
		t.Errorf("run after one resume: %+v, %v; want succeeded, resumed once", info, err)
	}
	entries, err := journal.Read(filepath.Join(runs[0].Dir, rundir.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	asUpdate := 0
	for _, e := range entries {
		if e.Sent == batch.OpUpdate && e.Status == batch.StatusSucceeded {
			asUpdate++
		}
	}
	if asUpdate != 1 {
		t.Errorf("%d creates journaled as finished by an update, want 1", asUpdate)
	}
}

// echoStyles answer a request with its body (and headers) quoted back in
// the ways servers and proxies do.
var echoStyles = map[string]func(w http.ResponseWriter, r *http.Request, body []byte){
	"json": func(w http.ResponseWriter, _ *http.Request, body []byte) {
		refuse(w, http.StatusBadRequest, "invalid request "+string(body))
	},
	"html": func(w http.ResponseWriter, _ *http.Request, body []byte) {
		refuse(w, http.StatusBadRequest, "<p>invalid request <code>"+html.EscapeString(string(body))+"</code></p>")
	},
	"html-page": func(w http.ResponseWriter, _ *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "<html><body><h1>400</h1><pre>"+html.EscapeString(string(body))+"</pre></body></html>")
	},
	"url": func(w http.ResponseWriter, _ *http.Request, body []byte) {
		refuse(w, http.StatusBadRequest, "rejected form: body="+url.QueryEscape(string(body)))
	},
	"base64": func(w http.ResponseWriter, r *http.Request, body []byte) {
		b64 := base64.StdEncoding.EncodeToString(body)
		w.Header().Set("X-Request-Body", b64)
		refuse(w, http.StatusBadRequest, "rejected; request was Authorization: "+r.Header.Get("Authorization")+", body (base64) "+b64)
	},
}

// Passwords with every character an encoder changes.
const (
	echoTargetPW = `tpw&<>"'-Zq9!target`
	echoUserPW   = `&<>"'-Zq9!usr`
)

func withHostilePasswords(sheets []sampledata.Sheet) []sampledata.Sheet {
	for i, s := range sheets {
		if s.Kind != "user" {
			continue
		}
		idCol := slices.Index(s.Header, "userId")
		rows := s.Rows
		sheets[i].Header = append(slices.Clone(s.Header), "newPassword")
		sheets[i].Rows = func(yield func([]string) bool) {
			for row := range rows {
				if !yield(append(slices.Clone(row), "pw-"+row[idCol]+echoUserPW)) {
					return
				}
			}
		}
	}
	return sheets
}

// A server echoing what it was sent, in each style: no password, the
// users' or the target's own, in any encoding, in any file the run leaves
// (plan, journal, meta, summary, the workbooks' every part) or on stdout or
// stderr.
func TestMXONEEchoedSecretsAreMaskedInEveryEncoding(t *testing.T) {
	for style, echo := range echoStyles {
		t.Run(style, func(t *testing.T) {
			e, px := newMXONEEnvBehindProxy(t, simkit.Options{}, echoTargetPW)
			in := filepath.Join(e.dir, "rollout.xlsx")
			r := sampledata.New(sampledata.Config{Locations: 2, Users: 8, Extensions: 8})
			sheets, err := r.Sheets(schemas.MustLoad("mxone"))
			if err != nil {
				t.Fatal(err)
			}
			if err := sampledata.WriteXLSX(in, withHostilePasswords(sheets)); err != nil {
				t.Fatal(err)
			}
			var secrets []string
			for u := range r.Records("user") {
				secrets = append(secrets, "pw-"+u.String("userId")+echoUserPW)
			}
			secrets = append(secrets, echoTargetPW)

			// Every other user create is refused with the request echoed.
			var n atomic.Int64
			px.set(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
				if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/user-ms/") && n.Add(1)%2 == 1 {
					echo(w, r, body)
					return true
				}
				return false
			})
			var streams strings.Builder
			code, out, errs := e.cli("-v", "apply", "--yes", "--target", "lab", "--progress", "log", in)
			streams.WriteString(out + errs)
			if code != exitPartial {
				t.Fatalf("apply: exit %d, want %d\n%s", code, exitPartial, tail(out+errs))
			}
			// Then the login itself is echoed: the target's password.
			px.set(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
				if strings.HasPrefix(r.URL.Path, "/auth/") {
					echo(w, r, body)
					return true
				}
				return false
			})
			runs, _ := rundir.List(e.global[3])
			if len(runs) != 1 {
				t.Fatalf("runs: %+v", runs)
			}
			code, out, errs = e.cli("resume", "--progress", "none", runs[0].ID)
			streams.WriteString(out + errs)
			if code != exitError {
				t.Fatalf("resume with the login refused: exit %d\n%s", code, tail(out+errs))
			}
			reached := false
			for _, u := range e.sim.Snapshot().Users {
				reached = reached || u.HasPassword
			}
			if !reached {
				t.Fatal("no password reached the target: the test proves nothing")
			}
			texts := scanTexts(t, e.global[3])
			texts["stdout and stderr"] = streams.String()
			if len(texts) < 7 {
				t.Errorf("only %d files and streams scanned: %v", len(texts), slices.Sorted(mapsKeys(texts)))
			}
			for name, text := range texts {
				if found := redacttest.Leaks(text, secrets...); len(found) > 0 {
					t.Errorf("%s holds the secrets %q in some encoding", name, found)
				}
			}
			// The scan does find them where they are: in what the proxy sent back.
			rec := httptest.NewRecorder()
			sent, _ := json.Marshal(map[string]string{"newPassword": secrets[0]})
			echo(rec, httptest.NewRequest(http.MethodPost, "/user-ms/user/v1", nil), sent)
			if len(redacttest.Leaks(rec.Body.String(), secrets[0])) == 0 {
				t.Errorf("the scan does not see the secret in the %s echo itself", style)
			}
		})
	}
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// scanTexts returns the content of every file under dir, workbooks unzipped
// part by part.
func scanTexts(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.HasSuffix(path, ".xlsx") {
			out[path] = string(b)
			return nil
		}
		z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return err
		}
		for _, f := range z.File {
			rc, err := f.Open()
			if err != nil {
				return err
			}
			part, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			out[path+"!"+f.Name] = string(part)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Two applies on one target at once — from the same state directory or
// another — are refused, naming the run, its host and process; --force
// goes on knowingly.
func TestMXONETwoAppliesOnOneTargetAreRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	e, _ := newMXONEEnvBehindProxy(t, simkit.Options{Latency: 20 * time.Millisecond}, "e2e-secret-pw")
	in := filepath.Join(e.dir, "rollout.xlsx")
	writeRollout(t, in, smallRollout)
	cmd := exec.Command(os.Args[0], append(slices.Clone(e.global), "apply", "--yes", "--target", "lab", "--progress", "none", in)...)
	cmd.Env = append(os.Environ(), e2eMainEnv+"=1")
	var first bytes.Buffer
	cmd.Stdout, cmd.Stderr = &first, &first
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var runID string
	for deadline := time.Now().Add(30 * time.Second); runID == ""; time.Sleep(20 * time.Millisecond) {
		if runs, _ := rundir.List(e.global[3]); len(runs) > 0 {
			runID = runs[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first apply started no run:\n%s", first.String())
		}
	}
	host, _ := os.Hostname()
	other := *e
	other.global = []string{e.global[0], e.global[1], "--state-dir", filepath.Join(e.dir, "state2")}
	locs := filepath.Join(e.dir, "locs")
	os.MkdirAll(locs, 0o755)
	os.WriteFile(filepath.Join(locs, "locations.csv"), []byte("locationName,description\nElsewhere,x\n"), 0o644)
	for name, env := range map[string]*cliEnv{"same state directory": e, "another state directory": &other} {
		code, out, errs := env.cli("apply", "--yes", "--target", "lab", "--progress", "none", locs)
		msg := out + errs
		if code != exitError {
			t.Errorf("%s: second apply exit %d, want %d\n%s", name, code, exitError, msg)
		}
		for _, want := range []string{"in use by run " + runID, "process " + strconv.Itoa(cmd.Process.Pid), host, "--force"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: the refusal does not name %q:\n%s", name, want, msg)
			}
		}
	}
	for _, l := range e.sim.Snapshot().Locations {
		if l.Name == "Elsewhere" {
			t.Error("a refused apply changed the target")
		}
	}
	code, out, errs := other.cli("apply", "--yes", "--force", "--target", "lab", "--progress", "none", locs)
	if code != exitOK || !strings.Contains(errs, "going on anyway (--force)") {
		t.Errorf("--force: exit %d\n%s%s", code, out, errs)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the first apply: %v\n%s", err, tail(first.String()))
	}
	if n := e.sim.Stats().TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate creates", n)
	}
}

// Resume refuses a target whose URL is not the one the run ran against,
// and records changed on the target that the run has not written yet.
func TestMXONEResumeRefusesAnotherTargetAndStaleRecords(t *testing.T) {
	e, px := newMXONEEnvBehindProxy(t, simkit.Options{}, "e2e-secret-pw")
	dir := filepath.Join(e.dir, "csv")
	writeRolloutCSV(t, dir, smallRollout, "", nil)
	setAside := func(names ...string) func() {
		for _, n := range names {
			if err := os.Rename(filepath.Join(dir, n), filepath.Join(e.dir, n)); err != nil {
				t.Fatal(err)
			}
		}
		return func() {
			for _, n := range names {
				os.Rename(filepath.Join(e.dir, n), filepath.Join(dir, n))
			}
		}
	}
	back := setAside("users.csv", "extensions.csv")
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", dir)
	back()

	// The first user create is refused; --fail-fast leaves most unsent.
	var refused atomic.Bool
	px.set(func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/user-ms/") && refused.CompareAndSwap(false, true) {
			refuse(w, http.StatusBadRequest, "refused by the test proxy")
			return true
		}
		return false
	})
	e.mustCLI(exitPartial, "apply", "--yes", "--fail-fast", "--concurrency", "1", "--target", "lab", "--progress", "none", dir)
	px.set(nil)
	runs, _ := rundir.List(e.global[3])
	run := runs[0]

	// The name now points at another system.
	cfg, _ := os.ReadFile(e.global[1])
	moved := strings.Replace(string(cfg), px.URL, e.srv.URL, 1)
	os.WriteFile(e.global[1], []byte(moved), 0o644)
	out := e.mustCLI(exitError, "resume", "--progress", "none", run.ID)
	if !strings.Contains(out, "ran against "+px.URL) || !strings.Contains(out, e.srv.URL) {
		t.Errorf("resume against another URL is not refused naming both:\n%s", out)
	}
	os.WriteFile(e.global[1], cfg, 0o644)

	// A user the run has not sent yet is created behind its back.
	p, err := plan.Load(filepath.Join(run.Dir, rundir.PlanFile))
	if err != nil {
		t.Fatal(err)
	}
	prior, err := journal.Replay(filepath.Join(run.Dir, rundir.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	var unsent *batch.Op
	for _, op := range p.Ops {
		if e := prior[op.ID]; op.Kind == "user" && op.Action == batch.OpCreate && e.Attempt == 0 && e.Status != batch.StatusSucceeded {
			unsent = op
		}
	}
	if unsent == nil {
		t.Fatal("every user was sent: the test proves nothing")
	}
	users, _ := os.ReadFile(filepath.Join(dir, "users.csv"))
	lines := strings.Split(strings.TrimSpace(string(users)), "\n")
	behind := filepath.Join(e.dir, "behind")
	os.MkdirAll(behind, 0o755)
	os.WriteFile(filepath.Join(behind, "users.csv"), []byte(lines[0]+"\n"+lines[unsent.Origin.Row-1]+"\n"), 0o644)
	other := *e
	other.global = []string{e.global[0], e.global[1], "--state-dir", filepath.Join(e.dir, "state2")}
	other.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", behind)

	out = e.mustCLI(exitError, "resume", "--progress", "none", run.ID)
	if !strings.Contains(out, "stale") || !strings.Contains(out, unsent.Key) || !strings.Contains(out, "created on the target since") {
		t.Errorf("resume over a record changed since is not refused naming it (%s):\n%s", unsent.Key, out)
	}
}
