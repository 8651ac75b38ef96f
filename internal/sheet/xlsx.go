// Package sheet is the one place that writes workbooks: streaming .xlsx
// (excelize StreamWriter) and CSV, with the same conventions everywhere:
// a frozen, styled header row; every value a text cell, so that "0042" and
// "+4670…" stay as typed; formula-injection safety (see EscapeCSV); long
// tables continued on "name (2)" sheets; highlights and cell comments for
// reports.
package sheet

import (
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Style is how a row or a cell is highlighted.
type Style int

const (
	Plain   Style = iota
	Failed        // a row that failed: light red
	Blocked       // a row blocked by another's failure: amber
	Culprit       // the cell a message is about: strong red
	Changed       // a changed value (diff): yellow
	Added         // an added row (diff): green
	Removed       // a removed row (diff): grey, struck through
	Muted         // not part of the run (ignored sheet, read-only kind): grey text
	Heading       // a header row inside a table (e.g. _metadata): bold on blue
	numStyles
)

// fills are the background colours per Style (empty: no fill).
var fills = [numStyles]string{
	Failed:  "FFC7CE",
	Blocked: "FFEB9C",
	Culprit: "FF7C80",
	Changed: "FFF2A8",
	Added:   "C6EFCE",
	Removed: "E7E6E6",
}

// Cell is one value with its highlight and an optional comment (a note that
// Excel shows when the cell is hovered).
type Cell struct {
	Value   string
	Style   Style
	Comment string
}

// textFormat is Excel's built-in number format "@" (text): a cell a user
// edits later stays text too, instead of turning "0042" into 42.
const textFormat = 49

// widthSample is how many rows are held back to size the columns: the
// stream writer needs widths before the first row is written.
const widthSample = 100

// maxComments bounds the notes on one sheet: excelize adds each in time
// proportional to those already there, and past a few thousand an operator
// reads the message column, not hover notes.
const maxComments = 20000

// XLSX writes a workbook sheet by sheet, streaming: memory does not grow
// with the number of rows, beyond the compressed file excelize assembles
// when saving.
type XLSX struct {
	f            *excelize.File
	header       int
	styles       [numStyles]int
	cur          *Table
	sheets       int
	maxRows      int // data rows per sheet: MaxDataRows, lowered by tests
	DroppedNotes int // notes not added because their sheet had maxComments already
}

// XLSXOptions tune the writer.
type XLSXOptions struct {
	TmpDir string // where sheets larger than 16 MiB spill; "" = os.TempDir
}

// NewXLSX starts an empty workbook.
func NewXLSX(o XLSXOptions) (*XLSX, error) {
	f := excelize.NewFile(excelize.Options{TmpDir: o.TmpDir})
	x := &XLSX{f: f, maxRows: MaxDataRows}
	var err error
	x.header, err = f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
		Border:    []excelize.Border{{Type: "bottom", Color: "8EA9DB", Style: 1}},
		NumFmt:    textFormat,
		Alignment: &excelize.Alignment{Vertical: "top"},
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	for s := Plain; s < numStyles; s++ {
		st := &excelize.Style{NumFmt: textFormat}
		if c := fills[s]; c != "" {
			st.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{c}}
		}
		switch s {
		case Removed:
			st.Font = &excelize.Font{Strike: true, Color: "7F7F7F"}
		case Muted:
			st.Font = &excelize.Font{Color: "808080"}
		case Culprit:
			st.Font = &excelize.Font{Bold: true}
		case Heading:
			st.Font = &excelize.Font{Bold: true}
			st.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}}
		}
		if x.styles[s], err = f.NewStyle(st); err != nil {
			f.Close()
			return nil, err
		}
	}
	return x, nil
}

// TableOptions describe a table's sheet.
type TableOptions struct {
	// ReadOnly colours the tab grey: the data is for reading (a catalogue in
	// an export), not for import.
	ReadOnly bool
	// NoFreeze leaves the header row scrolling with the data (for
	// key/value sheets such as _metadata).
	NoFreeze bool
}

// Table is one logical table: a header and rows, on one sheet or, past
// MaxDataRows, on continuation sheets.
type Table struct {
	x        *XLSX
	base     string
	header   []string
	opts     TableOptions
	part     int
	sheet    string
	sw       *excelize.StreamWriter
	row      int // rows written on this sheet, header included
	held     [][]Cell
	widths   []float64
	comments []excelize.Comment
	vals     []any
}

// NewTable ends the current table and starts a sheet named name (at most 31
// characters; sheet names are unique case-insensitively) with a header.
func (x *XLSX) NewTable(name string, header []string, o TableOptions) (*Table, error) {
	if err := x.endTable(); err != nil {
		return nil, err
	}
	t := &Table{x: x, base: name, header: header, opts: o, widths: make([]float64, len(header))}
	for i, h := range header {
		t.measure(i, h)
	}
	if err := t.startSheet(1); err != nil {
		return nil, err
	}
	x.cur = t
	return t, nil
}

// Sheets returns the sheets the table occupies so far: its own, then any
// continuation sheets.
func (t *Table) Sheets() []string {
	out := make([]string, t.part)
	for i := range out {
		out[i] = PartName(t.base, i+1)
	}
	return out
}

func (t *Table) startSheet(part int) error {
	f := t.x.f
	name := PartName(t.base, part)
	if t.x.sheets == 0 {
		if err := f.SetSheetName("Sheet1", name); err != nil {
			return fmt.Errorf("sheet %q: %w", name, err)
		}
	} else if _, err := f.NewSheet(name); err != nil {
		return fmt.Errorf("sheet %q: %w", name, err)
	}
	t.x.sheets++
	if t.opts.ReadOnly {
		grey := "A6A6A6"
		if err := f.SetSheetProps(name, &excelize.SheetPropsOptions{TabColorRGB: &grey}); err != nil {
			return err
		}
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return fmt.Errorf("sheet %q: %w", name, err)
	}
	t.sw, t.sheet, t.part, t.row = sw, name, part, 0
	t.comments = t.comments[:0]
	if part > 1 {
		return t.begin() // widths are known from part 1
	}
	return nil
}

// begin writes the column widths, panes and header: from here on rows go
// straight to the stream.
func (t *Table) begin() error {
	sw := t.sw
	for i, w := range t.widths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	if n := len(t.header); n > 0 {
		if err := sw.SetColStyle(1, n, t.x.styles[Plain]); err != nil {
			return err
		}
	}
	if !t.opts.NoFreeze {
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
	}
	hdr := make([]any, len(t.header))
	for i, h := range t.header {
		hdr[i] = h
	}
	t.row = 1
	return sw.SetRow("A1", hdr, excelize.RowOpts{StyleID: t.x.header})
}

// measure widens column i to fit v (in characters, capped so that one long
// description does not push every other column off screen).
func (t *Table) measure(i int, v string) {
	if i >= len(t.widths) {
		t.widths = append(t.widths, make([]float64, i+1-len(t.widths))...)
	}
	w := float64(utf8.RuneCountInString(v)) + 2
	w = min(max(w, 8), 60)
	if w > t.widths[i] {
		t.widths[i] = w
	}
}

// WriteRow writes one row of plain values.
func (t *Table) WriteRow(values []string) error {
	if t.held != nil || t.row == 0 {
		cells := make([]Cell, len(values))
		for i, v := range values {
			cells[i] = Cell{Value: v}
		}
		return t.Write(cells, Plain)
	}
	return t.emit(nil, values, Plain)
}

// Write writes one row of cells; rowStyle highlights the whole row, and a
// cell's own Style (when not Plain) overrides it for that cell.
func (t *Table) Write(cells []Cell, rowStyle Style) error {
	if t.row == 0 { // still sizing columns
		for i, c := range cells {
			t.measure(i, c.Value)
		}
		cells = append([]Cell(nil), cells...) // the caller may reuse its slice
		for i := range cells {
			if cells[i].Style == Plain { // keep the row's style with the held row
				cells[i].Style = rowStyle
			}
		}
		t.held = append(t.held, cells)
		if len(t.held) < widthSample {
			return nil
		}
		return t.release()
	}
	return t.emit(cells, nil, rowStyle)
}

// release writes the header and the rows held back for sizing.
func (t *Table) release() error {
	held := t.held
	t.held = nil
	if err := t.begin(); err != nil {
		return err
	}
	for _, cells := range held {
		if err := t.emit(cells, nil, Plain); err != nil {
			return err
		}
	}
	return nil
}

// emit writes one row to the stream, starting a continuation sheet when
// this one is full. Exactly one of cells and values is set.
func (t *Table) emit(cells []Cell, values []string, rowStyle Style) error {
	if t.row >= t.x.maxRows+1 {
		if err := t.flushSheet(); err != nil {
			return err
		}
		if err := t.startSheet(t.part + 1); err != nil {
			return err
		}
	}
	r := t.row + 1
	n := max(len(cells), len(values))
	t.vals = t.vals[:0]
	for i := range n {
		if values != nil {
			if values[i] == "" {
				t.vals = append(t.vals, nil) // no cell at all: smaller file, same meaning
			} else {
				t.vals = append(t.vals, values[i])
			}
			continue
		}
		c := cells[i]
		st := c.Style
		if st == Plain {
			st = rowStyle
		}
		if c.Comment != "" {
			t.comment(i, r, c.Comment)
		}
		if c.Value == "" && st == Plain {
			t.vals = append(t.vals, nil)
			continue
		}
		t.vals = append(t.vals, excelize.Cell{StyleID: t.x.styles[st], Value: c.Value})
	}
	cell, _ := excelize.CoordinatesToCellName(1, r)
	if err := t.sw.SetRow(cell, t.vals, excelize.RowOpts{StyleID: t.x.styles[Plain]}); err != nil {
		return fmt.Errorf("sheet %q row %d: %w", t.sheet, r, err)
	}
	t.row = r
	return nil
}

func (t *Table) comment(col, row int, text string) {
	if len(t.comments) >= maxComments {
		t.x.DroppedNotes++
		return
	}
	ref, _ := excelize.CoordinatesToCellName(col+1, row)
	t.comments = append(t.comments, excelize.Comment{
		Cell: ref, Author: "pbxbatch",
		Paragraph: []excelize.RichTextRun{{Text: text}},
		Width:     300, Height: 80,
	})
}

// flushSheet ends the current sheet: header and held rows if it never got
// past sizing, the notes, then the stream.
func (t *Table) flushSheet() error {
	if t.row == 0 {
		if err := t.release(); err != nil {
			return err
		}
	}
	for _, c := range t.comments {
		if err := t.x.f.AddComment(t.sheet, c); err != nil {
			return fmt.Errorf("sheet %q note at %s: %w", t.sheet, c.Cell, err)
		}
	}
	t.comments = t.comments[:0]
	return t.sw.Flush()
}

func (x *XLSX) endTable() error {
	if x.cur == nil {
		return nil
	}
	t := x.cur
	x.cur = nil
	return t.flushSheet()
}

// WriteTo ends the current table and writes the workbook to w.
func (x *XLSX) WriteTo(w io.Writer) (int64, error) {
	if err := x.finish(); err != nil {
		return 0, err
	}
	return x.f.WriteTo(w)
}

// Save ends the current table and writes the workbook to path.
func (x *XLSX) Save(path string) error {
	if err := x.finish(); err != nil {
		return err
	}
	return x.f.SaveAs(path)
}

func (x *XLSX) finish() error {
	if err := x.endTable(); err != nil {
		return err
	}
	if x.sheets == 0 {
		return fmt.Errorf("workbook has no sheets")
	}
	// The first sheet is the renamed default one, already the active and
	// selected tab. (SetActiveSheet would make excelize parse every
	// streamed sheet back into memory to update it: 100 MB for a 22k-row
	// report.)
	return nil
}

// Close releases the temp files. Call it after Save or WriteTo, or to
// abandon the workbook.
func (x *XLSX) Close() error { return x.f.Close() }
