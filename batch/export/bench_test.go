package export

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Benchmark sizes from issue 5: 100,000 users and 120,000 extensions.
const (
	benchUsers      = 100_000
	benchExtensions = 120_000
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
	if os.Getenv(serveEnv) != "" {
		serveStub()
		return
	}
	os.Exit(m.Run())
}

// serveStub seeds a stub, prints its URL and serves it on loopback until
// its standard input closes (the parent went away).
func serveStub() {
	a := SeedStub(benchUsers, benchExtensions)
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
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		b.Fatalf("stub server: %q %v", line, err)
	}
	a := stub.New()
	c, err := a.Open(context.Background(), adapters.Target{Name: "bench", URL: strings.TrimSpace(line)})
	if err != nil {
		b.Fatal(err)
	}
	return c, a.Kinds()
}

// SeedStub returns a stub holding users people and extensions phones over
// 10 sites and 200 groups, with realistic cell contents.
func SeedStub(users, extensions int) *stub.Adapter {
	a := stub.New()
	for s := range 10 {
		a.Put("site", schemas.Record{"siteName": fmt.Sprintf("Site %02d", s), "description": "Office"})
	}
	for g := range 200 {
		a.Put("group", schemas.Record{"groupName": fmt.Sprintf("Group %03d", g), "site": fmt.Sprintf("Site %02d", g%10)})
	}
	for u := range users {
		a.Put("person", schemas.Record{
			"userId": fmt.Sprintf("user%06d", u),
			"name":   map[string]any{"first": fmt.Sprintf("First%d", u), "last": fmt.Sprintf("Lastname%d", u)},
			"email":  fmt.Sprintf("user%06d@example.com", u),
			"groups": []any{fmt.Sprintf("Group %03d", u%200), fmt.Sprintf("Group %03d", (u+1)%200)},
			"pin":    "1234",
		})
	}
	for e := range extensions {
		a.Put("phone", schemas.Record{
			"number": fmt.Sprintf("%06d", 100000+e), "site": fmt.Sprintf("Site %02d", e%10),
			"owner": fmt.Sprintf("user%06d", e%users), "model": "desk", "lines": schemas.Normalize(1 + e%4),
			"label": fmt.Sprintf("+4670%07d", e),
		})
	}
	return a
}

// peakHeap samples the heap in use every few milliseconds until stopped.
type peakHeap struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func samplePeakHeap() *peakHeap {
	p := &peakHeap{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > p.peak.Load() {
				p.peak.Store(ms.HeapInuse)
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakHeap) Stop() uint64 { close(p.stop); <-p.done; return p.peak.Load() }

// BenchmarkExport exports the whole inventory and reports rows/s, the
// rows/s of merely paging through the same source (list-rows/s), their
// ratio (target ≥ 0.8), and the peak heap of the exporting process
// (target < 300 MiB).
func BenchmarkExport(b *testing.B) {
	conn, set := BenchSource(b)
	defer conn.Close()
	total := 0
	start := time.Now()
	for _, k := range set.Kinds {
		if err := conn.List(context.Background(), k.Name, func(schemas.Record) error { total++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	listRate := float64(total) / time.Since(start).Seconds()
	for _, format := range []Format{XLSX, CSV} {
		b.Run(string(format), func(b *testing.B) {
			runtime.GC()
			var peak uint64
			for range b.N {
				dir := b.TempDir()
				out := dir
				if format == XLSX {
					out = filepath.Join(dir, "inventory.xlsx")
				}
				p := samplePeakHeap()
				m, err := Run(context.Background(), conn, set, Options{Format: format, Out: out, TmpDir: dir})
				peak = max(peak, p.Stop())
				if err != nil {
					b.Fatal(err)
				}
				if n := m.Kind("person").Rows + m.Kind("phone").Rows; n != benchUsers+benchExtensions {
					b.Fatalf("exported %d people and phones", n)
				}
			}
			rate := float64(total) / (b.Elapsed() / time.Duration(b.N)).Seconds()
			b.ReportMetric(rate, "rows/s")
			b.ReportMetric(listRate, "list-rows/s")
			b.ReportMetric(rate/listRate, "ratio")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
