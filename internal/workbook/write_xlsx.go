package workbook

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/internal/atomicfile"
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
// Excel shows when the cell is hovered; notes do not print).
type Cell struct {
	Value   string
	Style   Style
	Comment string
	// Number writes Value as a number (a count a reader sums or sorts),
	// not as text; a Value that is no number stays text.
	Number bool
	// Wrap wraps Value within its column and makes the row tall enough.
	Wrap bool
	// Span lets a long Value run on into the empty cells to its right
	// instead of widening its column (a note under a table of numbers).
	Span bool
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

// XLSXWriter writes a workbook sheet by sheet, streaming: memory does not grow
// with the number of rows, beyond the compressed file excelize assembles
// when saving.
type XLSXWriter struct {
	f            *excelize.File
	header       int
	styles       [numStyles]int
	wrapped      [numStyles]int // styles plus wrapped text (TableOptions.Wrap)
	numbers      [numStyles]int // styles of number cells
	cur          *TableWriter
	sheets       int
	reserved     map[string]bool // sheets made by Reserve, not written yet
	maxRows      int             // data rows per sheet: MaxDataRows, lowered by tests
	DroppedNotes int             // notes not added because their sheet had maxComments already
}

// XLSXOptions tune the writer.
type XLSXOptions struct {
	TmpDir string // where sheets larger than 16 MiB spill; "" = os.TempDir
}

// NewXLSXWriter starts an empty workbook.
func NewXLSXWriter(o XLSXOptions) (*XLSXWriter, error) {
	f := excelize.NewFile(excelize.Options{TmpDir: o.TmpDir})
	x := &XLSXWriter{f: f, maxRows: MaxDataRows}
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
		// Top-aligned, so that a row made tall by one wrapped cell reads
		// from its top line.
		st := &excelize.Style{NumFmt: textFormat, Alignment: &excelize.Alignment{Vertical: "top"}}
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
		st.Alignment = &excelize.Alignment{WrapText: true, Vertical: "top"}
		if x.wrapped[s], err = f.NewStyle(st); err != nil {
			f.Close()
			return nil, err
		}
		st.Alignment, st.NumFmt = &excelize.Alignment{Vertical: "top"}, 3 // "#,##0"
		if x.numbers[s], err = f.NewStyle(st); err != nil {
			f.Close()
			return nil, err
		}
	}
	return x, nil
}

// Reserve makes the next sheet now and leaves it empty, so that a table
// known only at the end (a summary) can still come first: NewTable with
// the same name writes into it.
func (x *XLSXWriter) Reserve(name string) error {
	if err := x.endTable(); err != nil {
		return err
	}
	if err := x.addSheet(name); err != nil {
		return err
	}
	if x.reserved == nil {
		x.reserved = map[string]bool{}
	}
	x.reserved[name] = true
	return nil
}

// addSheet adds a sheet after the others; the first is the renamed default
// one, already the active and selected tab.
func (x *XLSXWriter) addSheet(name string) error {
	var err error
	if x.sheets == 0 {
		err = x.f.SetSheetName("Sheet1", name)
	} else {
		_, err = x.f.NewSheet(name)
	}
	if err != nil {
		return fmt.Errorf("sheet %q: %w", name, err)
	}
	x.sheets++
	return nil
}

// TableOptions describe a table's sheet.
type TableOptions struct {
	// ReadOnly colours the tab grey: the data is for reading (a catalogue in
	// an export), not for import.
	ReadOnly bool
	// NoFreeze leaves the header row scrolling with the data (for
	// key/value sheets such as _metadata).
	NoFreeze bool
	// FreezeColumns keeps the first columns in view when scrolling right
	// (a record's key and its status), with the header.
	FreezeColumns int
	// Wrap wraps long values within their column and makes each row as
	// tall as its text (explanations, not data).
	Wrap bool
}

// TableWriter is one logical table: a header and rows, on one sheet or, past
// MaxDataRows, on continuation sheets.
type TableWriter struct {
	x        *XLSXWriter
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
func (x *XLSXWriter) NewTable(name string, header []string, o TableOptions) (*TableWriter, error) {
	if err := x.endTable(); err != nil {
		return nil, err
	}
	t := &TableWriter{x: x, base: name, header: header, opts: o, widths: make([]float64, len(header))}
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
func (t *TableWriter) Sheets() []string {
	out := make([]string, t.part)
	for i := range out {
		out[i] = PartName(t.base, i+1)
	}
	return out
}

func (t *TableWriter) startSheet(part int) error {
	f := t.x.f
	name := PartName(t.base, part)
	if t.x.reserved[name] {
		delete(t.x.reserved, name)
	} else if err := t.x.addSheet(name); err != nil {
		return err
	}
	if err := t.pageSetup(name); err != nil {
		return fmt.Errorf("sheet %q: %w", name, err)
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
func (t *TableWriter) begin() error {
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
		if err := sw.SetPanes(panes(t.opts.FreezeColumns)); err != nil {
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
func (t *TableWriter) measure(i int, v string) {
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
func (t *TableWriter) WriteRow(values []string) error {
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
func (t *TableWriter) Write(cells []Cell, rowStyle Style) error {
	if t.row == 0 { // still sizing columns
		for i, c := range cells {
			if !c.Span {
				t.measure(i, c.Value)
			}
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
func (t *TableWriter) release() error {
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
func (t *TableWriter) emit(cells []Cell, values []string, rowStyle Style) error {
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
		if n, err := strconv.ParseFloat(c.Value, 64); c.Number && err == nil {
			t.vals = append(t.vals, excelize.Cell{StyleID: t.x.numbers[st], Value: n})
			continue
		}
		id := t.x.styles[st]
		if t.wraps(c) {
			id = t.x.wrapped[st]
		}
		t.vals = append(t.vals, excelize.Cell{StyleID: id, Value: c.Value})
	}
	opts := excelize.RowOpts{StyleID: t.x.styles[Plain]}
	if h := t.height(cells, values); h > LineHeight {
		opts.Height = h
	}
	cell, _ := excelize.CoordinatesToCellName(1, r)
	if err := t.sw.SetRow(cell, t.vals, opts); err != nil {
		return fmt.Errorf("sheet %q row %d: %w", t.sheet, r, err)
	}
	t.row = r
	return nil
}

func (t *TableWriter) wraps(c Cell) bool { return (t.opts.Wrap || c.Wrap) && !c.Span }

// height is the height in points a row needs for its longest wrapped cell.
func (t *TableWriter) height(cells []Cell, values []string) float64 {
	lines := 1
	for i := range max(len(cells), len(values)) {
		v := ""
		switch {
		case values != nil && t.opts.Wrap:
			v = values[i]
		case values == nil && t.wraps(cells[i]):
			v = cells[i].Value
		}
		if v != "" && i < len(t.widths) {
			lines = max(lines, Lines(v, t.widths[i]))
		}
	}
	// Excel refuses a row taller than MaxRowHeight (and excelize with it);
	// past it the cell scrolls.
	return min(LineHeight*float64(lines), MaxRowHeight)
}

// MaxRowHeight is the tallest row Excel allows, in points.
const MaxRowHeight = 409

// LineHeight is the height in points of one line of text in the default
// 11-point font, with its spacing.
const LineHeight = 15

// Lines estimates how many lines v takes when wrapped in a column width
// characters wide: Excel and LibreOffice do not grow a row to its wrapped
// text by themselves when the file sets no height, and the lines overlap.
func Lines(v string, width float64) int {
	// A character of a proportional font is narrower than the "0" a column
	// width counts (about 1.18 of them fit, measured in LibreOffice); 1.15
	// leaves room for the word that wraps early.
	perLine := max(int(width*1.15)-1, 1)
	n := 0
	for _, para := range strings.Split(v, "\n") {
		n += max(1, (utf8.RuneCountInString(para)+perLine-1)/perLine)
	}
	return n
}

func (t *TableWriter) comment(col, row int, text string) {
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
func (t *TableWriter) flushSheet() error {
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
	// Set on the worksheet the stream writer writes out at Flush: after it,
	// excelize would parse the whole streamed sheet back into memory.
	if n := len(t.header); n > 0 {
		last, _ := excelize.CoordinatesToCellName(n, max(t.row, 1))
		if err := t.x.f.AutoFilter(t.sheet, "A1:"+last, nil); err != nil {
			return fmt.Errorf("sheet %q filter: %w", t.sheet, err)
		}
	}
	return t.sw.Flush()
}

// pageSetup makes a sheet print readably: landscape, scaled to the page's
// width (as many pages down as it takes), the header row on every page.
// It runs before the sheet's stream starts, which writes these properties
// first.
func (t *TableWriter) pageSetup(name string) error {
	props := &excelize.SheetPropsOptions{}
	if t.opts.ReadOnly {
		grey := "A6A6A6"
		props.TabColorRGB = &grey
	}
	return PrintSetup(t.x.f, name, props)
}

// PrintSetup sets a sheet of f to print landscape, as wide as one page,
// with its first row repeated on every page; props may carry other sheet
// properties to set at the same time (nil: none).
func PrintSetup(f *excelize.File, name string, props *excelize.SheetPropsOptions) error {
	fit := true
	if props == nil {
		props = &excelize.SheetPropsOptions{}
	}
	props.FitToPage = &fit
	if err := f.SetSheetProps(name, props); err != nil {
		return err
	}
	landscape, wide, tall := "landscape", 1, 0
	if err := f.SetPageLayout(name, &excelize.PageLayoutOptions{Orientation: &landscape, FitToWidth: &wide, FitToHeight: &tall}); err != nil {
		return err
	}
	return f.SetDefinedName(&excelize.DefinedName{
		Name: "_xlnm.Print_Titles", RefersTo: "'" + strings.ReplaceAll(name, "'", "''") + "'!$1:$1", Scope: name,
	})
}

// panes freezes the header row and the first cols columns.
func panes(cols int) *excelize.Panes {
	p := &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}
	if cols > 0 {
		p.XSplit = cols
		p.TopLeftCell, _ = excelize.CoordinatesToCellName(cols+1, 2)
		p.ActivePane = "bottomRight"
	}
	return p
}

func (x *XLSXWriter) endTable() error {
	if x.cur == nil {
		return nil
	}
	t := x.cur
	x.cur = nil
	return t.flushSheet()
}

// WriteTo ends the current table and writes the workbook to w.
func (x *XLSXWriter) WriteTo(w io.Writer) (int64, error) {
	if err := x.finish(); err != nil {
		return 0, err
	}
	return x.f.WriteTo(w)
}

// Save ends the current table and writes the workbook to path, readable by
// its owner only (workbooks hold names, numbers and e-mail addresses), and
// atomically: a full disk leaves the previous file or none, never half a
// workbook.
func (x *XLSXWriter) Save(path string) error {
	if err := x.finish(); err != nil {
		return err
	}
	return atomicfile.Write(path, 0o600, func(w io.Writer) error {
		_, err := x.f.WriteTo(w)
		return err
	})
}

func (x *XLSXWriter) finish() error {
	if err := x.endTable(); err != nil {
		return err
	}
	if x.sheets == 0 {
		return fmt.Errorf("workbook has no sheets")
	}
	for name := range x.reserved {
		return fmt.Errorf("sheet %q was reserved but never written", name)
	}
	// The first sheet is the renamed default one, already the active and
	// selected tab. (SetActiveSheet would make excelize parse every
	// streamed sheet back into memory to update it: 100 MB for a 22k-row
	// report.)
	return nil
}

// Close releases the temp files. Call it after Save or WriteTo, or to
// abandon the workbook.
func (x *XLSXWriter) Close() error { return x.f.Close() }
