package workbook

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/diag"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// csvFormat is what sniffing the start of a CSV file decided.
type csvFormat struct {
	comma rune
	bom   bool
}

// openCSV sniffs a CSV file (BOM, delimiter) and reads its header.
// tableName overrides the name taken from the file name when not empty.
func openCSV(b *Book, path, tableName string, opts Options) (*Table, error) {
	name := filepath.Base(path)
	head, err := readHead(path, 64<<10)
	if err != nil {
		return nil, err
	}
	format := &csvFormat{comma: ','}
	fileOrigin := diag.Origin{File: path}
	if bytes.HasPrefix(head, utf8BOM) {
		format.bom = true
		head = head[len(utf8BOM):]
		if !b.Export { // export --bom writes one for Excel
			b.Diags.Warnf(fileOrigin, "", "read.bom",
				"%s starts with a UTF-8 byte-order mark (Excel's \"CSV UTF-8\" writes one); it was ignored", name)
		}
	}
	if line := firstLine(head); !bytes.ContainsRune(line, ',') {
		switch {
		case bytes.ContainsRune(line, ';'):
			format.comma = ';'
			b.Diags.Warnf(fileOrigin, "", "read.delimiter",
				"%s uses ';' between cells (Excel does so where ',' is the decimal mark); it was read with ';'. Save as \"CSV UTF-8 (Comma delimited)\" to avoid the guess", name)
		case bytes.ContainsRune(line, '\t'):
			format.comma = '\t'
			b.Diags.Warnf(fileOrigin, "", "read.delimiter",
				"%s uses tabs between cells; it was read as tab-separated. Save as \"CSV UTF-8 (Comma delimited)\" to avoid the guess", name)
		}
	}
	t := &Table{
		Name: cmp.Or(tableName, strings.TrimSuffix(name, filepath.Ext(name))),
		File: path,
		book: b,
		opts: opts,
		csv:  format,
	}
	src, err := t.openCSVSource()
	if err != nil {
		return nil, err
	}
	defer src.close()
	for {
		raw, ok := src.next()
		if !ok {
			if err := src.err(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%s has no header row (it holds only blank lines); the first line must name the columns", name)
		}
		if isBlank(raw.Cells) && len(raw.Diags) == 0 {
			continue
		}
		if len(raw.Diags) > 0 { // a quoting error in the header: nothing below can be trusted
			return nil, fmt.Errorf("%s: the header row cannot be read: %s", name, raw.Diags[0].Message)
		}
		t.setHeader(raw)
		return t, nil
	}
}

// firstLine returns the first non-blank line of head.
func firstLine(head []byte) []byte {
	for len(head) > 0 {
		line, rest, _ := bytes.Cut(head, []byte("\n"))
		if len(bytes.TrimSpace(line)) > 0 {
			return line
		}
		head = rest
	}
	return nil
}

type csvSource struct {
	t     *Table
	f     *os.File
	r     *csv.Reader
	limit *recordLimit
	last  int // the last line of the last record read
	e     error
	done  bool
}

// recordLimit bounds what encoding/csv may buffer for one record: it reads
// a whole record into memory, so one 500 MB line (or a stray quote that
// swallows the rest of the file) would cost gigabytes. The budget is reset
// before each record.
type recordLimit struct {
	r          io.Reader
	left, size int64
}

var errRecordTooLong = errors.New("record too long")

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errRecordTooLong
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// maxRecordCells is how many cells of the maximum size one CSV record may
// hold before it is refused; a real row is far smaller.
const maxRecordCells = 64

func (t *Table) openCSVSource() (*csvSource, error) {
	f, err := os.Open(t.File)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", t.File, errors.Unwrap(err))
	}
	// The limit sits under the buffer, so that encoding/csv reads from a
	// *bufio.Reader it does not wrap again.
	size := int64(t.opts.MaxCellSize) * maxRecordCells
	limit := &recordLimit{r: f, size: size, left: size}
	br := bufio.NewReaderSize(limit, 64<<10)
	if t.csv.bom {
		if _, err := br.Discard(len(utf8BOM)); err != nil {
			f.Close()
			return nil, fmt.Errorf("cannot read %s: %w", t.File, err)
		}
	}
	r := csv.NewReader(br)
	r.Comma = t.csv.comma
	r.FieldsPerRecord = -1
	r.ReuseRecord = true // build copies cells into a fresh slice per row
	return &csvSource{t: t, f: f, r: r, limit: limit}, nil
}

func (s *csvSource) next() (rawRow, bool) {
	if s.done {
		return rawRow{}, false
	}
	// Reading ahead fills at most one buffer beyond the record.
	s.limit.left = s.limit.size + 64<<10
	rec, err := s.r.Read()
	var pe *csv.ParseError
	switch {
	case err == nil:
		first, _ := s.r.FieldPos(0)
		last, _ := s.r.FieldPos(len(rec) - 1)
		last += strings.Count(rec[len(rec)-1], "\n")
		s.last = last
		return rawRow{First: first, Last: last, Cells: rec}, true
	case errors.Is(err, errRecordTooLong):
		s.e = fmt.Errorf("%s: the row starting on line %d is longer than %s, more than any row of a workbook; it is usually a quote (\") that is never closed and swallowed the lines after it, or not CSV at all; fix the quote or save the file again from Excel",
			s.t.Origin(s.last+1, -1), s.last+1, byteSize(s.limit.size))
		s.done = true
		return rawRow{}, false
	case errors.Is(err, io.EOF):
		s.done = true
		return rawRow{}, false
	case errors.As(err, &pe):
		// encoding/csv drops the rest of the line and resumes on the next
		// one, so one bad quote costs one row, reported at its cell.
		raw := rawRow{First: pe.StartLine, Last: pe.Line, Cells: rec}
		s.last = pe.Line
		col := len(rec)
		what := "a quote (\") inside a cell that does not start with one"
		if errors.Is(pe.Err, csv.ErrQuote) {
			what = "a quoted cell that is not closed properly (a \" missing or followed by other text)"
		}
		raw.Diags.Add(diag.Diagnostic{Severity: diag.Error, Origin: s.t.Origin(pe.StartLine, col), Code: "read.csv_quote",
			Message: fmt.Sprintf("line %d has %s, so the rest of the row cannot be read; double the quote (\"\") or quote the whole cell, or save the file again from Excel", pe.Line, what)})
		return raw, true
	default:
		s.e = fmt.Errorf("cannot read %s: %w", s.t.File, err)
		s.done = true
		return rawRow{}, false
	}
}

func (s *csvSource) err() error { return s.e }

func (s *csvSource) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// setHeader takes the header row: trimmed and normalised cells, with blank
// and duplicate headers reported at their cells.
func (t *Table) setHeader(raw rawRow) {
	t.HeaderRow, t.headerEnd = raw.First, raw.Last
	cc := cellCleaner{csv: t.csv != nil}
	t.Header = make([]string, len(raw.Cells))
	for i, c := range raw.Cells {
		if len(c) > t.opts.MaxCellSize {
			t.book.Diags.Errorf(t.Origin(t.HeaderRow, i), "", "read.cell_too_large",
				"header cell holds %s, more than the %s a cell may hold; name the column (its field name) or delete it", byteSize(int64(len(c))), byteSize(int64(t.opts.MaxCellSize)))
			c = ""
		}
		clean, f := cc.clean(c)
		t.Header[i] = clean
		if f&fixEncoding != 0 {
			t.book.Diags.Errorf(t.Origin(t.HeaderRow, i), "", "read.encoding",
				"header cell is not UTF-8 text (read as %q); re-save the file as \"CSV UTF-8 (Comma delimited)\"", clean)
		}
	}
	// Trailing blank header cells are just the edge of the sheet.
	for len(t.Header) > 0 && t.Header[len(t.Header)-1] == "" {
		t.Header = t.Header[:len(t.Header)-1]
	}
	seen := map[string]int{}
	for i, h := range t.Header {
		if h == "" {
			t.book.Diags.Warnf(t.Origin(t.HeaderRow, i), "", "read.header_blank",
				"column %s has no header, so its cells cannot be read; name it or delete the column", ColumnName(i))
			continue
		}
		key := strings.ToLower(h)
		if j, dup := seen[key]; dup {
			t.book.Diags.Add(diag.Diagnostic{Severity: diag.Error, Origin: t.Origin(t.HeaderRow, i), Field: h, Code: "read.header_duplicate",
				Message: fmt.Sprintf("column %q appears twice (%s and %s); delete or rename one of them", h, t.Origin(t.HeaderRow, j), t.Origin(t.HeaderRow, i))})
			continue
		}
		seen[key] = i
	}
	t.secret = make([]bool, len(t.Header))
	if t.opts.Secret != nil {
		for i, h := range t.Header {
			t.secret[i] = h != "" && t.opts.Secret(t.Name, h)
		}
	}
}
