package main

// End-to-end tests of issue 17 (hardening): no create repeated on resume,
// no secret in any encoding, one run per target, resume only where the
// run ran and only over records nobody changed since.

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	"github.com/pbxbatch/pbxbatch/batch/report"
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
	return e, px
}

func isExtensionCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/pm-extension-ms/")
}

func isUserCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/user-ms/")
}

// refusing is a proxy rule that answers 400 to the requests match accepts
// whose count (from 1) pick accepts, and passes the rest on.
func refusing(match func(*http.Request) bool, pick func(n int64) bool) func(http.ResponseWriter, *http.Request, []byte) bool {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if match(r) && pick(n.Add(1)) {
			refuse(w, http.StatusBadRequest, "refused by the test proxy")
			return true
		}
		return false
	}
}

func first(n int64) bool { return n == 1 }

// An extension create lands, then the requests that finish it fail until
// the proxy is told to stop, so the operation ends failed with its extension
// on the target: its read-back refused, or its user link out of retries.
// Resume must read it back and finish it as an update, never create it
// again.
func TestMXONEResumeNeverRecreatesAFailedCreateThatLanded(t *testing.T) {
	for name, after := range map[string]func() func(http.ResponseWriter, *http.Request, []byte) bool{
		"read-back refused":        refuseAfterFirstExtensionCreate,
		"user link out of retries": failFirstUserLink,
	} {
		t.Run(name, func(t *testing.T) { resumeAfterALandedCreate(t, after()) })
	}
}

// refuseAfterFirstExtensionCreate lets the first extension create through
// and refuses every request after it.
func refuseAfterFirstExtensionCreate() func(http.ResponseWriter, *http.Request, []byte) bool {
	var landed atomic.Bool
	return func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if isExtensionCreate(r) && landed.CompareAndSwap(false, true) {
			return false // this one reaches the simulator
		}
		if !landed.Load() {
			return false
		}
		refuse(w, http.StatusBadRequest, "refused by the test proxy")
		return true
	}
}

// failFirstUserLink answers 500 to every write of the first user an
// extension is linked to.
func failFirstUserLink() func(http.ResponseWriter, *http.Request, []byte) bool {
	var mu sync.Mutex
	user := ""
	return func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, "/user-ms/user/v1/") {
			return false
		}
		mu.Lock()
		user = cmp.Or(user, r.URL.Path)
		hit := user == r.URL.Path
		mu.Unlock()
		if hit {
			refuse(w, http.StatusInternalServerError, "link refused by the test proxy")
		}
		return hit
	}
}

func resumeAfterALandedCreate(t *testing.T, rule func(http.ResponseWriter, *http.Request, []byte) bool) {
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

	px.set(rule)
	e.mustCLI(exitPartial, "apply", "--yes", "--target", "lab", "--progress", "none", dir)
	px.set(nil)
	runs, err := rundir.List(e.global[3])
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs: %v %v", runs, err)
	}
	failed := runs[0].Counts.Failed
	snap := e.sim.Snapshot()
	landed := 0
	for _, x := range snap.Extensions {
		if x.Owner == "" {
			landed++
		}
	}
	if failed == 0 || landed == 0 {
		t.Fatalf("%d failed, %d extensions on the target without their owner: the test proves nothing", failed, landed)
	}

	out := e.mustCLI(exitOK, "resume", "--progress", "none", runs[0].ID)
	if n := e.sim.Stats().TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate-create attempts at the simulator: resume sent a create that had landed again", n)
	}
	assertSimHolds(t, e.sim.Snapshot(), r)
	want := fmt.Sprintf("%d already settled, %d to read back first, 0 to run", runs[0].Ops-failed, failed)
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
	asUpdate := map[int]bool{}
	for _, e := range entries {
		if e.Sent == batch.OpUpdate && e.Status == batch.StatusSucceeded {
			asUpdate[e.Op] = true
		}
	}
	if len(asUpdate) != landed {
		t.Errorf("%d creates journaled as finished by an update, want %d", len(asUpdate), landed)
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

// writePasswordRollout writes a small rollout workbook whose users have
// passwords ending in suffix.
func writePasswordRollout(t *testing.T, path, suffix string) *sampledata.Rollout {
	t.Helper()
	r := sampledata.New(sampledata.Config{Locations: 2, Users: 8, Extensions: 8})
	sheets, err := r.Sheets(schemas.MustLoad("mxone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sampledata.WriteXLSX(path, withPasswordsEnding(sheets, suffix)); err != nil {
		t.Fatal(err)
	}
	return r
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
			r := writePasswordRollout(t, in, echoUserPW)
			var secrets []string
			for u := range r.Records("user") {
				secrets = append(secrets, "pw-"+u.String("userId")+echoUserPW)
			}
			secrets = append(secrets, echoTargetPW)

			// Every other user create is refused with the request echoed.
			var n atomic.Int64
			px.set(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
				if isUserCreate(r) && n.Add(1)%2 == 1 {
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
	t.Cleanup(func() { cmd.Process.Kill() }) // when the test fails before Wait
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
	px.set(refusing(isUserCreate, first))
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

// A saved plan edited after review is refused when apply is given the
// digest plan --out printed; the reviewed one applies.
func TestMXONESavedPlanIsCheckedAgainstWhatWasReviewed(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	dir := filepath.Join(e.dir, "in")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "locations.csv"), []byte("locationName,description\nStockholm,HQ\n"), 0o644)
	planFile := filepath.Join(e.dir, "plan.json")
	out := e.mustCLI(exitChanges, "plan", "--target", "lab", "--out", planFile, dir)
	m := regexp.MustCompile(`sha256 ([0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("plan --out prints no digest:\n%s", out)
	}
	reviewed, _ := os.ReadFile(planFile)
	os.WriteFile(planFile, bytes.Replace(reviewed, []byte(`"HQ"`), []byte(`"Edited"`), 1), 0o644)
	out = e.mustCLI(exitError, "apply", "--yes", "--target", "lab", "--progress", "none", "--plan-sha256", m[1], planFile)
	if !strings.Contains(out, "not the plan that was reviewed") || len(e.sim.Snapshot().Locations) != 0 {
		t.Errorf("an edited plan was not refused:\n%s", out)
	}
	os.WriteFile(planFile, reviewed, 0o644)
	e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", "--plan-sha256", m[1], planFile)
}

// A damaged journal line: runs shows it, resume says what to do, resume
// --from-target reads every operation back and finishes without a
// duplicate. Then the target is restored from a backup taken before the
// run: --from-target makes it whole again.
func TestMXONEResumeFromTargetAfterADamagedJournalAndARestore(t *testing.T) {
	e, px := newMXONEEnvBehindProxy(t, simkit.Options{}, "e2e-secret-pw")
	dir := filepath.Join(e.dir, "csv")
	r := writeRolloutCSV(t, dir, smallRollout, "", nil)
	px.set(refusing(isExtensionCreate, func(n int64) bool { return n%3 == 0 }))
	e.mustCLI(exitPartial, "apply", "--yes", "--target", "lab", "--progress", "none", dir)
	px.set(nil)
	runs, _ := rundir.List(e.global[3])
	run := runs[0]
	path := filepath.Join(run.Dir, rundir.JournalFile)
	raw, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(raw), "\n")
	os.WriteFile(path, []byte(lines[0]+"{damaged\n"+strings.Join(lines[1:], "")), 0o600)

	out := e.mustCLI(exitOK, "runs")
	if !strings.Contains(out, "damaged journal entry") || !strings.Contains(out, "--from-target") {
		t.Errorf("runs does not show the damaged journal:\n%s", out)
	}
	out = e.mustCLI(exitError, "resume", "--progress", "none", run.ID)
	if !strings.Contains(out, "resume --from-target "+run.ID) {
		t.Errorf("resume does not say what to do:\n%s", out)
	}
	e.mustCLI(exitOK, "resume", "--from-target", "--progress", "none", run.ID)
	assertSimHolds(t, e.sim.Snapshot(), r)
	if n := e.sim.Stats().TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate creates after resume --from-target", n)
	}
	if kept, _ := filepath.Glob(filepath.Join(run.Dir, "journal.damaged-*.jsonl")); len(kept) != 1 {
		t.Errorf("the damaged journal was not kept: %v", kept)
	}

	// Restored from a backup older than the run: every record it created
	// is gone. A plain resume trusts the journal; --from-target re-creates.
	if err := e.sim.Reset(); err != nil {
		t.Fatal(err)
	}
	out = e.mustCLI(exitOK, "resume", "--from-target", "--progress", "none", run.ID)
	if !strings.Contains(out, "to read back first") {
		t.Errorf("resume --from-target does not say it reads back:\n%s", out)
	}
	assertSimHolds(t, e.sim.Snapshot(), r)
	if n := e.sim.Stats().TotalDuplicateCreates(); n != 0 {
		t.Errorf("%d duplicate creates after the restore", n)
	}
}

// Resume and report find an input that moved (--input, checked by its
// SHA-256); without it resume says how.
func TestMXONEResumeAndReportFindAMovedInput(t *testing.T) {
	e, px := newMXONEEnvBehindProxy(t, simkit.Options{}, "e2e-secret-pw")
	in := filepath.Join(e.dir, "rollout.xlsx")
	r := writePasswordRollout(t, in, secretMarker)
	px.set(refusing(isUserCreate, first))
	e.mustCLI(exitPartial, "apply", "--yes", "--target", "lab", "--progress", "none", in)
	px.set(nil)
	runs, _ := rundir.List(e.global[3])
	moved := filepath.Join(e.dir, "moved", "rollout.xlsx")
	os.MkdirAll(filepath.Dir(moved), 0o755)
	if err := os.Rename(in, moved); err != nil {
		t.Fatal(err)
	}
	out := e.mustCLI(exitError, "resume", "--progress", "none", runs[0].ID)
	if !strings.Contains(out, "--input") {
		t.Errorf("resume without the input does not say how to find it:\n%s", out)
	}
	e.mustCLI(exitOK, "resume", "--progress", "none", "--input", moved, runs[0].ID)
	assertSimHolds(t, e.sim.Snapshot(), r)
	os.Remove(filepath.Join(runs[0].Dir, report.ResultsFile))
	other := filepath.Join(e.dir, "other.xlsx")
	writeRollout(t, other, smallRollout)
	if out := e.mustCLI(exitError, "report", "--input", other, runs[0].ID); !strings.Contains(out, "not the input") {
		t.Errorf("report accepted another input:\n%s", out)
	}
	e.mustCLI(exitOK, "report", "--input", moved, runs[0].ID)
	if _, err := os.Stat(filepath.Join(runs[0].Dir, report.ResultsFile)); err != nil {
		t.Errorf("report with the moved input wrote no results.xlsx: %v", err)
	}
}

// afterJournalGrows fires d after the newest run's journal in stateDir has
// grown (the run is writing), so that a kill lands in the middle of a run
// rather than while it is still planning.
func afterJournalGrows(stateDir string, d time.Duration) <-chan time.Time {
	size := func() int64 {
		runs, _ := rundir.List(stateDir)
		if len(runs) == 0 {
			return 0
		}
		fi, err := os.Stat(filepath.Join(runs[0].Dir, rundir.JournalFile))
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	fire := make(chan time.Time, 1)
	go func() {
		start := size()
		for deadline := time.Now().Add(2 * time.Minute); size() <= start && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(d)
		fire <- time.Now()
	}()
	return fire
}

// chaosEnv names the fault rates of TestMXONEChaosFaultsKillAndResume; the
// test is skipped without it (it takes minutes):
//
//	PBXBATCH_CHAOS_FAULT_RATES=0.3,0.5 go test -run Chaos -v ./cmd/pbxbatch
const chaosEnv = "PBXBATCH_CHAOS_FAULT_RATES"

// Every fault the simulator has, writes that land and fail included, at
// each rate; apply is killed with SIGKILL three times and resumed until it
// finishes. Zero duplicate-create attempts reach the simulator.
func TestMXONEChaosFaultsKillAndResume(t *testing.T) {
	rates := os.Getenv(chaosEnv)
	if rates == "" {
		t.Skip("set " + chaosEnv + " (e.g. 0.3,0.5) to run")
	}
	faults, err := simkit.ParseFaults("429,503,500,drop,timeout,write/500@after,write/drop@after,write/timeout@after")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range strings.Split(rates, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(s, func(t *testing.T) {
			e := newMXONEEnv(t, simkit.Options{FaultRate: rate, Faults: faults, FaultSeed: 11, Latency: 2 * time.Millisecond,
				TimeoutHold: 300 * time.Millisecond, RetryAfter: 10 * time.Millisecond})
			in := filepath.Join(e.dir, "rollout.xlsx")
			r := writeRollout(t, in, smallRollout)
			rng := rand.New(rand.NewPCG(uint64(rate*100), 3))
			args := append(slices.Clone(e.global), "apply", "--yes", "--target", "lab", "--progress", "none", in)
			kills, resumes := 0, 0
			for attempt := 0; ; attempt++ {
				var kill <-chan time.Time
				if kills < 3 {
					kill = afterJournalGrows(e.global[3], time.Duration(200+rng.IntN(2000))*time.Millisecond)
				}
				killed, out, err := runCLIProcess(t, args, kill)
				if killed {
					kills++
				}
				if err == nil {
					break
				}
				if attempt > 40 {
					t.Fatalf("not done after %d attempts: %v\n%s", attempt, err, tail(out))
				}
				if runs, _ := rundir.List(e.global[3]); len(runs) > 0 {
					args = append(slices.Clone(e.global), "resume", "--progress", "none", runs[0].ID)
					resumes++
				}
			}
			assertSimHolds(t, e.sim.Snapshot(), r)
			st := e.sim.Stats()
			t.Logf("fault rate %s: %d faults injected, %d kills while the run was writing its journal, %d resumes, %d duplicate-create attempts",
				s, st.TotalFaults(), kills, resumes, st.TotalDuplicateCreates())
			if n := st.TotalDuplicateCreates(); n != 0 {
				t.Errorf("%d duplicate-create attempts: %v", n, st.DuplicateCreates)
			}
		})
	}
}
