package workbook

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// rawRow is one physical record as a source reads it: First..Last are the
// physical lines it spans (a CSV cell may hold line breaks), Cells its
// cells as stored, Diags what the source itself found (CSV quoting errors).
type rawRow struct {
	First, Last int
	Cells       []string
	Diags       diag.List
}

// source yields the physical records of one table, header included.
type source interface {
	next() (rawRow, bool)
	err() error
	close() error
}

// Rows is a streaming iterator over the data rows of a table. Blank rows
// are skipped; the first data row after blank rows carries a warning about
// them (trailing blank rows are ignored silently).
type Rows struct {
	t   *Table
	src source
	cur Row
	e   error
	// lastEnd is the last physical line consumed by the header or a data
	// row: a gap after it is a run of blank rows.
	lastEnd int
	counts  map[string]int
	cells   cellCleaner
	formula *cellCursor // nil when the sheet has no formulas
	numbers *cellCursor // nil when the sheet has no number cells
}

// Rows iterates the data rows of a table, streaming. Close it when done.
func (t *Table) Rows() (*Rows, error) {
	var (
		src source
		err error
	)
	switch {
	case t.csv != nil:
		src, err = t.openCSVSource()
	default:
		src, err = t.openXLSXSource()
	}
	if err != nil {
		return nil, err
	}
	// Skip up to and including the header.
	for {
		raw, ok := src.next()
		if !ok {
			err := src.err()
			src.close()
			if err == nil {
				err = fmt.Errorf("%s: the header row %d is gone; was the file changed while reading?", t.Origin(0, -1), t.HeaderRow)
			}
			return nil, err
		}
		if raw.First >= t.HeaderRow {
			break
		}
	}
	r := &Rows{t: t, src: src, lastEnd: t.headerEnd, counts: map[string]int{}, cells: cellCleaner{csv: t.csv != nil}}
	if t.scan != nil && t.scan.formulas > 0 {
		if r.formula, err = newCellCursor(t.scan, evFormula); err != nil {
			src.close()
			return nil, fmt.Errorf("%s: %w", t.Origin(0, -1), err)
		}
	}
	if t.scan != nil && t.scan.numbers > 0 {
		if r.numbers, err = newCellCursor(t.scan, evNumber); err != nil {
			r.Close()
			return nil, fmt.Errorf("%s: %w", t.Origin(0, -1), err)
		}
	}
	return r, nil
}

// Next advances to the next non-blank data row.
func (r *Rows) Next() bool {
	if r.e != nil || r.src == nil {
		return false
	}
	for {
		raw, ok := r.src.next()
		if !ok {
			r.e = r.src.err()
			return false
		}
		if raw.First > MaxRows && r.t.csv == nil {
			r.e = fmt.Errorf("%s: the sheet has more than %d rows, Excel's limit; split it", r.t.Origin(raw.First, -1), MaxRows)
			return false
		}
		if isBlank(raw.Cells) && len(raw.Diags) == 0 {
			continue
		}
		r.cur = r.build(raw)
		return true
	}
}

// Row returns the current row. Its Cells slice is the caller's to keep.
func (r *Rows) Row() Row { return r.cur }

// Err returns the error that stopped the iteration, if any. Damage in
// cells is never an error here: it is in Row.Diags.
func (r *Rows) Err() error { return r.e }

// Close releases the iterator's file handles.
func (r *Rows) Close() error {
	if r.src == nil {
		return nil
	}
	for _, c := range []*cellCursor{r.formula, r.numbers} {
		if c != nil {
			c.close()
		}
	}
	err := r.src.close()
	r.src = nil
	return err
}

func isBlank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(strings.Map(dropInvisible, c)) != "" {
			return false
		}
	}
	return true
}

func dropInvisible(r rune) rune {
	switch r {
	case '\u00a0':
		return ' '
	case '\u200b', '\ufeff':
		return -1
	}
	return r
}

func (r *Rows) build(raw rawRow) Row {
	t := r.t
	row := Row{Num: raw.First, Cells: make([]string, len(t.Header)), Diags: raw.Diags}
	if raw.First > r.lastEnd+1 {
		first, last := r.lastEnd+1, raw.First-1
		msg := fmt.Sprintf("row %d is blank and was skipped", first)
		if last > first {
			msg = fmt.Sprintf("rows %d to %d are blank and were skipped", first, last)
		}
		r.warn(&row, t.Origin(first, -1), "read.blank_row", "", msg+"; delete blank rows between data rows, or check that nothing is missing there", "")
	}
	r.lastEnd = raw.Last
	for i, c := range raw.Cells {
		if i >= len(t.Header) || t.Header[i] == "" {
			if c == "" || isBlank([]string{c}) {
				continue
			}
			what := "beyond the last header"
			if i < len(t.Header) {
				what = "under a blank header"
			}
			row.Diags.Add(diag.Diagnostic{Severity: diag.Error, Origin: t.Origin(raw.First, i), Code: "read.no_header",
				Message: fmt.Sprintf("cell has a value but its column is %s, so it cannot be read; name the column in row %d or clear the cell", what, t.HeaderRow),
				Value:   r.shown(i, c)})
			continue
		}
		if r.numbers != nil && r.numbers.at(raw.First, i) {
			if row.Numeric == nil {
				row.Numeric = make([]bool, len(t.Header))
			}
			row.Numeric[i] = true
			c = storedNumber(c, r.numbers.value)
		}
		row.Cells[i] = r.cell(&row, raw.First, i, c)
	}
	return row
}

// storedNumber returns the text of a number cell: what the spreadsheet
// shows, unless a display format changed the number itself (scientific
// notation, thousands separators, rounding), in which case the stored value,
// exactly. A spreadsheet keeps 15 significant digits: a stored value with
// more has already lost some, so it reads in scientific notation and the
// validator's damage guard says so.
func storedNumber(shown, stored string) string {
	f, err := strconv.ParseFloat(stored, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return shown
	}
	exact := strconv.FormatFloat(f, 'f', -1, 64)
	if significantDigits(exact) > 15 {
		return strconv.FormatFloat(f, 'E', -1, 64)
	}
	plain := strings.NewReplacer(",", "", " ", "", "\u00a0", "").Replace(shown)
	switch {
	case shown == exact:
		return shown
	case allDigitText(shown) && strings.TrimLeft(shown, "0") == strings.TrimLeft(exact, "0"):
		return shown // a format such as 0000 shows the zeros the user typed
	}
	if _, err := strconv.ParseFloat(plain, 64); err != nil {
		return shown // a date, a percentage, a currency: what the user sees
	}
	return exact
}

func significantDigits(decimal string) int {
	d := strings.ReplaceAll(strings.TrimPrefix(decimal, "-"), ".", "")
	return len(strings.TrimRight(strings.TrimLeft(d, "0"), "0"))
}

func allDigitText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// cell checks and normalises one cell, adding what it finds to row.
func (r *Rows) cell(row *Row, num, col int, c string) string {
	t := r.t
	if len(c) > t.opts.MaxCellSize {
		row.Diags.Add(diag.Diagnostic{Severity: diag.Error, Origin: t.Origin(num, col), Field: t.Header[col], Code: "read.cell_too_large",
			Message: fmt.Sprintf("cell holds %s, more than the %s a cell may hold; it is usually a stray quote that swallowed the following cells; fix the cell", byteSize(int64(len(c))), byteSize(int64(t.opts.MaxCellSize)))})
		return ""
	}
	clean, f := r.cells.clean(c)
	if f&fixEncoding == 0 && f != 0 && clean != "" && col < len(t.secret) && t.secret[col] {
		// A secret goes to the target exactly as typed: a space or a
		// non-breaking space may be part of a password, and trimming it
		// would set another one. Spreadsheets add them unseen, so say so.
		r.warn(row, t.Origin(num, col), "read.secret_space", t.Header[col],
			"secret has leading or trailing spaces, or non-breaking or zero-width spaces; it is sent exactly as typed, so check that they belong to it (or retype the cell)", "")
		return c
	}
	switch {
	case f&fixEncoding != 0:
		msg := "cell is not UTF-8 text"
		if f&fixCP1252 != 0 {
			msg += fmt.Sprintf("; it reads as Windows-1252 %q", r.shown(col, clean))
		}
		row.Diags.Add(diag.Diagnostic{Severity: diag.Error, Origin: t.Origin(num, col), Field: t.Header[col], Code: "read.encoding",
			Message: msg + "; re-save the file as \"CSV UTF-8 (Comma delimited)\""})
	case f&fixInvisible != 0:
		r.warn(row, t.Origin(num, col), "read.nbsp", t.Header[col],
			"cell holds non-breaking or zero-width spaces (usually pasted from a web page or e-mail); they were replaced by normal spaces and the value trimmed", r.shown(col, clean))
	case f&fixTrim != 0 && clean == "":
		r.warn(row, t.Origin(num, col), "read.space", t.Header[col],
			"cell holds only spaces; it is read as blank, which keeps the target's current value (write <clear> to clear it)", "")
	case f&fixTrim != 0:
		r.warn(row, t.Origin(num, col), "read.space", t.Header[col],
			"cell has leading or trailing spaces; they were removed", r.shown(col, clean))
	}
	if r.formula != nil && r.formula.at(num, col) {
		r.formulaFound(row, num, col, clean)
	}
	return clean
}

func (r *Rows) formulaFound(row *Row, num, col int, value string) {
	t := r.t
	if strings.HasPrefix(value, "#") && strings.HasSuffix(value, "!") || value == "#N/A" {
		row.Diags.Add(diag.Diagnostic{Severity: diag.Error, Origin: t.Origin(num, col), Field: t.Header[col], Code: "read.formula_error",
			Message: fmt.Sprintf("cell holds a formula whose result is the error %s; fix the formula, then paste values (Paste Special › Values)", value), Value: value})
		return
	}
	shown := r.shown(col, value)
	if shown == "" {
		shown = "(blank)"
	}
	r.warn(row, t.Origin(num, col), "read.formula", t.Header[col],
		fmt.Sprintf("cell holds a formula; its cached value %q is used, as last calculated by the spreadsheet; paste values (Paste Special › Values) to be sure", shown), shown)
}

// warn adds a warning unless maxListedWarnings of its code were already
// listed for this table; the first one past the cap says so instead.
func (r *Rows) warn(row *Row, o diag.Origin, code, field, msg, value string) {
	n := r.counts[code]
	r.counts[code] = n + 1
	switch {
	case n < maxListedWarnings:
		row.Diags.Add(diag.Diagnostic{Severity: diag.Warning, Origin: o, Field: field, Code: code, Message: msg, Value: value})
	case n == maxListedWarnings:
		row.Diags.Add(diag.Diagnostic{Severity: diag.Warning, Origin: o, Code: code,
			Message: fmt.Sprintf("more cells from here on have the same problem (%s); they are handled the same way and not listed one by one", code)})
	}
}

// shown is a cell's value as it may appear in a message: masked when the
// caller marked the column secret.
func (r *Rows) shown(col int, v string) string {
	if col < len(r.t.secret) && r.t.secret[col] && v != "" {
		return schemas.Mask
	}
	return v
}

type fix uint8

const (
	fixTrim      fix = 1 << iota // leading/trailing white space removed
	fixInvisible                 // non-breaking or zero-width spaces normalised
	fixEncoding                  // not UTF-8
	fixCP1252                    // …but decodes as Windows-1252
)

// cellCleaner normalises cell text; csv enables the encoding check (xlsx
// text is always valid UTF-8 after XML decoding).
type cellCleaner struct{ csv bool }

func (cc cellCleaner) clean(c string) (string, fix) {
	if c == "" {
		return c, 0
	}
	if cc.csv && c[0] == '\'' {
		// Our own CSV exports escape formula-like values ("=HQ" is
		// written "'=HQ", as OWASP recommends); the rule is reversible,
		// so an export reads back exactly as it was exported.
		c = UnescapeCSV(c)
	}
	ascii := true
	for i := 0; i < len(c); i++ {
		if c[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	var f fix
	if !ascii {
		if cc.csv && !utf8.ValidString(c) {
			f |= fixEncoding
			if dec, err := charmap.Windows1252.NewDecoder().String(c); err == nil && !strings.ContainsRune(dec, utf8.RuneError) {
				f |= fixCP1252
				c = dec
			} else {
				c = strings.ToValidUTF8(c, "\uFFFD")
			}
		}
		if strings.ContainsAny(c, "\u00a0\u200b\ufeff") {
			f |= fixInvisible
			c = strings.Map(dropInvisible, c)
		}
	} else if !isSpaceByte(c[0]) && !isSpaceByte(c[len(c)-1]) {
		return c, 0
	}
	if t := strings.TrimSpace(c); len(t) != len(c) {
		f |= fixTrim
		c = t
	}
	return c, f
}

func isSpaceByte(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}
