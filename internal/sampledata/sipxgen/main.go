// Command sipxgen writes the sipXcom sample workbook testdata/sipx/rollout.xlsx
// and its CSV twin (go generate ./internal/sampledata).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func main() {
	out := flag.String("o", "testdata/sipx", "output directory")
	flag.Parse()
	set, err := schemas.Load("sipx")
	if err == nil {
		err = sampledata.WriteSipxTestdata(*out, set)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sipxgen:", err)
		os.Exit(1)
	}
}
