package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	mxonesim "github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/internal/config"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// planEnv is an MX-ONE simulator on loopback and a config naming it.
type planEnv struct {
	t      *testing.T
	dir    string
	config string
}

func newPlanEnv(t *testing.T) *planEnv {
	t.Helper()
	sim, err := mxonesim.New(mxonesim.Options{Options: simkit.Options{Password: "pw-for-test"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pbxbatch.yaml")
	body := "targets:\n  lab:\n    adapter: mxone\n    url: " + srv.URL + "\n    username: admin\n    password_env: PBXBATCH_PLAN_TEST_PW\n    rate: 200\n    concurrency: 4\n" +
		"  down:\n    adapter: mxone\n    url: http://127.0.0.1:1\n    username: admin\n    password_env: PBXBATCH_PLAN_TEST_PW\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PBXBATCH_PLAN_TEST_PW", "pw-for-test")
	return &planEnv{t: t, dir: dir, config: cfg}
}

// input writes a directory of CSV files and returns its path.
func (e *planEnv) input(name string, files map[string]string) string {
	e.t.Helper()
	d := filepath.Join(e.dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(d, f), []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	return d
}

func (e *planEnv) run(args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"--config", e.config}, args...))
	err := root.ExecuteContext(context.Background())
	if err != nil && !isSilent(err) {
		errb.WriteString(err.Error())
	}
	return exitCode(err), out.String(), errb.String()
}

func TestPlanCommandExitCodes(t *testing.T) {
	e := newPlanEnv(t)
	in := e.input("new", map[string]string{"locations.csv": "locationName,description\nLab1,first lab\n"})
	out := filepath.Join(e.dir, "plan.json")

	code, stdout, stderr := e.run("plan", "--target", "lab", "--out", out, in)
	if code != exitChanges || !strings.Contains(stdout, "+ location Lab1") || !strings.Contains(stderr, "Saved the plan to "+out) {
		t.Fatalf("changes: exit %d\n%s\n%s", code, stdout, stderr)
	}
	p, err := plan.Load(out)
	if err != nil || len(p.Ops) != 1 || p.Target != "lab" || p.InputSHA256 == "" {
		t.Fatalf("saved plan: %+v %v", p, err)
	}

	// Create the location on the target: the same input is then no change.
	tg, err := config.LoadTarget(e.config, "lab", registry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := registry().Get("mxone")
	conn, err := a.Open(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Apply(context.Background(), adapters.Change{Kind: "location", Action: adapters.Create, Record: schemas.Record{"locationName": "Lab1", "description": "first lab"}}); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = e.run("plan", "--target", "lab", in)
	if code != exitOK || !strings.Contains(stdout, "No changes") {
		t.Fatalf("no changes: exit %d\n%s", code, stdout)
	}

	// JSON output is the plan itself.
	code, stdout, _ = e.run("plan", "--target", "lab", "--format", "json", in)
	if code != exitOK {
		t.Fatalf("json: exit %d", code)
	}
	if p, err := plan.Unmarshal([]byte(stdout)); err != nil || p.Ops[0].Action != "noop" {
		t.Fatalf("json output: %v\n%s", err, stdout)
	}
}

func TestPlanCommandBlockedRowsAreErrors(t *testing.T) {
	e := newPlanEnv(t)
	in := e.input("bad", map[string]string{
		"locations.csv":   "locationName\nLab1\n",
		"departments.csv": "departmentName,location\nOps,Nowhere\nDev,Lab1\n",
	})
	out := filepath.Join(e.dir, "plan.json")
	code, stdout, stderr := e.run("plan", "--target", "lab", "--out", out, in)
	if code != exitError || !strings.Contains(stdout, "! department Ops (departments.csv:2): blocked") ||
		!strings.Contains(stderr, `location "Nowhere" (departments.csv:2:B) is neither in the workbook nor on target lab`) ||
		!strings.Contains(stderr, "the plan was NOT saved") {
		t.Fatalf("blocked: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a plan with blocked rows was saved: %v", err)
	}
	code, _, _ = e.run("plan", "--target", "lab", "--out", out, "--allow-blocked", in)
	if code != exitChanges {
		t.Fatalf("--allow-blocked: exit %d", code)
	}
	if p, err := plan.Load(out); err != nil || len(p.Ops) != 3 {
		t.Fatalf("--allow-blocked plan: %v", err)
	}
}

// An invalid input is reported without connecting: the "down" target's
// address refuses connections.
func TestPlanCommandValidatesFirst(t *testing.T) {
	e := newPlanEnv(t)
	in := e.input("invalid", map[string]string{"departments.csv": "departmentName,location,colour\nOps,Lab1,red\n"})
	code, _, stderr := e.run("plan", "--target", "down", in)
	if code != exitError || strings.Contains(stderr, "connect") || !strings.Contains(stderr, "colour") {
		t.Fatalf("invalid input: exit %d\n%s", code, stderr)
	}
	code, _, stderr = e.run("plan", "--target", "lb", in)
	if code != exitError || !strings.Contains(stderr, `target "lb" is not in`) {
		t.Fatalf("unknown target: exit %d\n%s", code, stderr)
	}
}

// The sample rollout plans cleanly; its saved plan holds no secret, and
// FillSecrets puts every one back from the workbook.
func TestPlanCommandRolloutSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("plans 1,230 rows against the simulator")
	}
	e := newPlanEnv(t)
	input := filepath.Join("..", "..", "testdata", "mxone", "rollout.xlsx")
	out := filepath.Join(e.dir, "plan.json")
	code, _, stderr := e.run("plan", "--target", "lab", "--out", out, input)
	if code != exitChanges {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	p, err := plan.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	kinds := schemas.MustLoad("mxone")
	for _, op := range p.Ops {
		for _, f := range kinds.Kind(op.Kind).SecretPaths() {
			for _, r := range []schemas.Record{op.Record, op.Before} {
				if v, ok := r.Get(f); ok && v != schemas.Mask {
					t.Fatalf("%s %s: plan.json holds secret %s in clear", op.Kind, op.Key, f)
				}
			}
		}
	}
	g := &globalOptions{config: e.config}
	tg, err := loadTarget(g, "lab", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := readInput(context.Background(), tg, input)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.FillSecrets(p, in.rows); err != nil {
		t.Fatal(err)
	}
	filled := 0
	for _, op := range p.Ops {
		for _, f := range kinds.Kind(op.Kind).SecretPaths() {
			if v, ok := op.Record.Get(f); ok {
				if v == schemas.Mask || v == "" {
					t.Fatalf("%s %s: %s not filled", op.Kind, op.Key, f)
				}
				filled++
			}
		}
	}
	if filled == 0 {
		t.Fatal("the rollout has secrets, but none was filled")
	}
}
