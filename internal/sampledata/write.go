package sampledata

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// Sheet is one kind as workbook text: a header of field paths and rows of
// cells, streamed.
type Sheet struct {
	Name   string // sheet title ("Security Profiles"); CSV files use FileName
	Kind   string
	Header []string
	Rows   iter.Seq[[]string]
	// Formulas puts formulas into xlsx cells ("C3" -> `UPPER("berg")`); the
	// cell's text becomes the formula's cached value, as Excel saves it.
	Formulas map[string]string
}

// FileName is the CSV file name of the sheet ("security_profiles.csv").
func (s Sheet) FileName() string {
	return strings.ReplaceAll(strings.ToLower(s.Name), " ", "_") + ".csv"
}

// Sheets renders the rollout as one sheet per kind, in dependency order.
// Columns are the fields the generator fills, in schema order; lists are
// joined with ";", as a user types them.
func (r *Rollout) Sheets(set *schemas.Set) ([]Sheet, error) {
	var out []Sheet
	for _, kind := range Kinds() {
		k := set.Kind(kind)
		if k == nil {
			return nil, fmt.Errorf("sample data: adapter %s has no kind %q", set.Adapter, kind)
		}
		// Every field appears within the first few records of each kind
		// (types and options cycle with short periods).
		header, err := Columns(k, func(yield func(schemas.Record) bool) {
			for i := range min(r.Len(kind), 60) {
				if !yield(r.Record(kind, i)) {
					return
				}
			}
		})
		if err != nil {
			return nil, err
		}
		out = append(out, Sheet{Name: SheetTitle(k.Plural), Kind: kind, Header: header, Rows: r.rows(kind, header)})
	}
	return out, nil
}

// Columns returns the fields records fill, in the order of k's schema, for
// a sheet's header. A field the schema does not have is an error: the
// generator and the schema disagree.
func Columns(k *schemas.Kind, records iter.Seq[schemas.Record]) ([]string, error) {
	used := map[string]bool{}
	for rec := range records {
		for _, p := range rec.Paths() {
			used[p] = true
		}
	}
	var header []string
	for _, f := range k.Fields {
		if used[f.Path] {
			header = append(header, f.Path)
			delete(used, f.Path)
		}
	}
	if len(used) > 0 {
		return nil, fmt.Errorf("sample data: %s fields %v are not in the schema", k.Name, slices.Sorted(maps.Keys(used)))
	}
	return header, nil
}

func (r *Rollout) rows(kind string, header []string) iter.Seq[[]string] {
	return func(yield func([]string) bool) {
		for rec := range r.Records(kind) {
			row := make([]string, len(header))
			for j, h := range header {
				row[j] = rec.String(h)
			}
			if !yield(row) {
				return
			}
		}
	}
}

// title turns "security_profiles" into "Security Profiles".
// SheetTitle is the sheet name of a kind's plural: "security_profiles" →
// "Security Profiles".
func SheetTitle(s string) string {
	words := strings.Split(s, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// WriteXLSX writes sheets into a new workbook with excelize's stream
// writer: every cell a text cell, header row frozen.
func WriteXLSX(path string, sheets []Sheet) error {
	f := excelize.NewFile()
	defer f.Close()
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": Excel must not turn digits into numbers
	if err != nil {
		return err
	}
	for i, s := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", s.Name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(s.Name); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(s.Name)
		if err != nil {
			return err
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		row := 1
		write := func(cells []string) error {
			vals := make([]any, len(cells))
			for j, c := range cells {
				name, _ := excelize.CoordinatesToCellName(j+1, row)
				vals[j] = excelize.Cell{StyleID: text, Value: c, Formula: s.Formulas[name]}
			}
			cell, _ := excelize.CoordinatesToCellName(1, row)
			row++
			return sw.SetRow(cell, vals)
		}
		if err := write(s.Header); err != nil {
			return err
		}
		for cells := range s.Rows {
			if err := write(cells); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	if err := f.SaveAs(path); err != nil {
		return err
	}
	return os.Chmod(path, 0o644) // excelize creates files executable
}

// CSVOptions choose the damage a CSV file carries; the zero value is a
// clean UTF-8, comma-separated file.
type CSVOptions struct {
	Comma  rune // ',' when zero
	BOM    bool // start with a UTF-8 byte order mark, as Excel's "CSV UTF-8" does
	CP1252 bool // Windows-1252 instead of UTF-8, as Excel's plain "CSV" does
}

// WriteCSV writes one sheet.
func WriteCSV(w io.Writer, s Sheet, opts CSVOptions) error {
	if opts.CP1252 {
		w = charmap.Windows1252.NewEncoder().Writer(w)
	}
	if opts.BOM {
		if _, err := io.WriteString(w, "\uFEFF"); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	if opts.Comma != 0 {
		cw.Comma = opts.Comma
	}
	if err := cw.Write(s.Header); err != nil {
		return err
	}
	for cells := range s.Rows {
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteCSVFile writes one sheet to a file.
func WriteCSVFile(path string, s Sheet, opts CSVOptions) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := WriteCSV(bw, s, opts); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteCSVDir writes one CSV file per sheet into dir, named after kinds.
func WriteCSVDir(dir string, sheets []Sheet) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, s := range sheets {
		if err := WriteCSVFile(filepath.Join(dir, s.FileName()), s, CSVOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// Collect materialises a sheet's rows, for small sheets that a test or a
// broken case edits.
func Collect(s Sheet) [][]string { return slices.Collect(s.Rows) }

// Rows turns fixed rows back into a row stream.
func Rows(rows [][]string) iter.Seq[[]string] { return slices.Values(rows) }
