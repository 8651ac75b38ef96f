package export

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch/export/exporttest"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Benchmark sizes from issue 5: 100,000 users and 120,000 extensions.
const (
	benchUsers      = exporttest.Users
	benchExtensions = exporttest.Extensions
)

// BenchSource opens the inventory the benchmarks export. It is a variable
// so that the benchmarks can be pointed at another platform's simulator
// (MX-ONE) from a _test file without touching the measurements.
//
// The default serves a seeded stub over HTTP from a child process, so that
// the exporter's heap is measured alone (as it runs in production: the
// inventory lives on the PBX) and listing pays for the wire like a real
// simulator does.
var BenchSource = stubOverHTTP

// serveEnv makes the test binary serve a seeded stub instead of testing.
const serveEnv = "PBXBATCH_BENCH_SERVE_STUB"

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(serveEnv) != "":
		serveStub()
		return
	case os.Getenv(serveMXONEEnv) != "":
		serveMXONE()
		return
	}
	os.Exit(m.Run())
}

// serveStub seeds a stub, prints its URL and serves it on loopback until
// its standard input closes (the parent went away).
func serveStub() {
	a := exporttest.SeedStub(benchUsers, benchExtensions)
	a.SetPageSize(1000)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	go http.Serve(ln, a.Handler())
	fmt.Printf("http://%s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
}

func stubOverHTTP(b *testing.B) (adapters.Conn, *schemas.Set) {
	a := stub.New()
	c, err := a.Open(context.Background(), adapters.Target{Name: "bench", URL: startChild(b, serveEnv)})
	if err != nil {
		b.Fatal(err)
	}
	return c, a.Kinds()
}

// listAll pages through every kind without writing anything.
func listAll(b *testing.B, conn adapters.Conn, set *schemas.Set) int {
	n := 0
	for _, k := range set.Kinds {
		if err := conn.List(context.Background(), k.Name, func(schemas.Record) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	return n
}

// cpuTime is the CPU time this process has used (the source's child
// process excluded).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkExport exports the whole inventory and reports rows/s; the
// rows/s of merely paging through the same source (list-rows/s, measured
// just before each export so that both see the same machine load); their
// ratio (target ≥ 0.8); the exporter's CPU per 1,000 rows against the
// listing's; and the peak heap of the exporting process (target < 300 MiB).
func BenchmarkExport(b *testing.B) {
	conn, set := BenchSource(b)
	defer conn.Close()
	listAll(b, conn, set) // warm up: adapters cache id ↔ name maps on the first pass
	for _, format := range []Format{XLSX, CSV} {
		b.Run(string(format), func(b *testing.B) {
			var (
				peak                 float64
				rows                 int
				listWall, exportWall time.Duration
				listCPU, exportCPU   time.Duration
			)
			for range b.N {
				b.StopTimer()
				t0, c0 := time.Now(), cpuTime()
				rows = listAll(b, conn, set)
				listWall += time.Since(t0)
				listCPU += cpuTime() - c0
				dir := b.TempDir()
				out := dir
				if format == XLSX {
					out = filepath.Join(dir, "inventory.xlsx")
				}
				runtime.GC()
				b.StartTimer()
				p := exporttest.SamplePeakHeap()
				t0, c0 = time.Now(), cpuTime()
				m, err := Run(context.Background(), conn, set, Options{Format: format, Out: out, TmpDir: dir})
				exportWall += time.Since(t0)
				exportCPU += cpuTime() - c0
				peak = max(peak, p.Stop())
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for _, k := range m.Kinds {
					n += k.Rows
				}
				if n != rows || n < benchUsers+benchExtensions {
					b.Fatalf("exported %d rows, listed %d", n, rows)
				}
			}
			total := float64(rows * b.N)
			b.ReportMetric(total/exportWall.Seconds(), "rows/s")
			b.ReportMetric(total/listWall.Seconds(), "list-rows/s")
			b.ReportMetric(listWall.Seconds()/exportWall.Seconds(), "ratio")
			b.ReportMetric(float64(exportCPU.Milliseconds())/total*1000, "cpu-ms/krow")
			b.ReportMetric(float64(listCPU.Milliseconds())/total*1000, "list-cpu-ms/krow")
			b.ReportMetric(peak, "peak-heap-MiB")
		})
	}
}
