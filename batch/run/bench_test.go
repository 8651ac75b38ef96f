package run_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/internal/pace"
)

// BenchmarkRunner applies a rollout (site, groups, people, two phones each)
// to the stub at 10 ms latency with concurrency 16. The ideal wall time is
// ops ÷ min(rate, concurrency ÷ latency); achieved/ideal is the engine's
// efficiency (target ≥ 0.95). cpu-µs/op is this process's CPU time (engine
// and stub) per operation; journal-ratio is throughput with the journal ÷
// without it (target ≥ 0.97), reported by the "journal" variant after the
// "nojournal" one of the same size.
//
//	go test -run '^$' -bench 'Runner/ops=20000' -benchtime 1x ./batch/run
func BenchmarkRunner(b *testing.B) {
	const latency, concurrency = 10 * time.Millisecond, 16
	for _, size := range []struct {
		ops  int
		rate float64
	}{{2000, 500}, {2000, 0}, {20000, 500}} {
		without := 0.0
		for _, journaled := range []bool{false, true} {
			name := fmt.Sprintf("ops=%d/rate=%g/nojournal", size.ops, size.rate)
			if journaled {
				name = fmt.Sprintf("ops=%d/rate=%g/journal", size.ops, size.rate)
			}
			b.Run(name, func(b *testing.B) {
				pb := rollout(10, (size.ops-11)/3, 2)
				n := len(pb.p.Ops)
				capacity := float64(concurrency) / latency.Seconds()
				if size.rate > 0 {
					capacity = min(size.rate, capacity)
				}
				ideal := float64(n) / capacity
				var wall time.Duration
				var cpu time.Duration
				for range b.N {
					a := stub.New()
					a.SetLatency(latency)
					// The stub is not HTTP: its connection waits on the pacer
					// once per operation (paced.Operations).
					pacer := pace.New(pace.Config{Rate: size.rate})
					opts := run.Options{Concurrency: concurrency, Pacer: pacer}
					var j *journal.Journal
					if journaled {
						var err error
						if j, err = journal.Open(filepath.Join(b.TempDir(), "journal.jsonl")); err != nil {
							b.Fatal(err)
						}
						opts.Journal = j
					}
					conn, err := a.Open(context.Background(), adapters.Target{Pacer: pacer})
					if err != nil {
						b.Fatal(err)
					}
					cpu0 := cpuTime()
					start := time.Now()
					out, err := run.Run(context.Background(), conn, pb.p, pb.kinds, opts)
					if j != nil {
						if cerr := j.Close(); cerr != nil {
							b.Fatal(cerr)
						}
					}
					wall += time.Since(start)
					cpu += cpuTime() - cpu0
					if err != nil || out.Counts.Created != n {
						b.Fatalf("run: %v, counts %+v", err, out.Counts)
					}
				}
				perRun := wall.Seconds() / float64(b.N)
				throughput := float64(n) / perRun
				b.ReportMetric(ideal/perRun, "achieved/ideal")
				b.ReportMetric(throughput, "ops/s")
				b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/op")
				if !journaled {
					without = throughput
				} else if without > 0 {
					b.ReportMetric(throughput/without, "journal-ratio")
				}
			})
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
