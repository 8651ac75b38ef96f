package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

func newResumeCmd(g *globalOptions) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "resume RUN_ID",
		Short: "Carry on with a run that was cancelled, crashed or left rows failed",
		Long: `resume re-opens a run directory and carries on with its plan:
operations that succeeded are skipped; operations that were in flight when
the run stopped (Ctrl-C, crash, kill -9) are read back from the target by
natural key first, so nothing is created twice; failed, blocked and skipped
operations are tried again; the rest runs as planned. The target comes from
the run (its name is looked up in the config file again, for the password).
The input is read again for the secrets the plan does not keep; if it has
changed since the run started, resume refuses: plan again.

EXIT STATUS
  0   every operation succeeded (or had nothing to do)
  1   error (unknown run, run held by another process, input changed, …)
  3   some rows still failed or were blocked (reports rewritten)
  130 cancelled (resumable again)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runResume(cmd.Context(), g, f, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	return cmd
}

func runResume(ctx context.Context, g *globalOptions, f runFlags, id string, stdout, stderr io.Writer) error {
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
	f.override(t)
	p, err := d.ReadPlan()
	if err != nil {
		return failRun(d, err)
	}
	prior, err := journal.Replay(d.File(rundir.JournalFile))
	if err != nil {
		return failRun(d, err)
	}
	in, err := readInput(ctx, t, meta.Input)
	if err != nil {
		return failRun(d, fmt.Errorf("re-reading the run's input for its secrets: %w", err))
	}
	if err := plan.FillSecrets(p, in.rows); err != nil {
		return failRun(d, err)
	}
	conn, err := t.open(ctx)
	if err != nil {
		return failRun(d, err)
	}
	defer conn.Close()
	if err := d.Update(func(m *rundir.Meta) { m.Resumes++ }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Resuming run %s on %s (%s): %d operations, %d with a recorded state\n", d.ID, t.Name, t.URL, len(p.Ops), len(prior))
	return execute(ctx, t, conn, d, p, prior, f, stdout, stderr)
}
