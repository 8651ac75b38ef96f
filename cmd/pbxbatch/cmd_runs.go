package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

func newRunsCmd(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "runs [--format text|json|csv]",
		Short: "List runs, newest first",
		Long: `runs lists the runs in the state directory, newest first: id, target,
input, start time, state and counts (--format json or csv for scripts and
spreadsheets). A run that says "interrupted" was
stopped by a crash or kill -9: resume it.

EXIT STATUS
  0  listed
  1  error`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			runs, err := rundir.List(g.stateDir)
			if err != nil {
				return err
			}
			return printRuns(cmd.OutOrStdout(), format, runs)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text, json or csv")
	return cmd
}

func newStatusCmd(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status RUN_ID [--format text|json]",
		Short: "Show one run",
		Long: `status shows one run: target, input, times, state, counts, and where its
reports are.

EXIT STATUS
  0  shown
  1  error (unknown run)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := rundir.Stat(g.stateDir, args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), info)
			}
			if format != "text" {
				return fmt.Errorf("--format %q: use text or json", format)
			}
			w := cmd.OutOrStdout()
			c := info.Counts
			fmt.Fprintf(w, "run:      %s\nstate:    %s\ntarget:   %s (%s, %s)\ninput:    %s\nstarted:  %s\n",
				info.ID, info.State, info.Target, info.Adapter, info.TargetURL, info.Input, info.Started.Local().Format(time.DateTime))
			if !info.Finished.IsZero() {
				fmt.Fprintf(w, "finished: %s (%s)\n", info.Finished.Local().Format(time.DateTime), info.Finished.Sub(info.Started).Round(time.Millisecond))
			}
			fmt.Fprintf(w, "ops:      %d planned: %d created, %d updated, %d deleted, %d unchanged, %d failed, %d blocked, %d skipped",
				info.Ops, c.Created, c.Updated, c.Deleted, c.Unchanged, c.Failed, c.Blocked, c.Skipped)
			if c.InFlight+c.Pending > 0 {
				fmt.Fprintf(w, ", %d in flight, %d pending", c.InFlight, c.Pending)
			}
			fmt.Fprintf(w, "\ndir:      %s\n", info.Dir)
			if info.Error != "" {
				fmt.Fprintf(w, "error:    %s\n", info.Error)
			}
			if info.Resumes > 0 {
				fmt.Fprintf(w, "resumed:  %d times\n", info.Resumes)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

func printRuns(w io.Writer, format string, runs []rundir.Info) error {
	switch format {
	case "json":
		if runs == nil {
			runs = []rundir.Info{}
		}
		return writeJSON(w, runs)
	case "csv":
		return writeRunsCSV(w, runs)
	case "text":
	default:
		return fmt.Errorf("--format %q: use text, json or csv", format)
	}
	if len(runs) == 0 {
		fmt.Fprintln(w, "no runs yet")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTARGET\tINPUT\tSTARTED\tSTATE\tCREATED\tUPDATED\tDELETED\tUNCHANGED\tFAILED\tBLOCKED")
	for _, r := range runs {
		c := r.Counts
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", r.ID, r.Target, filepath.Base(r.Input),
			r.Started.Local().Format(time.DateTime), r.State, c.Created, c.Updated, c.Deleted, c.Unchanged, c.Failed, c.Blocked)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range runs {
		if r.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", r.ID, r.Error)
		}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
