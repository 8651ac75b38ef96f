package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/report"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func newReportCmd(g *globalOptions) *cobra.Command {
	var movedInput string
	cmd := &cobra.Command{
		Use:   "report RUN_ID [--input PATH]",
		Short: "Regenerate a run's reports from its plan and journal",
		Long: `report rewrites results.xlsx, failed.xlsx and summary.json in the run's
directory from its plan and journal (the journal is the record of what
happened; the reports are views of it). The input workbook is read again
for the rows as they were (--input where it is now, if it moved: its
SHA-256 is checked); without it, summary.json is still written.

EXIT STATUS
  0  reports written
  1  error`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := rundir.Stat(g.stateDir, args[0])
			if err != nil {
				return err
			}
			p, err := rundir.ReadPlan(info.Dir, info.Meta)
			if err != nil {
				return err
			}
			inputPath, err := reportInputPath(info, movedInput)
			if err != nil {
				return err
			}
			kinds, err := schemas.Load(p.Adapter)
			if err != nil {
				return err
			}
			results, finished, err := resultsFromJournal(filepath.Join(info.Dir, rundir.JournalFile), info.Finished)
			if err != nil {
				return err
			}
			step, err := stepFromJournal(filepath.Join(info.Dir, rundir.JournalFile))
			if err != nil {
				return err
			}
			_, err = report.Write(info.Dir, report.Input{
				RunID: info.ID, Adapter: p.Adapter, Target: info.Target, TargetURL: info.TargetURL,
				InputPath: inputPath, Started: info.Started, Finished: finished,
				Plan: p, Results: results, Kinds: kinds, Step: step,
				Next: nextSteps{g: g, id: info.ID, target: info.Target}.after(info.Counts, nil, info.Dir),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Reports written to %s\n", info.Dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&movedInput, "input", "", "where the run's input is now, if it moved")
	return cmd
}

// resultsFromJournal rebuilds each operation's last result from the journal:
// the last entry holds its state, and the in-flight mark of its last attempt
// says when the call started (for latency percentiles).
func resultsFromJournal(path string, finished time.Time) ([]batch.Result, time.Time, error) {
	entries, err := journal.Read(path)
	if err != nil {
		return nil, finished, err
	}
	byOp := map[int]*batch.Result{}
	var order []int
	for _, e := range entries {
		if e.Op == journal.StepOp {
			continue
		}
		r := byOp[e.Op]
		if r == nil {
			r = &batch.Result{Op: e.Op}
			byOp[e.Op] = r
			order = append(order, e.Op)
		}
		if e.Status == batch.StatusInFlight {
			r.StartedAt = e.At
		}
		r.Status, r.Message, r.BlockedBy, r.Attempts, r.FinishedAt = e.Status, e.Message, e.BlockedBy, max(r.Attempts, e.Attempt), e.At
		if e.TargetID != "" {
			r.TargetID = e.TargetID
		}
		if e.At.After(finished) {
			finished = e.At
		}
	}
	results := make([]batch.Result, 0, len(order))
	for _, id := range order {
		results = append(results, *byOp[id])
	}
	return results, finished, nil
}

// stepFromJournal returns the end-of-run step's last outcome, or nil.
func stepFromJournal(path string) (*batch.Step, error) {
	e, ok, err := journal.LastStep(path)
	if err != nil || !ok {
		return nil, err
	}
	step := &batch.Step{Status: e.Status, Message: e.Message, Attempts: e.Attempt}
	if e.Step != nil {
		step = e.Step
		step.Status = e.Status
	}
	return step, nil
}
