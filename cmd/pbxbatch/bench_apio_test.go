package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters/apio"
	"github.com/pbxbatch/pbxbatch/batch/report"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// BenchmarkApplyAPIOVirtualUsers creates 9,960 virtual users (3 groups,
// half of them in range rows) through the CLI against the APIO simulator
// at 20 ms latency, the target's rate at 50 requests/s, batched as the
// adapter does by default and one request per user (batch_size 1). It
// reports the requests each user cost (plan reads and login included) and
// the apply's wall time.
func BenchmarkApplyAPIOVirtualUsers(b *testing.B) {
	for _, bc := range []struct{ name, options string }{{"batched", ""}, {"one-per-user", "batch_size: 1"}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				s, url := startAPIO(b, simkit.Options{Latency: 20 * time.Millisecond})
				e := newAPIOEnv(b, 50, bc.options, apioTarget{"lab", s, url})
				in := filepath.Join(e.dir, "rollout.xlsx")
				writeAPIOSample(b, in, 10000, nil)
				users := apio.NewSample(10000).Users()
				start := time.Now()
				e.mustCLI(exitOK, "apply", "--yes", "--target", "lab", "--progress", "none", in)
				wall := time.Since(start)
				if got := len(s.Users()); got != users {
					b.Fatalf("%d users created, want %d", got, users)
				}
				runs, err := rundir.List(e.global[3])
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
				b.ReportMetric(float64(s.Stats().TotalRequests())/float64(users), "requests/user")
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(sum.DurationSeconds, "run-s")
				b.ReportMetric(float64(users), "users")
			}
		})
	}
}
