package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/batch/diff"
)

func newDiffCmd(g *globalOptions) *cobra.Command {
	var (
		format, out, adapter string
		kinds                []string
	)
	cmd := &cobra.Command{
		Use:   "diff OLD NEW [--format text|json|xlsx] [-o FILE]",
		Short: "Compare two exports (or two workbooks of one adapter) by natural key",
		Long: `diff compares OLD and NEW kind by kind, matching rows by natural key: rows
added, removed, and changed with each field's before → after. OLD and NEW are
exports (.xlsx files or CSV directories, in any mix) or any two workbooks of
the same adapter; the adapter comes from the exports' metadata, or --adapter.

Secret columns are not compared (exports leave them blank); columns that only
one side has are listed as not compared. Both sides are sorted by key with
bounded memory, so exports of hundreds of thousands of rows compare fine.

--format text (default) is for a terminal; json is one document for scripts
({"changes": [...], "summary": {...}, "identical": bool}); xlsx writes a
workbook (-o required) with one sheet per kind listing the differences,
changed cells highlighted with the old value in a note, and a _summary sheet.
Text and json go to standard output unless -o names a file.

EXIT STATUS
  0  identical
  1  error
  2  different`,
		Example: `  pbxbatch diff monday.xlsx friday.xlsx
  pbxbatch diff --format json monday/ friday/ > drift.json
  pbxbatch diff --format xlsx -o drift.xlsx monday.xlsx friday.xlsx`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			oldPath, newPath := args[0], args[1]
			name, err := diff.Adapter(oldPath, newPath, adapter)
			if err != nil {
				return err
			}
			set, err := loadAdapterSchemas(name)
			if err != nil {
				return err
			}
			sink, finish, err := diffSink(cmd.OutOrStdout(), format, out)
			if err != nil {
				return err
			}
			s, err := diff.Compare(cmd.Context(), oldPath, newPath, set, diff.Options{Kinds: kinds}, sink)
			if err = errors.Join(err, finish(err)); err != nil {
				return err
			}
			if out != "" {
				t := s.Total()
				fmt.Fprintf(cmd.ErrOrStderr(), "Wrote %s: %d added, %d removed, %d changed.\n", out, t.Added, t.Removed, t.Changed)
			}
			if !s.Identical() {
				return withCode(exitChanges)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "text", "text, json or xlsx")
	fl.StringVarP(&out, "output", "o", "", "write to this file (required for xlsx)")
	fl.StringVar(&adapter, "adapter", "", "adapter of the inputs when they are not exports")
	fl.StringSliceVar(&kinds, "kinds", nil, "compare only these kinds (names or plurals, comma-separated)")
	return cmd
}

// diffSink returns the sink for a format and a function that completes the
// output (closing or, after an error, removing a file).
func diffSink(stdout io.Writer, format, out string) (diff.Sink, func(error) error, error) {
	switch format {
	case "xlsx":
		if !strings.EqualFold(filepath.Ext(out), ".xlsx") {
			return nil, nil, errors.New("--format xlsx needs -o FILE.xlsx")
		}
		x, err := diff.NewXLSX(out, "")
		if err != nil {
			return nil, nil, err
		}
		return x, func(error) error { return x.Close() }, nil
	case "text", "json":
		w, done := stdout, func(error) error { return nil }
		if out != "" {
			f, err := os.Create(out)
			if err != nil {
				return nil, nil, err
			}
			w = f
			done = func(failed error) error {
				err := f.Close()
				if failed != nil {
					os.Remove(out)
				}
				return err
			}
		}
		if format == "json" {
			return diff.NewJSON(w), done, nil
		}
		return diff.NewText(w), done, nil
	}
	return nil, nil, fmt.Errorf("--format %q: use text, json or xlsx", format)
}
