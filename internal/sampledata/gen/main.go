// Command gen writes the MX-ONE sample workbooks: the rollout, its CSV twin
// and the broken cases (go generate ./internal/sampledata).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func main() {
	out := flag.String("o", "testdata/mxone", "output directory")
	flag.Parse()
	set, err := schemas.Load("mxone")
	if err == nil {
		err = sampledata.WriteTestdata(*out, set)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
