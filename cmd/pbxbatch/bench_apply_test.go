package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	mxonesim "github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/batch/report"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// BenchmarkApplyMXONERollout applies the rollout scaled to 10,000 users and
// 12,000 extensions (PBXBATCH_BENCH_USERS changes the scale) to the MX-ONE
// simulator at 10 ms latency with the target's rate at 300 requests/s, in
// a separate apply process, and reports:
//
//   - achieved/ideal: the ideal run time is the requests the run sent
//     (creates, read-backs, user-side links: all counted by the simulator)
//     ÷ min(rate, concurrency ÷ latency); achieved is the run's duration
//     from summary.json;
//   - requests/op, the run's seconds, and the apply process's peak RSS.
func BenchmarkApplyMXONERollout(b *testing.B) {
	users := 10000
	if v, err := strconv.Atoi(os.Getenv("PBXBATCH_BENCH_USERS")); err == nil && v > 0 {
		users = v
	}
	const (
		rate        = 300.0
		concurrency = 16
		latency     = 10 * time.Millisecond
	)
	for b.Loop() {
		sim, err := mxonesim.New(mxonesim.Options{Options: simkit.Options{Username: "admin", Password: "bench-pw", Latency: latency}})
		if err != nil {
			b.Fatal(err)
		}
		srv, err := sim.Start("127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		cfg := filepath.Join(dir, "pbxbatch.yaml")
		body := fmt.Sprintf("targets:\n  lab:\n    adapter: mxone\n    url: %s\n    username: admin\n    password_env: PBXBATCH_BENCH_PW\n    rate: %g\n    concurrency: %d\n",
			srv.URL, rate, concurrency)
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		in := filepath.Join(dir, "rollout.xlsx")
		r := sampledata.New(sampledata.Config{Locations: 3, Users: users, Extensions: users * 6 / 5})
		sheets, err := r.Sheets(schemas.MustLoad("mxone"))
		if err != nil {
			b.Fatal(err)
		}
		if err := sampledata.WriteXLSX(in, sheets); err != nil {
			b.Fatal(err)
		}
		global := []string{"--config", cfg, "--state-dir", filepath.Join(dir, "state")}
		apply := func(args ...string) *os.ProcessState {
			cmd := exec.Command(os.Args[0], append(global, args...)...)
			cmd.Env = append(os.Environ(), e2eMainEnv+"=1", "PBXBATCH_BENCH_PW=bench-pw")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				b.Fatalf("pbxbatch %v: %v\n%s", args, err, tail(out.String()))
			}
			return cmd.ProcessState
		}

		// The planning reads, as apply will make them again before its run.
		planCmd := exec.Command(os.Args[0], append(global, "plan", "--target", "lab", in)...)
		planCmd.Env = append(os.Environ(), e2eMainEnv+"=1", "PBXBATCH_BENCH_PW=bench-pw")
		_ = planCmd.Run() // exit 2: changes
		planRequests := sim.Stats().TotalRequests()

		st := apply("apply", "--yes", "--target", "lab", "--progress", "none", in)
		runRequests := sim.Stats().TotalRequests() - 2*planRequests
		srv.Close()

		runs, err := rundir.List(filepath.Join(dir, "state"))
		if err != nil || len(runs) != 1 {
			b.Fatalf("runs: %v %v", runs, err)
		}
		raw, err := os.ReadFile(filepath.Join(runs[0].Dir, report.SummaryFile))
		if err != nil {
			b.Fatal(err)
		}
		var sum report.Summary
		if err := json.Unmarshal(raw, &sum); err != nil {
			b.Fatal(err)
		}
		if sum.Counts.Failed+sum.Counts.Blocked != 0 {
			b.Fatalf("the benchmark rollout did not apply cleanly: %+v", sum.Counts)
		}
		ops := sum.Counts.Created + sum.Counts.Updated + sum.Counts.Deleted
		ideal := float64(runRequests) / min(rate, float64(concurrency)/latency.Seconds())
		b.ReportMetric(ideal/sum.DurationSeconds, "achieved/ideal")
		b.ReportMetric(float64(runRequests)/float64(ops), "requests/op")
		b.ReportMetric(sum.DurationSeconds, "run-s")
		b.ReportMetric(float64(ops), "ops")
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
		}
	}
}
