package diff

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch/export"
	"github.com/pbxbatch/pbxbatch/batch/export/exporttest"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// discard is a sink that only counts.
type discard struct{ n int }

func (d *discard) BeginKind(*schemas.Kind, []string) error { return nil }
func (d *discard) Change(*Change) error                    { d.n++; return nil }
func (d *discard) EndKind(*KindSummary) error              { return nil }
func (d *discard) Finish(*Summary) error                   { return nil }

// benchExports writes two exports of issue 5's inventory: the second after
// drift (1% of people changed, 0.5% removed, 0.5% added).
func benchExports(b *testing.B, format export.Format) (string, string) {
	a := exporttest.SeedStub(exporttest.Users, exporttest.Extensions)
	write := func() string {
		c, err := a.Open(context.Background(), adapters.Target{})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		dir := b.TempDir()
		out := dir
		if format == export.XLSX {
			out = filepath.Join(dir, "inv.xlsx")
		}
		if _, err := export.Run(context.Background(), c, a.Kinds(), export.Options{Format: format, Out: out, TmpDir: dir}); err != nil {
			b.Fatal(err)
		}
		return out
	}
	a.SetPageSize(1000)
	old := write()
	drifted := stub.New()
	for kind, recs := range a.Dump() {
		for i, r := range recs {
			switch {
			case kind == "person" && i%200 == 0: // removed
				continue
			case kind == "person" && i%100 == 1:
				r.Set("email", fmt.Sprintf("changed%d@example.com", i))
			}
			drifted.Put(kind, r)
		}
	}
	for u := range exporttest.Users / 200 {
		drifted.Put("person", exporttest.Person(exporttest.Users+u))
	}
	drifted.SetPageSize(1000)
	a = drifted
	return old, write()
}

// BenchmarkDiff compares two exports of 100,000 users and 120,000
// extensions and reports rows/s (of one side) and the peak heap.
func BenchmarkDiff(b *testing.B) {
	set := schemas.MustLoad("stub")
	for _, format := range []export.Format{export.CSV, export.XLSX} {
		b.Run(string(format), func(b *testing.B) {
			old, drifted := benchExports(b, format)
			runtime.GC()
			b.ResetTimer()
			var peak float64
			var s *Summary
			for range b.N {
				p := exporttest.SamplePeakHeap()
				d := &discard{}
				var err error
				s, err = Compare(context.Background(), old, drifted, set, Options{TmpDir: b.TempDir()}, d)
				peak = max(peak, p.Stop())
				if err != nil {
					b.Fatal(err)
				}
				if t := s.Total(); t.Removed != exporttest.Users/200 || t.Added != exporttest.Users/200 || t.Changed != exporttest.Users/100 {
					b.Fatalf("found %+v", t)
				}
			}
			rows := 0
			for _, k := range s.Kinds {
				rows += k.Unchanged + k.Changed + k.Removed
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(peak, "peak-heap-MiB")
		})
	}
}
