package workbook

import (
	"path/filepath"
	"testing"
)

const benchRows = 100_000

// BenchmarkReadCSV and BenchmarkReadXLSX are the bare-read baselines of the
// validation benchmarks, over the same SampleUserRow data.
func BenchmarkReadCSV(b *testing.B) {
	p := filepath.Join(b.TempDir(), "users.csv")
	if err := WriteSampleCSV(p, benchRows, SampleUserHeader, SampleUserRow); err != nil {
		b.Fatal(err)
	}
	benchRead(b, p)
}

func BenchmarkReadXLSX(b *testing.B) {
	p := filepath.Join(b.TempDir(), "users.xlsx")
	if err := WriteSampleXLSX(p, "Users", benchRows, SampleUserHeader, SampleUserRow); err != nil {
		b.Fatal(err)
	}
	benchRead(b, p)
}

func benchRead(b *testing.B, path string) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n, diags := readAllCounting(b, path)
		if n != benchRows || diags != 0 {
			b.Fatalf("read %d rows with %d diagnostics, want %d clean rows", n, diags, benchRows)
		}
	}
	b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// readAllCounting reads every row of every table and counts rows and
// diagnostics, keeping nothing.
func readAllCounting(b testing.TB, path string) (rows, diags int) {
	book, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer book.Close()
	diags = len(book.Diags)
	for _, t := range book.Tables {
		it, err := t.Rows()
		if err != nil {
			b.Fatal(err)
		}
		for it.Next() {
			rows++
			diags += len(it.Row().Diags)
		}
		if err := it.Err(); err != nil {
			b.Fatal(err)
		}
		it.Close()
	}
	return rows, diags
}
