// Command gen writes the MX-ONE sample workbooks: by default the rollout,
// its CSV twin and the broken cases (go generate ./internal/sampledata);
// with -users N a rollout scaled to N users, for benchmarks and demos.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func main() {
	out := flag.String("o", "testdata/mxone", "output directory")
	users := flag.Int("users", 0, "write only a rollout scaled to this many users (CSV files in -o)")
	xlsx := flag.Bool("xlsx", false, "with -users: also write rollout.xlsx")
	flag.Parse()
	if err := run(*out, *users, *xlsx); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out string, users int, xlsx bool) error {
	set, err := schemas.Load("mxone")
	if err != nil {
		return err
	}
	if users == 0 {
		return sampledata.WriteTestdata(out, set)
	}
	sheets, err := sampledata.New(sampledata.Users(users)).Sheets(set)
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
