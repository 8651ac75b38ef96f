package main

import (
	"strings"
	"testing"
)

func TestParseAndPrint(t *testing.T) {
	out := `goos: linux
pkg: github.com/pbxbatch/pbxbatch/batch/validate
BenchmarkValidateCSV-2   	       1	1234567 ns/op	  81000 rows/s	  2048 B/op
pkg: github.com/pbxbatch/pbxbatch/batch/run
BenchmarkRunner-2   	       1	9999 ns/op	  0.97 achieved/ideal
PASS
`
	res, units := parse(strings.NewReader(out))
	if len(res) != 2 {
		t.Fatalf("got %d results, want 2", len(res))
	}
	if res[0].pkg != "github.com/pbxbatch/pbxbatch/batch/validate" || res[0].metrics["rows/s"] != "81000" {
		t.Errorf("first result = %+v", res[0])
	}
	if got := strings.Join(units, ","); got != "ns/op,rows/s,B/op,achieved/ideal" {
		t.Errorf("units = %s", got)
	}
	var b strings.Builder
	print(&b, res, units)
	table := b.String()
	for _, want := range []string{"ValidateCSV  batch/validate", "81000 rows/s", "Runner       batch/run", "0.97 achieved/ideal"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "B/op") {
		t.Errorf("memory allocation noise in the table:\n%s", table)
	}
}
