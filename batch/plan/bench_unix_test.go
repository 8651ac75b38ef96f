//go:build unix

package plan

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
)

// BenchmarkBuild plans 20,000 person rows (half already on the target, with
// one changed field; half new) against the in-memory stub, reading by Get
// per key and by List. Wall time is noisy on a shared machine, so it also
// reports the process's CPU time per row (planner and stub together).
func BenchmarkBuild(b *testing.B) {
	const n = 20000
	a := stub.New()
	a.Put("site", stub.Fixture("site", 0))
	a.Put("group", stub.Fixture("group", 0))
	rows := make([]batch.Row, 0, n)
	for i := range n {
		r := stub.Fixture("person", i)
		if i%2 == 0 {
			a.Put("person", r)
		}
		set := r.Clone()
		set.Set("email", fmt.Sprintf("user%d@example.com", i))
		delete(set, "pin")
		rows = append(rows, batch.Row{Kind: "person", Action: batch.Upsert, Set: set,
			Origin: diag.Origin{File: "in.xlsx", Sheet: "People", Row: i + 2}})
	}
	conn, err := a.Open(context.Background(), adapters.Target{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		reads Reads
	}{{"get", Reads{ListThreshold: -1, Concurrency: 8}}, {"list", Reads{}}} {
		b.Run(c.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				p, _, err := Build(context.Background(), conn, a.Kinds(), rows, Options{Reads: c.reads, Locker: a})
				if err != nil || len(p.Ops) != n {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/row")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*n), "cpu-µs/row")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
