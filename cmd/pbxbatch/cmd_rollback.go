package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/rollback"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

type rollbackFlags struct {
	applyFlags
	kinds []string // --force KIND: undo records of KIND changed since the run
}

func newRollbackCmd(g *globalOptions) *cobra.Command {
	var f rollbackFlags
	cmd := &cobra.Command{
		Use:   "rollback RUN_ID [--force KIND]... [flags]",
		Short: "Undo what a run did, as a planned, journaled run of its own",
		Long: `rollback undoes what run RUN_ID actually did on its target, as its journal
records it (a run that was interrupted or partly failed included: what it
may have sent is compared with the target as it is now). A record it
created is deleted, one it updated is restored to its before-image (the
record as read just before the write), one it deleted is recreated from it,
and the records that referenced it are linked to it again. The steps are
written as an input (rollback-<time>-<random>/ in the run's directory, one
CSV per kind; what is refused or not restorable goes to the .json file
beside it) and planned like any workbook, in dependency order; the plan is
shown and applied after confirmation, as apply does. The rollback is itself a
run: journaled, resumable ("pbxbatch resume"), reported, and it can be
rolled back in turn, which redoes the run.

What cannot be undone safely is refused, record by record, with the reason:
a record changed on the target since the run (compared with the after-image
the run journaled; --force KIND undoes the records of that kind anyway), an
inverse the platform's API cannot do (sipXcom park orbits cannot be
deleted), and fields that cannot be put back: secrets and write-only fields
are never read back, so they are reported "not restorable", never invented
(set them again by hand).

A run applied with --no-before-images kept no images: its rollback restores
what the plan read and compares with the planned records instead (said in
the output).

EXIT STATUS
  0   the run is undone (or there was nothing to undo)
  1   error: unknown run, target unreachable or held by another run, plan
      errors, the journal could not be written
  3   records were refused (listed), or rows of the rollback failed or
      were blocked (reports written)
  130 cancelled (resumable)`,
		Example: `  pbxbatch rollback 20261122-083012-ab12
  pbxbatch rollback --force user 20261122-083012-ab12`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRollback(cmd.Context(), g, f, args[0], cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.registerTuning(cmd)
	cmd.Flags().StringSliceVar(&f.kinds, "force", nil, "undo the records of `KIND` even when they changed on the target since the run (repeatable, or comma-separated kinds); the change since is lost")
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&f.allowBlocked, "allow-blocked", false, "apply the rollback even when some of its rows are blocked at plan time")
	return cmd
}

func runRollback(ctx context.Context, g *globalOptions, f rollbackFlags, id string, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := f.check(); err != nil {
		return err
	}
	info, err := rundir.Stat(g.stateDir, id)
	if err != nil {
		return err
	}
	t, err := loadTarget(g, info.Target, stderr)
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	if err := checkSameTarget(info.Meta, t); err != nil {
		return err
	}
	for i, name := range f.kinds {
		k := t.adapter.Kinds().Kind(name)
		if k == nil {
			return fmt.Errorf("--force %s: %s has no such kind (pbxbatch kinds %s lists them)", name, t.Adapter, t.Adapter)
		}
		f.kinds[i] = k.Name // "users" and "Users" name it too
	}
	f.override(t)
	f.target = t.Name
	lock, err := lockTarget(g, t, false, stderr)
	if err != nil {
		return err
	}
	defer lock.Release()

	inv, err := inverseOf(ctx, t, info, f.kinds)
	if err != nil {
		return err
	}
	writeInverse(f.output(stdout, stderr).info, stderr, info.ID, inv)
	refused := len(inv.Refused)
	in := filepath.Join(info.Dir, "rollback-"+rundir.NewID(time.Now()))
	if refused+len(inv.Steps) > 0 {
		if err := inv.WriteNotes(in+".json", info.ID); err != nil {
			return err
		}
	}
	if len(inv.Steps) == 0 {
		fmt.Fprintln(f.output(stdout, stderr).info, "Nothing to roll back.")
		if refused > 0 {
			return withCode(exitPartial)
		}
		return nil
	}
	if err := inv.WriteInput(in); err != nil {
		return err
	}
	if err := applyLocked(ctx, g, t, lock, f.applyFlags, nil, in, stdin, stdout, stderr); err != nil {
		return err
	}
	if refused > 0 {
		fmt.Fprintf(stderr, "%d %s refused (listed above): left as they are on %s.\n", refused, pluralWord(refused, "record was", "records were"), t.Name)
		return withCode(exitPartial)
	}
	return nil
}

// inverseOf reads run info's plan and journal and works out its inverse
// against the target.
func inverseOf(ctx context.Context, t *target, info rundir.Info, force []string) (*rollback.Inverse, error) {
	p, err := rundir.ReadPlan(info.Dir, info.Meta)
	if err != nil {
		return nil, err
	}
	entries, err := journal.Read(filepath.Join(info.Dir, rundir.JournalFile))
	if err != nil {
		return nil, fmt.Errorf("run %s: %w: what it did is not known, so it cannot be rolled back", info.ID, err)
	}
	conn, err := t.open(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return rollback.Build(ctx, conn, t.adapter.Kinds(), p, entries, rollback.Options{
		Reads:        plan.Reads{Concurrency: t.Concurrency},
		Target:       t.Name,
		Capabilities: adapters.FeaturesOf(t.adapter, conn).Capabilities,
		Force:        force,
	})
}

// writeInverse prints what the rollback will do before its plan: the
// counts, what is refused and why, and what cannot be restored.
func writeInverse(info, stderr io.Writer, id string, inv *rollback.Inverse) {
	var n [3]int
	for _, s := range inv.Steps {
		switch s.Action {
		case batch.DeleteRow:
			n[0]++
		case batch.UpdateRow:
			n[1]++
		case batch.CreateRow:
			n[2]++
		}
	}
	fmt.Fprintf(info, "Rollback of run %s: %d to delete, %d to restore, %d to recreate; %d already as before the run; %d refused\n",
		id, n[0], n[1], n[2], inv.AsBefore, len(inv.Refused))
	if inv.Planned > 0 {
		fmt.Fprintf(info, "%d of them restore what the plan read: the run kept no before-image of them (--no-before-images)\n", inv.Planned)
	}
	const show = 20
	if len(inv.Refused) > 0 {
		fmt.Fprintln(stderr, "\nRefused:")
		for _, r := range inv.Refused[:min(show, len(inv.Refused))] {
			fmt.Fprintf(stderr, "  %s\n", r)
		}
		if len(inv.Refused) > show {
			fmt.Fprintf(stderr, "  … and %d more\n", len(inv.Refused)-show)
		}
	}
	var lost []string
	for _, s := range inv.Steps {
		if len(s.Lost) > 0 {
			lost = append(lost, fmt.Sprintf("%s %q (%s): %s", s.Kind.Name, s.Key, s.Op.Origin, strings.Join(s.Lost, ", ")))
		}
	}
	if len(lost) > 0 {
		fmt.Fprintln(stderr, "\nNot restorable (secrets and write-only fields are never read back; set them again by hand):")
		for _, l := range lost[:min(show, len(lost))] {
			fmt.Fprintf(stderr, "  %s\n", l)
		}
		if len(lost) > show {
			fmt.Fprintf(stderr, "  … and %d more\n", len(lost)-show)
		}
	}
	fmt.Fprintln(info)
}

// reversibility is the line plan and apply print about whether a rollback
// could undo the plan's run.
func reversibility(t *target, conn adapters.Conn, p *batch.Plan) string {
	return rollback.Summary(rollback.Losses(p, t.adapter.Kinds(), adapters.FeaturesOf(t.adapter, conn).Capabilities))
}

// rolledBackBy returns the id of a run that rolls run id back (its input
// is one of id's rollback inputs), or "": resuming a run after its rollback
// would redo only what the run had not done.
func rolledBackBy(stateDir, id string) (string, error) {
	runs, err := rundir.List(stateDir)
	if err != nil {
		return "", err
	}
	for _, r := range runs {
		if filepath.Base(filepath.Dir(r.Input)) == id && strings.HasPrefix(filepath.Base(r.Input), "rollback-") {
			return r.ID, nil
		}
	}
	return "", nil
}
