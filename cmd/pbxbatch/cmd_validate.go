package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func newValidateCmd(g *globalOptions) *cobra.Command {
	var adapter, kind, format string
	var accept []string
	cmd := &cobra.Command{
		Use:   "validate --adapter NAME [--kind KIND] [--format text|json|csv] INPUT",
		Short: "Check a workbook (.xlsx, .csv or a directory of .csv) against an adapter's schemas",
		Long: `validate reads INPUT (an .xlsx workbook with one sheet per kind, one .csv
file, or a directory of .csv files named after kinds) and checks every row
against the adapter's schemas: column names, types, enums, required fields,
spreadsheet damage (lost + or leading 0, scientific notation, dates where
numbers belong), domain rules (extension numbers, MAC addresses, e-mail),
duplicate keys, references to names no sheet holds, and departments that are
their own ancestors. Nothing is sent anywhere.

Every problem is reported, not just the first, each with its cell
(Users!D7, users.csv:7:D), field, a stable code and what to do. Text output
groups messages by sheet in row order and ends with a summary line; JSON
output is a list of objects with severity, file, sheet, row, column, field,
code, message and value (secret values are masked); CSV output has the same
columns plus the cell, to sort and filter in a spreadsheet beside the
workbook.

--kind names the kind of a single CSV file whose name does not say it, and
restricts a workbook to that kind's sheet.

Some errors are a judgement, not a certainty: a cell the spreadsheet stores
as a number where the schema keeps digits as text (read.number_cell: its
leading zeros or + may be gone), a number without the + the rest of its
column has (read.lost_plus), a sheet whose name is no kind but holds rows
(read.unknown_sheet), a template's example row left among real rows
(template.example_row). When you have checked them, --accept CODE turns
them into warnings that say so.

EXIT STATUS
  0  the input is valid (warnings allowed)
  1  the input has errors, or could not be read`,
		Example: `  pbxbatch validate --adapter mxone rollout.xlsx
  pbxbatch validate --adapter mxone --kind user --format json export.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" && format != "csv" {
				return fmt.Errorf("--format %q: use text, json or csv", format)
			}
			set, err := loadAdapterSchemas(adapter)
			if err != nil {
				return err
			}
			v, err := validate.New(set, validate.Options{Kind: kind, Accept: accept})
			if err != nil {
				return err
			}
			res, err := v.File(cmd.Context(), args[0], nil)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch format {
			case "json":
				err = writeDiagsJSON(out, res.Diags)
			case "csv":
				err = writeDiagsCSV(out, res.Diags)
			default:
				err = writeDiagsText(out, res.Diags, res.Rows)
			}
			if err != nil {
				return err
			}
			if !res.Valid() {
				return withCode(exitError)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&adapter, "adapter", "", "platform whose schemas apply ("+strings.Join(registry().Names(), ", ")+")")
	cmd.Flags().StringVar(&kind, "kind", "", "kind of a single CSV file, or the only kind to check")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or csv")
	acceptFlag(cmd, &accept)
	return cmd
}

// loadAdapterSchemas returns a registered platform's kinds, naming the
// platforms offered when the name is wrong or missing.
func loadAdapterSchemas(adapter string) (*schemas.Set, error) {
	if adapter == "" {
		return nil, fmt.Errorf("name the platform with --adapter (one of %s)", strings.Join(registry().Names(), ", "))
	}
	a, err := registry().Get(adapter)
	if err != nil {
		return nil, err
	}
	return a.Kinds(), nil
}

func writeDiagsJSON(w io.Writer, l diag.List) error {
	if l == nil {
		l = diag.List{} // "[]", not "null": scripts iterate it
	}
	return writeJSON(w, l)
}

// writeDiagsText prints messages grouped by sheet (or CSV file), each group
// in row order with repetitions summarised, then one summary line.
func writeDiagsText(w io.Writer, l diag.List, rows int) error { return validate.WriteText(w, l, rows) }

func groupDigits(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// acceptFlag declares --accept: validate, plan and apply take the same
// judgement calls.
func acceptFlag(cmd *cobra.Command, accept *[]string) {
	cmd.Flags().StringSliceVar(accept, "accept", nil, "error codes you have checked and accept as warnings ("+strings.Join(validate.Acceptable, ", ")+"); repeat or separate with commas")
}
