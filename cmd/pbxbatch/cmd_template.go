package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/internal/atomicfile"
	"github.com/pbxbatch/pbxbatch/templates"
)

func newTemplateCmd(g *globalOptions) *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "template ADAPTER -o FILE.xlsx [--force]",
		Short: "Write a blank rollout workbook for an adapter, generated from its schemas",
		Long: `template writes the rollout workbook of an adapter: a README sheet that
explains the conventions (the action column, blank = keep, <clear> = clear,
references by name, lists separated by ;), then one sheet per kind in the
order records are created. Each column is a field; its header comment says
what it means and which values it takes. Required columns are orange, secret
ones grey; enum columns have drop-downs; text and number-like columns are
formatted as Text so Excel keeps leading zeros and + signs. Row 2 of every
sheet is an example that validates.

An existing FILE is left alone unless --force is given (it may be a filled-in
copy); rewriting an identical template is not an error.

EXIT STATUS
  0  the template was written (or FILE already holds exactly this template)
  1  unknown adapter, FILE exists and differs (use --force), or a write error`,
		Example: "  pbxbatch template mxone -o rollout-template.xlsx",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("name the file to write with -o, for example -o %s-rollout-template.xlsx", args[0])
			}
			if ext := strings.ToLower(filepath.Ext(out)); ext != ".xlsx" {
				return fmt.Errorf("-o %s: a template is an .xlsx workbook; name the file *.xlsx", out)
			}
			set, err := loadAdapterSchemas(args[0])
			if err != nil {
				return err
			}
			content, err := templates.Bytes(set)
			if err != nil {
				return fmt.Errorf("template for %s: %w", args[0], err)
			}
			wrote, err := writeUnlessFilled(out, content, force)
			if err != nil {
				return err
			}
			kinds, _ := templates.Kinds(set)
			verb := "wrote"
			if !wrote {
				verb = "up to date:"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s (%d kinds: ", verb, out, len(kinds))
			for i, k := range kinds {
				if i > 0 {
					fmt.Fprint(cmd.OutOrStdout(), ", ")
				}
				fmt.Fprint(cmd.OutOrStdout(), templates.SheetName(k))
			}
			fmt.Fprintln(cmd.OutOrStdout(), ")")
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (.xlsx)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite FILE if it exists")
	return cmd
}

// writeUnlessFilled writes content to path atomically (a crash leaves the
// old file or the new one, never half of one). An existing file with other
// content is kept unless force: it may be a filled-in copy. It reports
// whether it wrote.
func writeUnlessFilled(path string, content []byte, force bool) (bool, error) {
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, content):
		return false, nil
	case err == nil && !force:
		return false, fmt.Errorf("%s exists and is not this template (it may hold your rows); choose another name or add --force to overwrite it", path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("cannot check %s: %w", path, err)
	}
	if err := atomicfile.WriteBytes(path, 0o644, content); err != nil {
		return false, err
	}
	return true, nil
}
