package validate

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// The benchmarks validate the same 100,000 user rows as the reader's
// bare-read baselines (workbook.SampleUserRow), and measure the bare read
// here too, so the ratio compares like with like on one machine.
const benchRows = 100_000

var (
	benchOnce  sync.Once
	benchDir   string
	benchFiles = map[string]string{}
	benchErr   error
)

func benchFile(b *testing.B, ext string) string {
	b.Helper()
	benchOnce.Do(func() {
		if benchDir, benchErr = os.MkdirTemp("", "pbxbatch-validate-bench-"); benchErr != nil {
			return
		}
		benchFiles[".csv"] = filepath.Join(benchDir, "users.csv")
		benchFiles[".xlsx"] = filepath.Join(benchDir, "users.xlsx")
		if benchErr = workbook.WriteSampleCSV(benchFiles[".csv"], benchRows, workbook.SampleUserHeader, workbook.SampleUserRow); benchErr != nil {
			return
		}
		benchErr = workbook.WriteSampleXLSX(benchFiles[".xlsx"], "Users", benchRows, workbook.SampleUserHeader, workbook.SampleUserRow)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFiles[ext]
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// cpuTime is the process's user+system CPU time: on a shared machine wall
// time measures the neighbours, CPU time measures the work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

func benchRead(b *testing.B, ext string) {
	path := benchFile(b, ext)
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		book, err := workbook.Open(path, workbook.Options{Kind: "user"})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, t := range book.Tables {
			rows, err := t.Rows()
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil {
				b.Fatal(err)
			}
			rows.Close()
		}
		book.Close()
		if n != benchRows {
			b.Fatalf("read %d rows, want %d", n, benchRows)
		}
	}
	report(b, cpu0)
}

func benchValidate(b *testing.B, ext string) {
	path := benchFile(b, ext)
	v, err := New(schemas.MustLoad("mxone"), Options{Kind: "user"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		n := 0
		res, err := v.File(context.Background(), path, func(batch.Row) error { n++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		if n != benchRows || res.Diags.HasErrors() {
			b.Fatalf("%d valid rows of %d; first diagnostics: %v", n, benchRows, res.Diags[:min(3, len(res.Diags))])
		}
	}
	report(b, cpu0)
}

func BenchmarkReadCSV(b *testing.B)      { benchRead(b, ".csv") }
func BenchmarkValidateCSV(b *testing.B)  { benchValidate(b, ".csv") }
func BenchmarkReadXLSX(b *testing.B)     { benchRead(b, ".xlsx") }
func BenchmarkValidateXLSX(b *testing.B) { benchValidate(b, ".xlsx") }
