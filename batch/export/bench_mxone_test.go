package export

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/mxone"
	mxonesim "github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// PBXBATCH_BENCH_SOURCE=mxone points BenchmarkExport at the MX-ONE
// simulator (issue 5 says "from the simulator") seeded with a 100,000-user,
// 120,000-extension rollout, served from a child process like the stub:
//
//	PBXBATCH_BENCH_SOURCE=mxone go test ./batch/export -run '^$' -bench Export -benchtime 1x
const benchSourceEnv = "PBXBATCH_BENCH_SOURCE"

func init() {
	if os.Getenv(benchSourceEnv) == "mxone" {
		BenchSource = mxoneOverHTTP
	}
}

const serveMXONEEnv = "PBXBATCH_BENCH_SERVE_MXONE"

// serveMXONE is the child process: seed, print the URL, serve until stdin
// closes.
func serveMXONE() {
	r := sampledata.New(sampledata.Users(benchUsers))
	seed := &mxonesim.Seed{}
	for _, kind := range sampledata.Kinds() {
		for rec := range r.Records(kind) {
			seed.Add(kind, rec)
		}
	}
	sim, err := mxonesim.New(mxonesim.Options{Options: simkit.Options{Username: "admin", Password: "bench"}, Seed: seed})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin)
}

func mxoneOverHTTP(b *testing.B) (adapters.Conn, *schemas.Set) {
	url := startChild(b, serveMXONEEnv)
	a := mxone.New()
	c, err := a.Open(context.Background(), adapters.Target{Name: "bench", URL: url, Username: "admin", Password: adapters.NewSecret("bench")})
	if err != nil {
		b.Fatal(err)
	}
	return c, a.Kinds()
}

// startChild runs this test binary as a server selected by env and
// returns the URL it prints.
func startChild(b *testing.B, env string) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http") {
		b.Fatalf("benchmark source: %q %v", line, err)
	}
	return strings.TrimSpace(line)
}
