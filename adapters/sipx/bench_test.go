package sipx_test

import (
	"context"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/sim"
	"github.com/pbxbatch/pbxbatch/batch/run"
)

// BenchmarkRolloutApply applies the sample rollout (969 operations: 320
// users, 300 phones, 330 lines, hunt groups, park orbits, permissions) to a
// fresh simulator on loopback, 8 at a time; ops/s is operations per second
// of wall time, SOAP round trips included.
func BenchmarkRolloutApply(b *testing.B) {
	rows := readRows(b, rollout)
	for b.Loop() {
		b.StopTimer()
		ts := startSim(b, sim.Options{})
		conn := open(b, ts)
		p := buildPlan(b, conn, rollout, rows)
		b.StartTimer()
		out, err := run.Run(context.Background(), conn, p, kindsOf(), run.Options{Concurrency: 8})
		if err != nil {
			b.Fatal(err)
		}
		if out.Counts.Failed != 0 {
			b.Fatalf("%d failed", out.Counts.Failed)
		}
		b.ReportMetric(float64(len(p.Ops))/out.Duration.Seconds(), "ops/s")
	}
}
