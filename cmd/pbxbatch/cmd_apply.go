package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/report"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

// runFlags tune how a run is executed; apply and resume share them.
type runFlags struct {
	concurrency int
	rate        float64
	maxFailures int
	failFast    bool
	batchSize   int
	progress    string
	force       bool // run even when another run holds the target
	fromTarget  bool // resume: read back every operation (run.Options.FromTarget)
	noImages    bool // no before- and after-images (run.Options.Images)
	quiet       bool
	format      string
}

func (f *runFlags) register(cmd *cobra.Command) {
	f.registerTuning(cmd)
	cmd.Flags().BoolVar(&f.force, "force", false, "run even when another run holds the target (only when you know the two touch different records)")
}

// registerTuning registers the run flags but --force (rollback's --force
// names kinds).
func (f *runFlags) registerTuning(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&f.concurrency, "concurrency", 0, "calls in flight at most (default: the target's concurrency, else 4)")
	fl.Float64Var(&f.rate, "rate", 0, "requests per second at most, reads and retries included (default: the target's rate)")
	fl.IntVar(&f.maxFailures, "max-failures", 0, "stop scheduling new operations after this many failures (0 = no limit)")
	fl.BoolVar(&f.failFast, "fail-fast", false, "stop scheduling at the first failure")
	fl.IntVar(&f.batchSize, "batch-size", 0, "writes of one kind sent in one request, for platforms that batch them (0 = the platform's maximum, 1 = one by one)")
	fl.StringVar(&f.progress, "progress", "auto", "progress display: auto (bar on a terminal, timestamped log lines otherwise), log, none")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only errors and the final summary (no plan, no progress)")
	fl.BoolVar(&f.noImages, "no-before-images", false, "do not read each record just before and after its write for rollback (saves one read per create and delete, two per update; rollback then trusts what the plan read)")
	fl.StringVar(&f.format, "format", "text", "text, or json: one JSON document on standard output at the end (everything else goes to standard error)")
}

// check rejects flag values that mean nothing.
func (f *runFlags) check() error {
	if f.format != "text" && f.format != "json" {
		return fmt.Errorf("--format %q: use text or json", f.format)
	}
	switch f.progress {
	case "auto", "log", "none":
	default:
		return fmt.Errorf("--progress %q: use auto, log or none", f.progress)
	}
	return nil
}

// output is where a run's messages go: info (what is happening; standard
// error under --format json, nowhere under --quiet), the result (standard
// output in text) and errors (standard error).
type output struct {
	info, result, stderr io.Writer
	json                 bool
}

func (f *runFlags) output(stdout, stderr io.Writer) output {
	o := output{info: stdout, result: stdout, stderr: stderr, json: f.format == "json"}
	if o.json {
		o.info, o.result = stderr, io.Discard
	}
	if f.quiet {
		o.info = io.Discard
	}
	return o
}

// progressFor returns the progress display the flags ask for, or nil.
func (f *runFlags) progressFor(stderr io.Writer) *run.Terminal {
	switch {
	case f.quiet || f.progress == "none":
		return nil
	case f.progress == "log":
		return run.NewTerminal(struct{ io.Writer }{stderr}, 5*time.Second) // hides the terminal
	}
	return run.NewTerminal(stderr, 5*time.Second)
}

type applyFlags struct {
	runFlags
	target       string
	yes          bool
	allowBlocked bool
	planSHA256   string // the saved plan must hash to this (what plan --out printed)
	accept       []string
}

func newApplyCmd(g *globalOptions) *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "apply --target NAME [--format text|json] [flags] INPUT|PLAN.json",
		Short: "Apply a workbook (or a saved plan) to a target, resumably",
		Long: `apply makes the target match INPUT. Given a workbook it validates and plans
exactly as plan does, then runs the plan; given a plan saved by
"plan --out", it runs exactly that plan, after checking that no record it
touches has changed on the target since (a stale plan is refused, naming the
records that moved) and that the input it reads secrets from is unchanged.

Given a saved plan, --target may be left out: the plan names its target,
and apply refuses a --target that differs.

Each run gets an id and a directory (<state-dir>/runs/<id>/) holding the
plan, the journal and the reports. Operations run in dependency order, at
most --concurrency at a time and --rate per second; the rate halves when the
target throttles (429/503) and recovers slowly. Transient faults are
retried with backoff; a create whose outcome is unknown is read back by its
natural key before anything is sent again. A failed row does not stop the
others: the rows that depend on it are reported "blocked by Sheet!row".

Ctrl-C stops scheduling, lets calls in flight finish and writes everything
down; a second Ctrl-C exits at once. Either way "pbxbatch resume RUN_ID"
carries on, and so does it after a crash or kill -9.

Reports (also regenerated by "pbxbatch report RUN_ID"): results.xlsx (your
rows with status, message and target id), failed.xlsx (only the failed and
blocked rows, ready to fix and apply again) and summary.json.

On a terminal apply shows the plan (its first lines and the counts) and
asks before changing anything; --yes skips the question (scripts, CI: apply
never asks when stdin is not a terminal). --quiet prints only errors and the
final summary; --format json prints one JSON document at the end instead
(run id, state, counts, reports, the reasons rows failed and the next
commands), for scripts.

` + configExampleHint + `

EXIT STATUS
  0   every operation succeeded (or had nothing to do)
  1   error: invalid input, plan errors, stale plan, target unreachable,
      credentials refused, or the journal could not be written
  3   some rows failed or were blocked, or the end-of-run step (profile
      generation, publishing) failed (reports written; resume runs it again)
  130 cancelled (resumable)`,
		Example: `  pbxbatch apply --target lab rollout.xlsx
  pbxbatch plan --target lab --out plan.json rollout.xlsx && pbxbatch apply --target lab plan.json
  pbxbatch apply --target lab --rate 20 --max-failures 50 failed.xlsx
  pbxbatch apply --yes --format json --target lab rollout.xlsx | jq .counts`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd.Context(), g, f, args[0], cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.target, "target", "", "target name in the config file")
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&f.allowBlocked, "allow-blocked", false, "apply even when rows are blocked at plan time (they are reported as blocked)")
	acceptFlag(cmd, &f.accept)
	cmd.Flags().StringVar(&f.planSHA256, "plan-sha256", "", "refuse a saved plan whose SHA-256 is not this one (plan --out prints it): apply only the plan that was reviewed")
	return cmd
}

func runApply(ctx context.Context, g *globalOptions, f applyFlags, arg string, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := f.check(); err != nil {
		return err
	}
	var saved *batch.Plan
	if isPlanFile(arg) {
		if err := checkReviewed(arg, f.planSHA256); err != nil {
			return err
		}
		var err error
		if saved, err = plan.Load(arg); err != nil {
			return fmt.Errorf("%s is not a plan saved by \"pbxbatch plan --out\": %w", arg, err)
		}
		if f.target == "" {
			f.target = saved.Target // the plan says where it goes
		}
	}
	t, err := loadTarget(g, f.target, stderr)
	if err != nil {
		return err
	}
	f.override(t)
	t.accept = f.accept
	if saved != nil {
		if len(f.accept) > 0 {
			return fmt.Errorf("--accept goes with plan when a saved plan is applied: the plan records what was accepted (%s)", cmp.Or(strings.Join(saved.Accept, ", "), "nothing"))
		}
		t.accept = saved.Accept
	}
	// Locked before planning: the plan is made against a target no other
	// run is changing.
	lock, err := lockTarget(g, t, f.force, stderr)
	if err != nil {
		return err
	}
	defer lock.Release()
	return applyLocked(ctx, g, t, lock, f, saved, arg, stdin, stdout, stderr)
}

// applyLocked is apply once the target is locked: plan (or check the saved
// plan), confirm, create the run and execute it.
func applyLocked(ctx context.Context, g *globalOptions, t *target, lock *rundir.TargetLock, f applyFlags, saved *batch.Plan, arg string, stdin io.Reader, stdout, stderr io.Writer) error {
	out := f.output(stdout, stderr)
	if p := f.progressFor(stderr); p != nil {
		t.readProgress = p.Reading
	}
	p, in, conn, err := prepareApply(ctx, t, f, saved, arg, stderr)
	if err != nil {
		if ctx.Err() != nil {
			return cancelledBeforeChanges(t)
		}
		return err
	}
	defer conn.Close()

	total, _, _ := plan.Count(p)
	fmt.Fprintf(out.info, "Plan for target %s (%s): %s\n", t.Name, t.where(), planLine(total))
	if total.Changes() > 0 {
		fmt.Fprintln(out.info, reversibility(t, conn, p))
	}
	if total.Changes() > 0 && !f.yes && !approved(stdin, stderr, p, total, t.Name) {
		return withCode(exitError)
	}

	// The plan is saved masked (as Build made it) before secrets go back in.
	d, err := rundir.CreateWithPlan(g.stateDir, rundir.Meta{
		Adapter: p.Adapter, Target: t.Name, TargetURL: t.URL,
		Input: in.path, InputSHA256: in.sha256,
	}, p)
	if err != nil {
		return err
	}
	defer d.Close()
	lock.SetRun(d.ID)
	if err := plan.FillSecrets(p, in.rows); err != nil {
		return failRun(d, err)
	}
	fmt.Fprintf(out.info, "Run %s (%s)\n", d.ID, d.Path)
	return execute(ctx, g, t, conn, d, p, nil, f.runFlags, stdout, stderr)
}

// cancelledBeforeChanges is the outcome of a Ctrl-C before anything was
// sent: planning only reads.
func cancelledBeforeChanges(t *target) error {
	return &exitErr{code: exitCancelled, err: fmt.Errorf("cancelled while planning: nothing was changed on %s", t.Name)}
}

func isPlanFile(arg string) bool { return strings.EqualFold(filepath.Ext(arg), ".json") }

// planPreview is how many lines of the plan apply shows before asking.
const planPreview = 40

// showPlan prints the plan's first lines (the counts, then the first
// operations) before the question, as terraform apply does.
func showPlan(w io.Writer, p *batch.Plan) {
	var b bytes.Buffer
	if err := plan.WriteText(&b, p, plan.TextOptions{Color: planColor(w)}); err != nil {
		return
	}
	lines := strings.SplitAfter(b.String(), "\n")
	if len(lines) > planPreview {
		rest := len(lines) - planPreview
		lines = append(lines[:planPreview], fmt.Sprintf("… and %d more lines (pbxbatch plan prints them all)\n", rest))
	}
	fmt.Fprint(w, "\n"+strings.Join(lines, "")+"\n")
}

// prepareApply turns the argument (a workbook, or a plan saved by plan
// --out) into a plan, its validated input and an open connection. The plan's
// secrets are still masked: runApply saves it so, then fills them in.
func prepareApply(ctx context.Context, t *target, f applyFlags, saved *batch.Plan, arg string, stderr io.Writer) (*batch.Plan, *input, adapters.Conn, error) {
	if saved != nil {
		return prepareSavedPlan(ctx, t, saved, stderr)
	}
	p, in, diags, conn, err := planWorkbook(ctx, t, arg, stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	notes := planNotes(in, diags)
	writeNotes(stderr, blockedOnce(notes))
	if notes.HasErrors() && !f.allowBlocked {
		conn.Close()
		fmt.Fprintln(stderr, "\nNothing applied: fix the rows above (or use --allow-blocked to apply the rest and report them as blocked).")
		return nil, nil, nil, withCode(exitError)
	}
	return p, in, conn, nil
}

func prepareSavedPlan(ctx context.Context, t *target, p *batch.Plan, stderr io.Writer) (*batch.Plan, *input, adapters.Conn, error) {
	if p.Adapter != t.Adapter || p.Target != t.Name {
		return nil, nil, nil, fmt.Errorf("the plan was made for target %s (%s), not %s (%s): plan again for this target", p.Target, p.Adapter, t.Name, t.Adapter)
	}
	in, err := readInput(ctx, t, p.Input)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("re-reading the plan's input for its secrets: %w", err)
	}
	// Checked here, before connecting; FillSecrets checks again when the
	// secrets go back in.
	if in.sha256 != p.InputSHA256 {
		return nil, nil, nil, fmt.Errorf("input %s changed since the plan was made: plan again", p.Input)
	}
	if in.diags.HasErrors() {
		_ = writeDiagsText(stderr, in.diags, in.nRows)
		return nil, nil, nil, withCode(exitError)
	}
	conn, err := t.open(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	drifts, err := plan.CheckStale(ctx, conn, p)
	if err == nil {
		err = refuseStale(stderr, t, drifts, "Nothing applied. Plan again.")
	}
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	return p, in, conn, nil
}

// execute runs (or resumes, with prior) a plan in a run directory, writes
// the reports and the run's final state, and maps the outcome to an exit
// code.
func execute(ctx context.Context, g *globalOptions, t *target, conn adapters.Conn, d *rundir.Dir, p *batch.Plan, prior map[int]journal.Entry, f runFlags, stdout, stderr io.Writer) error {
	o := f.output(stdout, stderr)
	j, err := journal.Open(d.File(rundir.JournalFile))
	if err != nil {
		return failRun(d, err)
	}
	opts := run.Options{
		Concurrency: firstPositive(f.concurrency, t.Concurrency, 4),
		Pacer:       t.pacer,
		MaxFailures: f.maxFailures,
		FailFast:    f.failFast,
		BatchSize:   f.batchSize,
		Journal:     j,
		Prior:       prior,
		FromTarget:  f.fromTarget,
		Images:      !f.noImages,
	}
	opts.Locker = adapters.FeaturesOf(t.adapter, conn).Locker
	notices := stderr
	if pr := f.progressFor(stderr); pr != nil {
		opts.Progress = pr
		notices = printer{pr}
	}

	hints := nextSteps{g: g, id: d.ID, target: t.Name}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopSignals := onInterrupt(cancel, hints, notices)
	defer stopSignals()

	out, runErr := run.Run(runCtx, conn, p, t.adapter.Kinds(), opts)
	if err := j.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("journal: %w", err)
	}
	if out == nil {
		return failRun(d, runErr)
	}
	c := out.Counts
	next := hints.after(c, runErr, d.Path)
	meta := d.Meta()
	_, repErr := report.Write(d.Path, report.Input{
		RunID: d.ID, Adapter: p.Adapter, Target: t.Name, TargetURL: t.URL,
		InputPath: meta.Input, Started: meta.Started, Finished: out.Finished,
		Plan: p, Results: out.Results, Kinds: t.adapter.Kinds(), Step: out.Step, Next: next,
	})
	var stopped rundir.State
	switch {
	case errors.Is(runErr, context.Canceled):
		stopped = rundir.Cancelled
	case runErr != nil:
		stopped = rundir.Failed
	case repErr != nil:
		// The operations are done, but the operator has no report to act
		// on: the run's state says so until "report" writes them.
		stopped = rundir.Failed
		runErr = fmt.Errorf("reports not written: %w; write them with: %s", repErr, hints.command("report", d.ID))
	case out.Step != nil && out.Step.Status != batch.StatusSucceeded:
		stopped = rundir.Partial // every row is done, but not in effect
	}
	if err := d.Finish(c, stopped, runErr); err != nil {
		return err
	}

	segment := segmentCounts(p, out.Results, prior)
	reasons := report.Reasons(p, out.Results)
	if o.json {
		if err := writeJSON(stdout, runResult(d, out, stopped, runErr, prior, segment, reasons, next)); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.result, "\nRun %s: %s in %s (%.1f ops/s)\n", d.ID, countsLine(c), out.Duration.Round(time.Millisecond), out.OpsPerSec)
	if prior != nil {
		fmt.Fprintf(o.result, "This resume: %s\n", countsLine(segment))
	}
	if repErr == nil {
		fmt.Fprintf(o.info, "Reports: %s, %s, %s (in %s)\n", report.ResultsFile, report.FailedFile, report.SummaryFile, d.Path)
	}
	stepUndone := writeStep(o.result, stderr, out.Step)
	switch {
	case stopped == rundir.Cancelled:
		fmt.Fprintf(stderr, "Cancelled: nothing was lost. Resume with\n  %s\n", next[0])
		return &exitErr{code: exitCancelled, silent: true}
	case runErr != nil:
		return fmt.Errorf("run %s stopped: %w\n%s", d.ID, runErr, strings.Join(next, "\n"))
	case c.Failed+c.Blocked+c.Skipped > 0:
		if !f.quiet {
			writeFailureReasons(stderr, reasons)
		}
		fmt.Fprintf(stderr, "%d %s failed, %d blocked, %d skipped: see %s. Fix %s and apply it, or retry as it is:\n  %s\n",
			c.Failed, pluralWord(c.Failed, "row", "rows"), c.Blocked, c.Skipped, report.ResultsFile, report.FailedFile, strings.Join(next, "\n  "))
		return withCode(exitPartial)
	case stepUndone:
		fmt.Fprintf(stderr, "Resume with\n  %s\nto run the end-of-run step again.\n", hints.command("resume", d.ID))
		return withCode(exitPartial)
	}
	return nil
}

// writeStep prints the end-of-run step's outcome and reports whether it is
// undone (failed, or not run: the changes are not in effect).
func writeStep(stdout, stderr io.Writer, s *batch.Step) (undone bool) {
	if s == nil {
		return false
	}
	w := stdout
	if s.Status != batch.StatusSucceeded {
		w = stderr
	}
	for i, f := range report.StepFacts(s) {
		indent := "  "
		if i == 0 {
			indent = ""
		}
		fmt.Fprintf(w, "%s%s: %s\n", indent, f[0], f[1])
	}
	return s.Status != batch.StatusSucceeded
}

// printer writes through the progress display, so that a notice does not
// garble the bar.
type printer struct{ t *run.Terminal }

func (p printer) Write(b []byte) (int, error) {
	p.t.Print(string(b))
	return len(b), nil
}

func countsLine(c batch.RunCounts) string {
	return fmt.Sprintf("%d created, %d updated, %d deleted, %d unchanged, %d failed, %d blocked, %d skipped",
		c.Created, c.Updated, c.Deleted, c.Unchanged, c.Failed, c.Blocked, c.Skipped)
}

// segmentCounts counts what this run (or resume) settled: the operations
// the journal had not already recorded as done.
func segmentCounts(p *batch.Plan, results []batch.Result, prior map[int]journal.Entry) batch.RunCounts {
	var c batch.RunCounts
	for i, r := range results {
		if e, ok := prior[i]; ok && (e.Status == batch.StatusSucceeded || e.Status == batch.StatusNoop) {
			continue
		}
		c.Add(p.Ops[i].Action, r.Status)
	}
	return c
}

// runJSON is apply's and resume's --format json document.
type runJSON struct {
	RunID      string           `json:"run_id"`
	State      rundir.State     `json:"state"`
	Dir        string           `json:"dir"`
	Counts     batch.RunCounts  `json:"counts"`            // the whole run
	Segment    *batch.RunCounts `json:"segment,omitempty"` // this resume only
	Seconds    float64          `json:"duration_seconds"`
	OpsPerSec  float64          `json:"ops_per_second"`
	Error      string           `json:"error,omitempty"`
	FailedRows []report.Group   `json:"failure_reasons,omitempty"`
	Reports    []string         `json:"reports"`
	Next       []string         `json:"next,omitempty"`
	EndOfRun   *batch.Step      `json:"end_of_run,omitempty"`
}

func runResult(d *rundir.Dir, out *run.Outcome, stopped rundir.State, runErr error, prior map[int]journal.Entry, segment batch.RunCounts, reasons []report.Group, next []string) runJSON {
	state := stopped
	switch {
	case state != "":
	case out.Counts.Complete():
		state = rundir.Succeeded
	default:
		state = rundir.Partial
	}
	r := runJSON{RunID: d.ID, State: state, Dir: d.Path, Counts: out.Counts, Seconds: out.Duration.Seconds(), OpsPerSec: out.OpsPerSec,
		FailedRows: reasons, Reports: []string{report.ResultsFile, report.FailedFile, report.SummaryFile}, Next: next, EndOfRun: out.Step}
	if prior != nil {
		r.Segment = &segment
	}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	return r
}

// nextSteps writes the commands a run's messages suggest, with the
// --config and --state-dir this one was started with, so that each works
// as printed.
type nextSteps struct {
	g      *globalOptions
	id     string
	target string
}

// command renders "pbxbatch NAME ARGS…" with the global flags that differ
// from their defaults.
func (n nextSteps) command(name string, args ...string) string {
	parts := []string{"pbxbatch", name}
	parts = append(parts, args...)
	if n.g.config != defaultConfig {
		parts = append(parts, "--config", n.g.config)
	}
	if n.g.stateDir != defaultStateDir {
		parts = append(parts, "--state-dir", n.g.stateDir)
	}
	for i, p := range parts {
		parts[i] = shellQuote(p)
	}
	return strings.Join(parts, " ")
}

// after lists what to do once the run ended: resume it, or fix and apply
// failed.xlsx.
func (n nextSteps) after(c batch.RunCounts, runErr error, dir string) []string {
	out := []string{n.command("resume", n.id)}
	if runErr == nil && c.Failed+c.Blocked > 0 {
		out = append(out, n.command("apply", "--target", n.target, filepath.Join(dir, report.FailedFile)))
	}
	if runErr == nil && c.Failed+c.Blocked+c.Skipped == 0 {
		return nil
	}
	return out
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == ':' || r == '=' || r == '@' || r == '+' || r == ',' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// onInterrupt makes the first Ctrl-C cancel the run gracefully (calls in
// flight finish, everything is written down) and the second exit at once:
// the journal marks every call in flight before it is sent, so resume works
// either way.
func onInterrupt(cancel context.CancelFunc, n nextSteps, stderr io.Writer) (stop func()) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
		case <-done:
			return
		}
		fmt.Fprintf(stderr, "\nStopping: no new operations; waiting for calls in flight (Ctrl-C again to exit now — run %s stays resumable).\n", n.id)
		cancel()
		select {
		case <-sig:
			fmt.Fprintf(stderr, "Exiting now. Resume with:\n  %s\n", n.command("resume", n.id))
			os.Exit(exitCancelled)
		case <-done:
		}
	}()
	return func() { signal.Stop(sig); close(done) }
}

// interactive reports whether stdin is a terminal someone can answer on.
func interactive(stdin io.Reader) bool {
	f, ok := stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// approved asks before changes are made: on a terminal it shows the plan
// first; elsewhere the answer must come on standard input ("yes", as from
// `echo yes |`), so that a script without --yes never changes a PBX
// unasked.
func approved(stdin io.Reader, stderr io.Writer, p *batch.Plan, total plan.ActionCounts, target string) bool {
	tty := interactive(stdin)
	if tty {
		showPlan(stderr, p)
	}
	if confirm(stdin, stderr, fmt.Sprintf("Apply %d %s to %s?", total.Changes(), pluralWord(total.Changes(), "change", "changes"), target)) {
		return true
	}
	if tty {
		fmt.Fprintln(stderr, "Nothing applied.")
	} else {
		fmt.Fprintln(stderr, "\nNothing applied: no terminal to confirm on and no \"yes\" on standard input; review the plan, then run again with --yes.")
	}
	return false
}

// confirm asks a yes/no question and reads the answer.
func confirm(stdin io.Reader, stderr io.Writer, question string) bool {
	fmt.Fprintf(stderr, "%s Only 'yes' is accepted: ", question)
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

func planLine(c plan.ActionCounts) string {
	return fmt.Sprintf("%d to create, %d to update, %d to delete, %d unchanged, %d blocked", c.Create, c.Update, c.Delete, c.Noop, c.Blocked)
}

func firstPositive(vs ...int) int {
	for _, v := range vs {
		if v > 0 {
			return v
		}
	}
	return 0
}

// override applies --rate and --concurrency to the target before it is
// opened, so that the connection, the planner and the runner share them.
func (f *runFlags) override(t *target) {
	if f.rate > 0 {
		t.Rate = f.rate
	}
	if f.concurrency > 0 {
		t.Concurrency = f.concurrency
	}
}

// failRun records that a run stopped on err before or instead of running,
// and returns err.
func failRun(d *rundir.Dir, err error) error {
	if ferr := d.Finish(batch.RunCounts{}, rundir.Failed, err); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

// writeFailureReasons prints why rows failed, most frequent reason first,
// each with the first row it hit, so the operator sees at once whether it is
// one systematic problem or many; results.xlsx has every row.
func writeFailureReasons(w io.Writer, reasons []report.Group) {
	if len(reasons) == 0 {
		return
	}
	const show = 5
	fmt.Fprintln(w, "\nWhy rows failed:")
	for _, x := range reasons[:min(show, len(reasons))] {
		fmt.Fprintf(w, "  %5d × %s, first at %s\n", x.Count, x.Reason, x.First)
	}
	if len(reasons) > show {
		fmt.Fprintf(w, "  … and %d other reasons (results.xlsx has every row)\n", len(reasons)-show)
	}
}
