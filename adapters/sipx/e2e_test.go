package sipx_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/retry"
	"github.com/pbxbatch/pbxbatch/adapters/sipx"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/sim"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/export"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

const rollout = "../../testdata/sipx/rollout.xlsx"

func kindsOf() *schemas.Set { return sipx.New().Kinds() }

// readRows validates an input file the way plan does and returns its rows.
func readRows(t testing.TB, path string) []batch.Row {
	t.Helper()
	v, err := validate.New(sipx.New().Kinds(), validate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rows []batch.Row
	res, err := v.File(context.Background(), path, func(r batch.Row) error { rows = append(rows, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !res.Valid() {
		t.Fatalf("%s is not valid: %v", path, res.Diags)
	}
	return rows
}

// buildPlan plans rows read from input and puts the input's secrets back
// into the plan, as apply does.
func buildPlan(t testing.TB, conn adapters.Conn, input string, rows []batch.Row) *batch.Plan {
	t.Helper()
	abs, err := filepath.Abs(input)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := plan.HashInput(abs)
	if err != nil {
		t.Fatal(err)
	}
	p, diags, err := plan.Build(context.Background(), conn, sipx.New().Kinds(), rows, plan.Options{Target: "sim", Input: abs, InputSHA256: sum})
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() {
		t.Fatalf("plan: %v", diags)
	}
	if err := plan.FillSecrets(p, rows); err != nil {
		t.Fatal(err)
	}
	return p
}

func actions(p *batch.Plan) map[batch.OpAction]int {
	n := map[batch.OpAction]int{}
	for _, op := range p.Ops {
		n[op.Action]++
	}
	return n
}

func apply(t *testing.T, conn adapters.Conn, p *batch.Plan, o run.Options) *run.Outcome {
	t.Helper()
	out, err := run.Run(context.Background(), conn, p, sipx.New().Kinds(), o)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, r := range out.Results {
		if r.Status == batch.StatusFailed || r.Status == batch.StatusBlocked || r.Status == batch.StatusSkipped {
			op := p.Ops[r.Op]
			failed = append(failed, op.Kind+" "+op.Key+": "+string(r.Status)+": "+r.Message)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d operations did not succeed:\n%s", len(failed), strings.Join(failed[:min(10, len(failed))], "\n"))
	}
	return out
}

func checkRolloutLanded(t *testing.T, s *sim.Sim) {
	t.Helper()
	snap := s.Snapshot()
	lines := 0
	for _, p := range snap.Phones {
		lines += len(p.Lines)
	}
	custom := slices.IndexFunc(snap.Permissions, func(p api.Permission) bool { return !*p.BuiltIn })
	if len(snap.Users) != 321 || len(snap.Phones) != 300 || lines != 330 || len(snap.CallGroups) != 12 || len(snap.ParkOrbits) != 4 || custom < 0 || len(snap.Permissions)-custom != 3 {
		t.Fatalf("after apply: %d users, %d phones, %d lines, %d call groups, %d park orbits, %d permissions",
			len(snap.Users), len(snap.Phones), lines, len(snap.CallGroups), len(snap.ParkOrbits), len(snap.Permissions))
	}
	intl := snap.Permissions[slices.IndexFunc(snap.Permissions, func(p api.Permission) bool { return p.Label == "International Calls" })]
	if u := snap.User("2010"); u == nil || u.BranchName != "Berlin" || !slices.Contains(u.Permissions, intl.Name) {
		t.Fatalf("user 2010: %+v", u)
	}
	if st := s.Stats().Snapshot(); st.TotalDuplicateCreates() != 0 {
		t.Fatalf("duplicate creates: %v", st.DuplicateCreates)
	}
}

// TestRolloutAppliesThenReappliesAsNoops: the sample rollout lands with no
// failure, and planning it again finds nothing to do.
func TestRolloutAppliesThenReappliesAsNoops(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ts := startSim(t, sim.Options{})
	conn := open(t, ts)
	rows := readRows(t, rollout)
	p := buildPlan(t, conn, rollout, rows)
	if got := actions(p); got[batch.OpCreate] != len(p.Ops) {
		t.Fatalf("first plan: %v, want only creates", got)
	}
	apply(t, conn, p, run.Options{Concurrency: 8})
	checkRolloutLanded(t, ts.sim)
	// The PIN of the sheet is the user's password now (users are not
	// administrators, hence the refusal after authentication).
	as := ts.target
	as.Username, as.Password = "2000", adapters.NewSecret("104729")
	if _, err := sipx.New().Open(context.Background(), as); err == nil || !strings.Contains(err.Error(), "not an administrator") {
		t.Errorf("log in as 2000 with the sheet's PIN: %v", err)
	}

	again := buildPlan(t, conn, rollout, rows)
	if got := actions(again); got[batch.OpNoop] != len(again.Ops) {
		var changed []string
		for _, op := range again.Ops {
			if op.Action != batch.OpNoop {
				changed = append(changed, op.Kind+" "+op.Key+" "+string(op.Action)+" "+op.Reason)
			}
		}
		t.Fatalf("second plan: %v, want only no-ops: %v", got, changed[:min(5, len(changed))])
	}
}

// TestRolloutWithFaultsMakesNoDuplicates applies the rollout through a
// simulator that drops, delays, throttles and fails 10 % of requests,
// including writes that land but are answered with a failure: every
// operation still succeeds, nothing is created twice, and the result is the
// same as without faults.
func TestRolloutWithFaultsMakesNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ts := startSim(t, sim.Options{})
	conn := open(t, ts)
	rows := readRows(t, rollout)
	p := buildPlan(t, conn, rollout, rows)

	faulty := httptest.NewServer(ts.sim.Wrap(simkit.Options{
		FaultRate: 0.1, FaultSeed: 3, TimeoutHold: 2 * time.Second, RetryAfter: time.Millisecond,
	}))
	t.Cleanup(faulty.Close)
	ft := ts.target
	ft.URL, ft.HTTPClient, ft.Timeout = faulty.URL, nil, time.Second
	// Open itself may meet a fault: retried as the commands do.
	fconn, err := retry.Open(context.Background(), sipx.New(), ft, retry.Options{Attempts: 20, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	out := apply(t, fconn, p, run.Options{
		Concurrency: 8, MaxAttempts: 30,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	})
	checkRolloutLanded(t, ts.sim)
	if st := ts.sim.Stats().Snapshot(); st.TotalFaults() < 50 {
		t.Fatalf("only %d faults injected: the test did not test much", st.TotalFaults())
	}
	t.Logf("faults injected: %v; outcome %+v", ts.sim.Stats().Snapshot().Faults, out.Counts)
	if got := actions(buildPlan(t, conn, rollout, rows)); got[batch.OpNoop] != len(p.Ops) {
		t.Fatalf("plan after the faulty apply: %v, want only no-ops", got)
	}
}

// TestExportImportRoundTrip: export the rolled-out PBX, import the export
// into an empty one, export that: the two exports are identical except for
// the ids sipXconfig generates (permission names perm_<n>).
func TestExportImportRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	src := startSim(t, sim.Options{})
	srcConn := open(t, src)
	apply(t, srcConn, buildPlan(t, srcConn, rollout, readRows(t, rollout)), run.Options{Concurrency: 8})

	dir := t.TempDir()
	exportTo := func(conn adapters.Conn, name string, format export.Format) string {
		out := filepath.Join(dir, name)
		if _, err := export.Run(context.Background(), conn, sipx.New().Kinds(), export.Options{Format: format, Out: out, Target: "sim", Now: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := exportTo(srcConn, "first.xlsx", export.XLSX)
	firstCSV := exportTo(srcConn, "first-csv", export.CSV)

	dst := startSim(t, sim.Options{})
	dstConn := open(t, dst)
	p := buildPlan(t, dstConn, first, readRows(t, first))
	apply(t, dstConn, p, run.Options{Concurrency: 8})
	secondCSV := exportTo(dstConn, "second-csv", export.CSV)

	for _, f := range []string{"permissions.csv", "users.csv", "call_groups.csv", "park_orbits.csv", "phones.csv", "lines.csv"} {
		a, errA := os.ReadFile(filepath.Join(firstCSV, f))
		b, errB := os.ReadFile(filepath.Join(secondCSV, f))
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if f == "permissions.csv" {
			a, b = dropColumn(t, a, "name"), dropColumn(t, b, "name")
		}
		if string(a) != string(b) {
			t.Errorf("%s differs after the round trip:\nfirst:\n%s\nsecond:\n%s", f, head(a), head(b))
		}
	}
	if n := strings.Count(string(mustRead(t, filepath.Join(firstCSV, "users.csv"))), "\n"); n != 321 {
		t.Errorf("users.csv has %d lines, want a header and 320 users (superadmin is not exported)", n)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func head(b []byte) string {
	lines := strings.SplitN(string(b), "\n", 6)
	return strings.Join(lines[:min(5, len(lines))], "\n")
}

// dropColumn removes a column from simple CSV (no quoted commas in the
// permission sheet's columns before it).
func dropColumn(t *testing.T, csv []byte, name string) []byte {
	t.Helper()
	lines := strings.Split(string(csv), "\n")
	col := slices.Index(strings.Split(lines[0], ","), name)
	if col < 0 {
		t.Fatalf("no column %s in %s", name, lines[0])
	}
	for i, l := range lines {
		if l == "" {
			continue
		}
		cells := strings.Split(l, ",")
		lines[i] = strings.Join(slices.Delete(cells, col, col+1), ",")
	}
	return []byte(strings.Join(lines, "\n"))
}
