package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pbxbatch/pbxbatch/batch/export"
)

func newExportCmd(g *globalOptions) *cobra.Command {
	var (
		target, format, out, verify string
		kinds                       []string
		bom                         bool
	)
	cmd := &cobra.Command{
		Use:   "export --target NAME [--kinds a,b] [--format xlsx|csv] -o FILE.xlsx|DIR",
		Short: "Write the full inventory of a target as a workbook that import reads",
		Long: `export lists every kind the target's adapter knows and writes it in the
same format import reads: one sheet per kind in FILE.xlsx, or one
<plural>.csv file per kind in DIR; the schema's column order, references by
name, lists joined with ";". Rows are sorted by natural key, so the same
inventory always gives the same cells (and byte-identical CSV files).

Secret fields (PINs, passwords) are never exported: their columns are left
blank, and the metadata names them. Read-only catalogues (e.g. MX-ONE access
privileges) get their own grey sheets; import ignores them. Values that a
spreadsheet would run as formulas are text cells in xlsx, and prefixed with
' in CSV (E.164 numbers such as +46701234567 are left as they are).

The metadata (the _metadata sheet, or manifest.json) holds the adapter,
target, time, tool and schema versions, and per kind the row count and the
SHA-256 of its canonical content: the kind's rows as CSV, exactly as a CSV
export writes them (for a CSV export, "sha256sum people.csv" matches).
"pbxbatch export --verify PATH" recomputes them to prove an export unchanged.

--format defaults to xlsx when -o ends in .xlsx, else csv. --bom starts each
CSV file with a UTF-8 byte order mark so that Excel shows accents right.

EXIT STATUS
  0   exported (or --verify: the export is unchanged)
  1   error (or --verify: the export was changed); nothing is left at -o
  130 cancelled; nothing is left at -o`,
		Example: `  pbxbatch export --target lab -o inventory.xlsx
  pbxbatch export --target lab --kinds users,extensions --format csv -o inventory/
  pbxbatch export --verify inventory.xlsx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if verify != "" {
				return runVerify(cmd.OutOrStdout(), verify)
			}
			if out == "" {
				return errors.New("name the output with -o FILE.xlsx or -o DIR")
			}
			f := export.Format(cmp.Or(format, formatFor(out)))
			if f != export.XLSX && f != export.CSV {
				return fmt.Errorf("--format %q: use xlsx or csv", format)
			}
			return runExport(cmd.Context(), g, cmd.ErrOrStderr(), export.Options{
				Format: f, Out: out, Kinds: kinds, Target: target, ToolVersion: readBuildVersion().String(), BOM: bom,
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&target, "target", "", "target name in the config file")
	fl.StringSliceVar(&kinds, "kinds", nil, "export only these kinds (names or plurals, comma-separated)")
	fl.StringVar(&format, "format", "", "xlsx or csv (default: from -o)")
	fl.StringVarP(&out, "output", "o", "", "the .xlsx file, or the directory of CSV files")
	fl.BoolVar(&bom, "bom", false, "start CSV files with a UTF-8 byte order mark (for Excel)")
	fl.StringVar(&verify, "verify", "", "check an existing export against its metadata instead of exporting")
	return cmd
}

func formatFor(out string) string {
	if strings.EqualFold(filepath.Ext(out), ".xlsx") {
		return string(export.XLSX)
	}
	return string(export.CSV)
}

func runExport(ctx context.Context, g *globalOptions, stderr io.Writer, o export.Options) error {
	t, err := loadTarget(g, o.Target, stderr)
	if err != nil {
		return err
	}
	conn, err := t.open(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	o.Adapter, o.TargetURL = t.adapter.Name(), t.URL
	p := newExportProgress(stderr)
	o.Progress = p.update
	start := time.Now()
	m, err := export.Run(ctx, conn, t.adapter.Kinds(), o)
	p.end()
	if err != nil {
		return err
	}
	total := 0
	for _, k := range m.Kinds {
		total += k.Rows
		where := k.File
		if len(k.Sheets) > 0 {
			where = strings.Join(k.Sheets, ", ")
		}
		note := ""
		if k.ReadOnly {
			note += "  (read-only catalogue)"
		}
		if len(k.Withheld) > 0 {
			note += "  (withheld: " + strings.Join(k.Withheld, ", ") + ")"
		}
		if k.DuplicateKeys > 0 {
			note += fmt.Sprintf("  (WARNING: %d rows repeat a natural key)", k.DuplicateKeys)
		}
		fmt.Fprintf(stderr, "  %-20s %10s rows  %s%s\n", k.Kind, groupDigits(k.Rows), where, note)
	}
	el := time.Since(start)
	fmt.Fprintf(stderr, "Exported %s rows of %s (%s) to %s in %s (%.0f rows/s).\n",
		groupDigits(total), o.Target, m.Adapter, o.Out, el.Round(time.Millisecond), float64(total)/el.Seconds())
	return nil
}

func runVerify(w io.Writer, path string) error {
	m, err := export.Verify(path)
	if m != nil {
		fmt.Fprintf(w, "%s: export of %s (%s, %s) made %s by pbxbatch %s\n", path, m.Target, m.Adapter, m.TargetURL,
			m.ExportedAt.Format(time.RFC3339), m.ToolVersion)
	}
	if err != nil {
		return fmt.Errorf("%s does not match its metadata:\n%w", path, err)
	}
	for _, k := range m.Kinds {
		fmt.Fprintf(w, "  %-20s %10s rows  sha256 %s  ok\n", k.Kind, groupDigits(k.Rows), k.SHA256)
	}
	fmt.Fprintln(w, "Unchanged since export.")
	return nil
}

// exportProgress shows rows listed per kind: a line rewritten in place on a
// terminal, a log line every few seconds elsewhere (CI logs, pipes).
type exportProgress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	every time.Duration
	last  time.Time
	open  bool // a \r line is on screen
}

func newExportProgress(w io.Writer) *exportProgress {
	p := &exportProgress{w: w, every: 5 * time.Second}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty, p.every = true, 200*time.Millisecond
	}
	return p
}

func (p *exportProgress) update(kind string, rows int, done bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if done { // the table printed at the end has the counts
		if p.open {
			fmt.Fprint(p.w, "\r\033[K")
			p.open = false
		}
		return
	}
	if time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[Klisting %s: %s rows", kind, groupDigits(rows))
		p.open = true
		return
	}
	fmt.Fprintf(p.w, "listing %s: %s rows\n", kind, groupDigits(rows))
}

func (p *exportProgress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open {
		fmt.Fprint(p.w, "\r\033[K")
		p.open = false
	}
}
