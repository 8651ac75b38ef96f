// Command benchtab runs a `go test -bench` command line and prints its
// benchmark results as one table: benchmark, package, and every metric the
// benchmark reported (ns/op, B/op, and custom ones such as rows/s). The raw
// output is passed through to stderr so failures stay visible.
//
// Usage: go run ./internal/benchtab -- go test -run '^$' -bench . ./...
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
)

type result struct {
	pkg, name string
	metrics   map[string]string
}

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: benchtab -- go test -bench ...")
		os.Exit(2)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	results, order := parse(io.TeeReader(out, os.Stderr))
	waitErr := cmd.Wait()
	print(os.Stdout, results, order)
	if waitErr != nil {
		fmt.Fprintln(os.Stderr, "benchtab:", waitErr)
		os.Exit(1)
	}
}

// parse reads `go test -bench` output: "pkg: X" lines set the package, and
// "BenchmarkX-2  1  123 ns/op  4.5 rows/s" lines are results.
func parse(r io.Reader) ([]result, []string) {
	var (
		pkg     string
		results []result
		order   []string
		seen    = map[string]bool{}
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		res := result{pkg: pkg, name: f[0], metrics: map[string]string{}}
		for i := 2; i+1 < len(f); i += 2 {
			unit := f[i+1]
			res.metrics[unit] = f[i]
			if !seen[unit] {
				seen[unit] = true
				order = append(order, unit)
			}
		}
		results = append(results, res)
	}
	return results, order
}

// print writes one row per benchmark: its name, package, and the metrics it
// reported in the order it reported them (time per op first). Benchmarks
// report different metrics, so a column per metric would be mostly empty.
func print(w io.Writer, results []result, units []string) {
	if len(results) == 0 {
		fmt.Fprintln(w, "no benchmarks ran")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tpackage\tresults")
	for _, r := range results {
		name := strings.TrimPrefix(r.name, "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		var parts []string
		for _, u := range units {
			if v, ok := r.metrics[u]; ok && u != "B/op" && u != "allocs/op" {
				parts = append(parts, v+" "+u)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, strings.TrimPrefix(r.pkg, "github.com/pbxbatch/pbxbatch/"), strings.Join(parts, " · "))
	}
	tw.Flush()
}
