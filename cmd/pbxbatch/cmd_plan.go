package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/internal/diag"
)

type planFlags struct {
	target, out, format string
	allowBlocked        bool
	accept              []string
}

func newPlanCmd(g *globalOptions) *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan --target NAME [--out plan.json] [--format text|json] INPUT",
		Short: "Show what applying a workbook would change on a target, without changing anything",
		Long: `plan validates INPUT exactly as validate does, reads the live state of every
record the input touches or references from the target (reads only), and
shows what apply would do, like terraform plan:

  + create    ~ update (each field: before → after)    - delete
  ! blocked (with the reason)    = no-op worth a note

Blank cells keep the target's value; <clear> clears it. A reference must
name a record that is in the input or already on the target, else the cell
is an error. Operations are ordered by the references the schemas declare
(deletes in reverse); references in a cycle are errors on every row
involved. Secrets are never shown. Platforms never read secrets (and
write-only fields) back, so on records that exist they do not make an
update by themselves: re-applying a rollout is all no-ops and PINs users
changed since are kept. They are sent along with any other change, and on
their own when the row's action is "update".

--out saves the plan (plan.json) for "pbxbatch apply PLAN": apply then does
exactly what was shown, and refuses if any record it touches has changed on
the target since (a stale plan), or if INPUT has changed (it reads the
secrets from INPUT; plan.json never holds them). --format json prints the
plan itself instead of the summary.

A blocked row is an error: the plan is printed but not saved, and the exit
status is 1, so that nothing is applied half-understood. Fix the rows, or
add --allow-blocked to save a plan that leaves them out (apply reports them
as blocked).

The password comes from the target's password_env or password_file in the
config file, never from the command line. ` + configExampleHint + `

Planning reads the target (a bar, or log lines off a terminal, shows how
far); Ctrl-C stops it, and nothing was changed.

EXIT STATUS
  0  no changes: the target already matches INPUT
  1  error: INPUT is not valid, the target could not be read, or rows are
     blocked (with --allow-blocked: only when nothing else would change)
  2  the plan has changes (saved to --out when given)`,
		Example: `  pbxbatch plan --target lab rollout.xlsx
  pbxbatch plan --target lab --out plan.json rollout.xlsx && pbxbatch apply --target lab plan.json
  pbxbatch plan --target lab --format json users.csv | jq '.ops[] | select(.action=="blocked")'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlan(cmd.Context(), g, f, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "target name in the config file")
	fl.StringVar(&f.out, "out", "", "save the plan to this file for apply")
	acceptFlag(cmd, &f.accept)
	fl.StringVar(&f.format, "format", "text", "output: text (summary) or json (the plan)")
	fl.BoolVar(&f.allowBlocked, "allow-blocked", false, "save the plan even when rows are blocked (they are left out)")
	return cmd
}

func runPlan(ctx context.Context, g *globalOptions, f planFlags, path string, stdout, stderr io.Writer) error {
	if f.format != "text" && f.format != "json" {
		return fmt.Errorf("--format %q: use text or json", f.format)
	}
	t, err := loadTarget(g, f.target, stderr)
	if err != nil {
		return err
	}
	t.accept = f.accept
	t.readProgress = run.NewTerminal(stderr, 5*time.Second).Reading
	p, in, diags, conn, err := planWorkbook(ctx, t, path, stderr)
	if err != nil {
		if ctx.Err() != nil {
			return cancelledBeforeChanges(t)
		}
		return err
	}
	defer conn.Close()

	notes := blockedOnce(planNotes(in, diags))
	if f.format == "json" {
		b, err := plan.Marshal(p)
		if err != nil {
			return err
		}
		if _, err := stdout.Write(b); err != nil {
			return err
		}
	} else {
		if err := plan.WriteText(stdout, p, plan.TextOptions{Color: planColor(stdout), Fields: g.verbose}); err != nil {
			return err
		}
		notes = withoutCode(notes, plan.CodeBlockedBy) // the plan lists each blocked row
	}
	writeNotes(stderr, notes)

	total, _, _ := plan.Count(p)
	blocked := total.Blocked > 0 || diags.HasErrors()
	if blocked && !f.allowBlocked {
		if f.out != "" {
			fmt.Fprintf(stderr, "\n%d %s blocked: the plan was NOT saved to %s. Fix the rows above, or re-run with --allow-blocked to save a plan that leaves them out.\n",
				total.Blocked, pluralWord(total.Blocked, "row is", "rows are"), f.out)
		}
		return withCode(exitError)
	}
	if f.out != "" {
		if err := plan.Save(f.out, p); err != nil {
			return err
		}
		sum, err := plan.HashInput(f.out)
		if err != nil {
			return err
		}
		// The digest lets apply check that the file is still the plan
		// that was reviewed here.
		fmt.Fprintf(stderr, "\nSaved the plan to %s (sha256 %s). Apply exactly this with:\n  %s\n", f.out, sum, nextSteps{g: g}.command("apply", f.out, "--plan-sha256", sum))
	}
	switch {
	case total.Changes() > 0:
		return withCode(exitChanges)
	case blocked:
		return withCode(exitError)
	}
	return nil
}

// blockedOnce keeps one "blocked by" note per blocking row, saying how many
// rows it blocks: a department with 60 users is one line, not 60.
func blockedOnce(notes diag.List) diag.List {
	var out diag.List
	first := map[string]int{} // what blocks → index in out
	count := map[string]int{}
	for _, d := range notes {
		_, by, ok := strings.Cut(d.Message, " is blocked by ")
		if d.Code != plan.CodeBlockedBy || !ok {
			out = append(out, d)
			continue
		}
		count[by]++
		if _, seen := first[by]; !seen {
			first[by] = len(out)
			out = append(out, d)
		}
	}
	for by, i := range first {
		if n := count[by] - 1; n > 0 {
			out[i].Message += fmt.Sprintf(" (and %d more %s blocked by it: the plan and results.xlsx list them)", n, pluralWord(n, "row is", "rows are"))
		}
	}
	return out
}

func withoutCode(notes diag.List, code string) diag.List {
	var out diag.List
	for _, d := range notes {
		if d.Code != code {
			out = append(out, d)
		}
	}
	return out
}

// planColor reports whether w is a terminal that wants colour (NO_COLOR,
// https://no-color.org, turns it off).
func planColor(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "" && !strings.EqualFold(os.Getenv("TERM"), "dumb")
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
