package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/retry"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/mapping"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/config"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/httplog"
	"github.com/pbxbatch/pbxbatch/internal/pace"
)

// target is a configured target with its adapter, not yet connected.
type target struct {
	adapters.Target
	adapter adapters.Adapter
	// pacer is the target's one request budget (rate: in the config):
	// every request of the connection waits on it (Target.Pacer), and the
	// runner takes its retry backoff from it.
	pacer *pace.Pacer
	// accept lists the validation codes the operator accepted (--accept,
	// or a saved plan's Accept).
	accept []string
	// readProgress, when set, shows planning's reads of the live state.
	readProgress func(done, total int)
	// notes hears the pacer's circuit breaker open and close (stderr).
	notes io.Writer
}

// loadTarget reads the named target from the config file and finds its
// adapter. Warnings an operator must see (TLS checks off, …) go to warn.
func loadTarget(g *globalOptions, name string, warn io.Writer) (*target, error) {
	if name == "" {
		return nil, fmt.Errorf("name the target with --target (targets are defined in %s)", g.config)
	}
	reg := registry()
	t, err := config.LoadTarget(g.config, name, reg, warn)
	if err != nil {
		return nil, err
	}
	a, err := reg.Get(t.Adapter)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	if t.URL == "" && adapters.FeaturesOf(a, nil).HTTP {
		return nil, fmt.Errorf("target %s in %s has no url: adapter %s talks to an HTTP API; add url: https://host:port", t.Name, g.config, t.Adapter)
	}
	if g.verbose {
		log := slog.New(slog.NewTextHandler(warn, nil)).With("target", t.Name)
		t.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return httplog.Transport(rt, log) }
	}
	return &target{Target: t, adapter: a, notes: warn}, nil
}

// open connects to the target, retrying a login that meets a transient
// fault. Adapters retry their own reads request by request (retry.Do);
// writes are the runner's business.
func (t *target) open(ctx context.Context) (adapters.Conn, error) {
	t.pacer = pace.New(pace.Config{Rate: t.Rate, Notify: func(msg string) { fmt.Fprintf(t.notes, "%s: %s\n", t.Name, msg) }})
	t.Target.Pacer = t.pacer
	conn, err := retry.Open(ctx, t.adapter, t.Target, retry.Options{Pacer: t.pacer})
	if err != nil {
		return nil, fmt.Errorf("connecting to target %s (%s): %w", t.Name, t.where(), err)
	}
	return conn, nil
}

// where names the target's endpoint for messages: its url, or its adapter
// for a target that is not an HTTP API.
func (t *target) where() string {
	if t.URL == "" {
		return "adapter " + t.Adapter
	}
	return t.URL
}

// input is a validated workbook: its rows and what validation said.
type input struct {
	path   string // absolute
	sha256 string
	rows   []batch.Row
	diags  diag.List
	nRows  int
}

// readInput validates a workbook against the target's kinds and keeps its
// rows. The hash is taken before reading, so a file changed while it is read
// no longer matches and a saved plan's secret check refuses it.
func readInput(ctx context.Context, t *target, path string) (*input, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	sum, err := plan.HashInput(abs)
	if err != nil {
		return nil, fmt.Errorf("reading input: %w", err)
	}
	v, err := validate.New(t.adapter.Kinds(), validate.Options{Accept: t.accept})
	if err != nil {
		return nil, err
	}
	in := &input{path: abs, sha256: sum}
	res, err := v.File(ctx, abs, func(r batch.Row) error { in.rows = append(in.rows, r); return nil })
	if err != nil {
		return nil, err
	}
	in.diags, in.nRows = res.Diags, res.Rows
	// A mapped workbook names each row's source: plan, results and
	// failure messages point back at it.
	sources, err := mapping.Sources(abs)
	if err != nil {
		return nil, err
	}
	for i := range in.rows {
		in.rows[i].Source = sources[in.rows[i].Origin]
	}
	return in, nil
}

// planWorkbook validates the workbook at path and, when it is valid, connects
// to the target and plans it. Validation comes first so that a broken
// workbook is reported at once, without touching the network; its errors are
// written to stderr and the error returned is exit status 1. The caller closes
// conn.
func planWorkbook(ctx context.Context, t *target, path string, stderr io.Writer) (*batch.Plan, *input, diag.List, adapters.Conn, error) {
	in, err := readInput(ctx, t, path)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if in.diags.HasErrors() {
		_ = writeDiagsText(stderr, in.diags, in.nRows)
		return nil, nil, nil, nil, withCode(exitError)
	}
	conn, err := t.open(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	p, diags, err := plan.Build(ctx, conn, t.adapter.Kinds(), in.rows, t.planOptions(in))
	if err != nil {
		conn.Close()
		return nil, nil, nil, nil, err
	}
	p.Accept = t.accept
	return p, in, diags, conn, nil
}

// planOptions are the planner's options for a target and input.
func (t *target) planOptions(in *input) plan.Options {
	opts := plan.Options{
		Reads:       plan.Reads{Concurrency: t.Concurrency, Progress: t.readProgress},
		Target:      t.Name,
		TargetURL:   t.URL,
		Input:       in.path,
		InputSHA256: in.sha256,
	}
	f := adapters.FeaturesOf(t.adapter, nil)
	opts.Capabilities, opts.Locker = f.Capabilities, f.Locker
	return opts
}

// planNotes merges validation and planning messages for printing. The
// planner settles references against the target, so the validator's "not in
// the workbook" warnings would only be noise by then.
func planNotes(in *input, planDiags diag.List) diag.List {
	var notes diag.List
	for _, d := range append(append(diag.List{}, in.diags...), planDiags...) {
		if d.Code != "ref.not_in_workbook" {
			notes = append(notes, d)
		}
	}
	notes.Sort()
	return notes
}

func writeNotes(w io.Writer, notes diag.List) {
	if len(notes) == 0 {
		return
	}
	errs, warns := notes.Count()
	fmt.Fprintf(w, "\n%d %s, %d %s:\n", errs, pluralWord(errs, "error", "errors"), warns, pluralWord(warns, "warning", "warnings"))
	for _, d := range notes {
		fmt.Fprintf(w, "  %s: %s\n", d.Severity, d.Error())
	}
}
