package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

// lockTarget keeps other runs off t while this one runs (rundir.LockTarget).
// With force, a target another run holds is a warning, not an error.
func lockTarget(g *globalOptions, t *target, force bool, stderr io.Writer) (*rundir.TargetLock, error) {
	l, err := rundir.LockTarget(g.stateDir, t.Name, t.Adapter, t.URL, "")
	var busy *rundir.TargetBusyError
	if errors.As(err, &busy) && force {
		fmt.Fprintf(stderr, "WARNING: target %s is in use by %s; going on anyway (--force)\n", t.Name, busy.Holder)
		return nil, nil
	}
	return l, err
}

// checkSameTarget refuses to resume a run against another target than the
// one it ran against: the name in the config file may point elsewhere now,
// and the journal says nothing about that system.
func checkSameTarget(m rundir.Meta, t *target) error {
	if m.TargetURL == "" && m.Adapter == "" {
		return nil
	}
	if rundir.TargetKey(cmp.Or(m.Adapter, t.Adapter), m.TargetURL) == rundir.TargetKey(t.Adapter, t.URL) {
		return nil
	}
	return fmt.Errorf("run %s ran against %s (%s), but target %s is now %s (%s) in %s: a run is resumed only against the system it ran on; "+
		"put the target back as it was, or apply the input to the new target as a new run", m.ID, m.TargetURL, m.Adapter, t.Name, t.URL, t.Adapter, "the config file")
}

// resumeInput finds the run's input for its secrets: at the path the run
// recorded, or where --input says it is now (same content: its SHA-256 is
// checked). A plan without secrets needs no input at all.
func resumeInput(ctx context.Context, t *target, p *batch.Plan, m rundir.Meta, moved string) (*input, error) {
	if moved == "" && !plan.NeedsSecrets(p) {
		return nil, nil
	}
	path := cmp.Or(moved, m.Input)
	in, err := readInput(ctx, t, path)
	if err != nil {
		return nil, fmt.Errorf("re-reading the run's input for its secrets: %w (if it moved, give its new place with --input)", err)
	}
	if in.sha256 != m.InputSHA256 && m.InputSHA256 != "" {
		return nil, fmt.Errorf("input %s is not the one run %s was made from (its SHA-256 differs): give the original with --input, or plan again", path, m.ID)
	}
	p.Input = in.path
	return in, nil
}

// checkUnwrittenStale re-checks the records the run has not written yet
// against what the plan saw: time has passed since the run started, and
// someone may have changed them. It prints what moved and returns an error
// when anything did.
func checkUnwrittenStale(ctx context.Context, t *target, conn adapters.Conn, p *batch.Plan, prior map[int]journal.Entry, stderr io.Writer) error {
	drifts, err := plan.CheckStale(ctx, conn, run.Unsent(p, prior))
	if err != nil {
		return err
	}
	return refuseStale(stderr, t, drifts, "Nothing more applied. Apply the input again as a new run (it plans against the target as it is now).")
}

// refuseStale prints drifts and returns exit status 1 when there are any.
func refuseStale(stderr io.Writer, t *target, drifts []plan.Drift, what string) error {
	if len(drifts) == 0 {
		return nil
	}
	fmt.Fprintf(stderr, "The plan is stale: %d %s changed on %s since it was made:\n", len(drifts), pluralWord(len(drifts), "record", "records"), t.Name)
	for _, d := range drifts {
		fmt.Fprintf(stderr, "  %s\n", d)
	}
	fmt.Fprintln(stderr, what)
	return withCode(exitError)
}

// reportInputPath is where report reads the run's input rows: the recorded
// path, or --input when it moved (checked to be the same content).
func reportInputPath(info rundir.Info, moved string) (string, error) {
	if moved == "" {
		return info.Input, nil
	}
	abs, err := filepath.Abs(moved)
	if err != nil {
		return "", err
	}
	sum, err := plan.HashInput(abs)
	if err != nil {
		return "", err
	}
	if info.InputSHA256 != "" && sum != info.InputSHA256 {
		return "", fmt.Errorf("%s is not the input run %s was made from (its SHA-256 differs)", moved, info.ID)
	}
	return abs, nil
}

// checkReviewed refuses a saved plan that is not the one reviewed: its
// SHA-256 (printed by plan --out) must be want, when want is given.
func checkReviewed(path, want string) error {
	if want == "" {
		return nil
	}
	sum, err := plan.HashInput(path)
	if err != nil {
		return err
	}
	if !strings.EqualFold(sum, strings.TrimSpace(want)) {
		return fmt.Errorf("%s is not the plan that was reviewed: its SHA-256 is %s, not %s; nothing applied (plan again and review it)", path, sum, want)
	}
	return nil
}
