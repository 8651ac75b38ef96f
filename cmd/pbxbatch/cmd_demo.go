package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

type demoFlags struct {
	dir       string
	users     int
	latency   time.Duration
	faultRate float64
}

func newDemoCmd(g *globalOptions) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR]",
		Short: "Run the whole job against an in-process MX-ONE simulator (no setup)",
		Long: `demo rehearses a rollout end to end with nothing but this binary: it starts
an MX-ONE Provisioning Manager simulator on a free loopback port (HTTPS with
a self-signed certificate, some latency, a few injected faults), writes a
target for it into DIR/pbxbatch.yaml, and then runs the real commands:

  1. template  the blank rollout template            DIR/rollout-template.xlsx
  2. sample    the template filled with a sample     DIR/rollout.xlsx
  3. validate  the sample against the schemas
  4. plan      against the (empty) simulator         DIR/plan.txt, DIR/plan.json
  5. apply     with a progress bar; reports in the run directory
  6. plan      again: every row is now a no-op
  7. export    the full inventory                    DIR/export.xlsx
  8. drift     a small change workbook applied, exported again and diffed
               against the first export              DIR/export-after.xlsx
  9. migrate   the site to an in-process sipXcom simulator, twice (the
               second run is all no-ops)             DIR/migration/

Every step is the command you would type; the demo prints each one.

EXIT STATUS
  0  every step did what it should
  1  a step did not (its output says why)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&f.dir, "dir", "demo-out", "where the demo writes its files (created; reused files are overwritten)")
	cmd.Flags().IntVar(&f.users, "users", 500, "users in the sample rollout (and 1.4 extensions per user)")
	cmd.Flags().DurationVar(&f.latency, "latency", 3*time.Millisecond, "simulated latency per request")
	cmd.Flags().Float64Var(&f.faultRate, "fault-rate", 0.02, "fraction of requests the simulator fails (429, 503, 500, dropped connections, timeouts)")
	return cmd
}

const demoPasswordEnv = "PBXBATCH_DEMO_PASSWORD"

func runDemo(ctx context.Context, f demoFlags, stdout, stderr io.Writer) error {
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mxone, err := registry().Platform("mxone")
	if err != nil {
		return err
	}
	set := mxone.Adapter.Kinds()
	faults, err := simkit.ParseFaults("429,503,500,drop,timeout,write/500@after,write/drop@after")
	if err != nil {
		return err
	}
	user, pass := "admin", "demo-"+fmt.Sprint(time.Now().UnixNano()%100000)
	o := simkit.Options{
		Username: user, Password: pass,
		Latency: f.latency, LatencyJitter: f.latency, FaultRate: f.faultRate, Faults: faults,
		FaultSeed: 1, TimeoutHold: 10 * time.Second, TLS: true,
	}
	sim, err := mxone.Simulator(ctx, o, nil)
	if err != nil {
		return err
	}
	srv, err := simkit.Start("127.0.0.1:0", sim, o)
	if err != nil {
		return err
	}
	defer srv.Close()
	caFile := filepath.Join(dir, "sim-ca.pem")
	if err := os.WriteFile(caFile, srv.CAPEM, 0o644); err != nil {
		return err
	}
	config := filepath.Join(dir, "pbxbatch.yaml")
	yaml := fmt.Sprintf(`# Written by pbxbatch demo: the in-process MX-ONE simulator.
targets:
  demo:
    adapter: mxone
    url: %s
    username: %s
    password_env: %s
    rate: 200
    concurrency: 8
    timeout: 2s
    tls: {ca_file: %s}
`, srv.URL, user, demoPasswordEnv, filepath.Base(caFile))
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		return err
	}
	os.Setenv(demoPasswordEnv, pass)
	fmt.Fprintf(stdout, "MX-ONE simulator at %s (TLS, %s latency, %.0f%% injected faults); target \"demo\" in %s\n",
		srv.URL, f.latency, 100*f.faultRate, config)

	d := &demo{ctx: ctx, dir: dir, stdout: stdout, stderr: stderr,
		global: []string{"--config", config, "--state-dir", filepath.Join(dir, "state")}}
	in := d.path("rollout.xlsx")
	changes := d.path("changes.xlsx")

	d.step("template mxone -o rollout-template.xlsx", exitOK, "", "template", "mxone", "-o", d.path("rollout-template.xlsx"), "--force")
	d.do("sample rollout: rollout.xlsx", func() error {
		r := sampledata.New(demoConfig(f.users))
		sheets, err := r.Sheets(set)
		if err != nil {
			return err
		}
		if err := sampledata.WriteXLSX(in, sheets); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "    %d locations, %d departments, %d users, %d extensions\n",
			r.Len("location"), r.Len("department"), r.Len("user"), r.Len("extension"))
		return nil
	})
	d.step("validate --adapter mxone rollout.xlsx", exitOK, "", "validate", "--adapter", "mxone", in)
	d.step("plan --target demo --out plan.json rollout.xlsx", exitChanges, d.path("plan.txt"), "plan", "--target", "demo", "--out", d.path("plan.json"), in)
	d.step("apply --target demo rollout.xlsx", exitOK, "", "apply", "--target", "demo", "--yes", in)
	d.step("plan --target demo rollout.xlsx   (again: all no-ops)", exitOK, d.path("replan.txt"), "plan", "--target", "demo", in)
	d.step("export --target demo -o export.xlsx", exitOK, "", "export", "--target", "demo", "-o", d.path("export.xlsx"))
	d.do("drift: changes.xlsx updates 3 users and deletes 1 extension", func() error { return writeDemoChanges(changes, set, f.users) })
	d.step("apply --target demo changes.xlsx", exitOK, "", "apply", "--target", "demo", "--yes", changes)
	d.step("export --target demo -o export-after.xlsx", exitOK, "", "export", "--target", "demo", "-o", d.path("export-after.xlsx"))
	d.step("diff export.xlsx export-after.xlsx", exitChanges, "", "diff", d.path("export.xlsx"), d.path("export-after.xlsx"))
	d.migrate(config)
	if d.err != nil {
		return d.err
	}

	st := sim.Stats()
	fmt.Fprintf(stdout, "\nSimulator: %d requests, %d faults injected, %d duplicate-create attempts, at most %d concurrent requests.\n",
		st.TotalRequests(), st.TotalFaults(), st.TotalDuplicateCreates(), st.MaxInFlight)
	fmt.Fprintf(stdout, "Everything is in %s; runs are listed by:\n  go run ./cmd/pbxbatch runs --state-dir %s\n", dir, filepath.Join(dir, "state"))
	return nil
}

// demo runs CLI steps in order and stops at the first that ends unexpectedly.
type demo struct {
	ctx            context.Context
	dir            string
	global         []string
	stdout, stderr io.Writer
	n              int
	err            error
}

func (d *demo) path(name string) string { return filepath.Join(d.dir, name) }

func (d *demo) do(title string, fn func() error) {
	if d.err != nil {
		return
	}
	d.n++
	fmt.Fprintf(d.stdout, "\n== %d. %s\n", d.n, title)
	if err := fn(); err != nil {
		d.err = fmt.Errorf("demo step %d (%s): %w", d.n, title, err)
	}
}

// step runs one pbxbatch command line; its stdout goes to outFile when one
// is given (long plans), and its exit code must be want.
func (d *demo) step(title string, want int, outFile string, args ...string) {
	d.do("pbxbatch "+title, func() error {
		root := newRootCmd()
		root.SetArgs(append(slices.Clone(d.global), args...))
		out := d.stdout
		if outFile != "" {
			fh, err := os.Create(outFile)
			if err != nil {
				return err
			}
			defer fh.Close()
			out = fh
		}
		root.SetOut(out)
		root.SetErr(d.stderr)
		err := root.ExecuteContext(d.ctx)
		if err != nil && !isSilent(err) {
			fmt.Fprintln(d.stderr, "pbxbatch:", err)
		}
		if outFile != "" {
			summarizeFile(d.stdout, outFile)
		}
		if got := exitCode(err); got != want {
			return fmt.Errorf("exit status %d, want %d", got, want)
		}
		return nil
	})
}

// summarizeFile prints the first lines of a long output and where the rest is.
func summarizeFile(w io.Writer, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	const head = 12
	for _, l := range lines[:min(head, len(lines))] {
		fmt.Fprintln(w, "   ", l)
	}
	if len(lines) > head {
		fmt.Fprintf(w, "    … %d more lines in %s\n", len(lines)-head, path)
	}
}

// writeDemoChanges writes a small workbook that changes what the sample
// rollout created: new e-mail addresses for three users and one extension
// deleted, so the second export drifts from the first.
func writeDemoChanges(path string, set *schemas.Set, users int) error {
	r := sampledata.New(demoConfig(users))
	var userRows [][]string
	for i := range 3 {
		u := r.Record("user", i)
		userRows = append(userRows, []string{"update", u.String("userId"), "moved." + u.String("emailAddress")})
	}
	ext := r.Record("extension", r.Len("extension")-1)
	sheets := []sampledata.Sheet{
		{Name: "Users", Kind: "user", Header: []string{"action", "userId", "emailAddress"}, Rows: slices.Values(userRows)},
		{Name: "Extensions", Kind: "extension", Header: []string{"action", "extensionNumber", "subsystemName"},
			Rows: slices.Values([][]string{{"delete", ext.String("extensionNumber"), ext.String("subsystemName")}})},
	}
	return sampledata.WriteXLSX(path, sheets)
}

// demoConfig is the sample rollout: 1.4 extensions per user, as in
// testdata/mxone (500 users, 700 extensions).
func demoConfig(users int) sampledata.Config {
	return sampledata.Config{Locations: 3, Users: users, Extensions: users * 7 / 5}
}
