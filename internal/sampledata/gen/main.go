// Command gen writes sample workbooks: by default the MX-ONE rollout, its
// CSV twin and the broken cases (go generate ./internal/sampledata); with
// -users N a rollout of any registered platform (-adapter, default mxone)
// scaled to N users, for benchmarks and demos.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pbxbatch/pbxbatch/adapters/platforms"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func main() {
	out := flag.String("o", "testdata/mxone", "output directory")
	adapter := flag.String("adapter", "mxone", "with -users: the platform whose sample generator runs")
	users := flag.Int("users", 0, "write only a rollout scaled to this many users (CSV files in -o)")
	xlsx := flag.Bool("xlsx", false, "with -users: also write rollout.xlsx")
	flag.Parse()
	if err := run(*out, *adapter, *users, *xlsx); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out, adapter string, users int, xlsx bool) error {
	if users == 0 {
		set, err := schemas.Load("mxone")
		if err != nil {
			return err
		}
		return sampledata.WriteTestdata(out, set)
	}
	p, err := platforms.Registry().Platform(adapter)
	if err != nil {
		return err
	}
	sheets, err := p.Sample(users)
	if err != nil {
		return err
	}
	if err := sampledata.WriteCSVDir(out, sheets); err != nil {
		return err
	}
	if xlsx {
		return sampledata.WriteXLSX(filepath.Join(out, "rollout.xlsx"), sheets)
	}
	return nil
}
