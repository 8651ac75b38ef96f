package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

func newResumeCmd(g *globalOptions) *cobra.Command {
	var f runFlags
	var movedInput string
	cmd := &cobra.Command{
		Use:   "resume RUN_ID [--format text|json]",
		Short: "Carry on with a run that was cancelled, crashed or left rows failed",
		Long: `resume re-opens a run directory and carries on with its plan:
operations that succeeded are skipped; operations that were in flight when
the run stopped (Ctrl-C, crash, kill -9) are read back from the target by
natural key first, so nothing is created twice; failed, blocked and skipped
operations are tried again; the rest runs as planned. Every operation an
earlier attempt sent (failed ones included: a create can land and then
fail) is read back before anything is sent for it again, and records not
written yet are checked against what the plan saw (changed ones: refused).
The target comes from the run: its name is looked up in the config file
again, for the password, and resume refuses if it points at another URL.
The input is read again for the secrets the plan does not keep (--input if
it moved); if it has changed since the run started, resume refuses: plan
again. Operations recorded done are trusted; after restoring the target
from a backup, or when the journal is damaged, --from-target reads every
operation back instead. The summary says what this resume did and what the
run has done in all; --format json prints it as one document (see apply).

EXIT STATUS
  0   every operation succeeded (or had nothing to do)
  1   error (unknown run, run held by another process, input changed, …)
  3   some rows still failed or were blocked (reports rewritten)
  130 cancelled (resumable again)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runResume(cmd.Context(), g, f, args[0], movedInput, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&f.fromTarget, "from-target", false, "read every operation back from the target before sending anything, done ones included (a damaged journal, a target restored from a backup)")
	cmd.Flags().StringVar(&movedInput, "input", "", "where the run's input is now, if it moved (it must be the same file: its SHA-256 is checked)")
	return cmd
}

func runResume(ctx context.Context, g *globalOptions, f runFlags, id, movedInput string, stdout, stderr io.Writer) error {
	if err := f.check(); err != nil {
		return err
	}
	d, err := rundir.Open(g.stateDir, id)
	if err != nil {
		return err
	}
	defer d.Close()
	meta := d.Meta()
	t, err := loadTarget(g, meta.Target, stderr)
	if err != nil {
		return failRun(d, fmt.Errorf("run %s: %w", id, err))
	}
	if err := checkSameTarget(meta, t); err != nil {
		return failRun(d, err)
	}
	f.override(t)
	lock, err := lockTarget(g, t, f.force, stderr)
	if err != nil {
		return failRun(d, err)
	}
	defer lock.Release()
	lock.SetRun(d.ID)
	p, err := d.ReadPlan()
	if err != nil {
		return failRun(d, err)
	}
	prior, err := journal.Replay(d.File(rundir.JournalFile))
	switch {
	case err != nil && !f.fromTarget:
		return failRun(d, fmt.Errorf("%w; pbxbatch resume --from-target %s reads every operation back from the target instead", err, id))
	case err != nil:
		aside, serr := d.SetAsideJournal()
		if serr != nil {
			return failRun(d, serr)
		}
		fmt.Fprintf(stderr, "The journal cannot be read (%v); kept as %s. Every operation is read back from the target.\n", err, aside)
		prior = nil
	}
	t.accept = p.Accept // the input is judged as it was when planned
	in, err := resumeInput(ctx, t, p, meta, movedInput)
	if err != nil {
		return failRun(d, err)
	}
	if in != nil {
		if err := plan.FillSecrets(p, in.rows); err != nil {
			return failRun(d, err)
		}
		if err := d.Update(func(m *rundir.Meta) { m.Input = in.path }); err != nil {
			return err
		}
	}
	conn, err := t.open(ctx)
	if err != nil {
		return failRun(d, err)
	}
	defer conn.Close()
	// What was sent is read back; what was not is checked against what
	// the plan saw, as apply checks a saved plan. With --from-target the
	// journal does not tell them apart: everything is read back.
	if !f.fromTarget {
		if err := checkUnwrittenStale(ctx, t, conn, p, prior, stderr); err != nil {
			return failRun(d, err)
		}
	}
	rc := run.CountResume(p, prior, f.fromTarget)
	fmt.Fprintf(f.output(stdout, stderr).info, "Resuming run %s on %s (%s): %d operations: %d already settled, %d to read back first, %d to run\n",
		d.ID, t.Name, t.where(), len(p.Ops), rc.Done, rc.ReadBack, rc.Rest)
	return execute(ctx, g, t, conn, d, p, prior, f, stdout, stderr)
}
