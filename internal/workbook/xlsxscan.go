package workbook

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// excelize hides what a sheet's XML says plainly: which cells hold
// formulas, which hold numbers and their stored value (it returns the
// displayed text: a LibreOffice "General" format shows 4915112345678 as
// 4.915112346E+12), which ranges are merged (its GetMergeCells and
// GetCellFormula load the whole sheet into memory), and where the sheet
// ends (its row iterator stops silently at the first XML error). This file
// finds them by scanning the raw sheet XML as bytes, which costs a few
// percent of the read and no memory.

// sheetPart is where a sheet lives in the zip, and whether it is hidden.
type sheetPart struct {
	file   *zip.File
	hidden bool
}

// readSheetParts maps sheet names to their parts through workbook.xml and
// its relationships.
func readSheetParts(zr *zip.Reader) (map[string]sheetPart, error) {
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(f.Name, `\`, "/"), "/"))] = f
	}
	wbPath := "xl/workbook.xml"
	var rootRels relsXML
	if err := readXMLPart(files, "_rels/.rels", &rootRels); err == nil {
		for _, r := range rootRels.Rels {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				wbPath = strings.TrimPrefix(r.Target, "/")
			}
		}
	}
	var wb struct {
		Sheets []struct {
			Name  string `xml:"name,attr"`
			State string `xml:"state,attr"`
			RID   string `xml:"id,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := readXMLPart(files, wbPath, &wb); err != nil {
		return nil, err
	}
	var rels relsXML
	dir := path.Dir(wbPath)
	if err := readXMLPart(files, path.Join(dir, "_rels", path.Base(wbPath)+".rels"), &rels); err != nil {
		return nil, err
	}
	targets := map[string]string{}
	for _, r := range rels.Rels {
		target := r.Target
		if strings.HasPrefix(target, "/") {
			target = strings.TrimPrefix(target, "/")
		} else {
			target = path.Join(dir, target)
		}
		targets[r.ID] = target
	}
	out := map[string]sheetPart{}
	for _, s := range wb.Sheets {
		out[s.Name] = sheetPart{
			file:   files[strings.ToLower(targets[s.RID])],
			hidden: s.State == "hidden" || s.State == "veryHidden",
		}
	}
	return out, nil
}

type relsXML struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Type   string `xml:"Type,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

// readXMLPart decodes a small part (workbook.xml, relationships), with a
// size bound so that a crafted file cannot make it large.
func readXMLPart(files map[string]*zip.File, name string, v any) error {
	f := files[strings.ToLower(name)]
	if f == nil {
		return fmt.Errorf("part %s is missing", name)
	}
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("part %s: %w", name, err)
	}
	defer rc.Close()
	if err := xml.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(v); err != nil {
		return fmt.Errorf("part %s: %w", name, err)
	}
	return nil
}

// sheetScan is what a first pass over a sheet's XML found.
type sheetScan struct {
	file     *zip.File
	limit    int64
	maxText  int64
	merges   []string // ranges as written ("A5:C5"), the first maxListedWarnings
	nMerges  int      // all merged ranges
	formulas int      // number of formula cells
	numbers  int      // number of cells that hold a number
	lastRow  int      // the last row that has a <row> or <c> element
	// badRow is the first row holding an entity XML does not define
	// ("&nbsp;"), badEntity that entity; 0 when none.
	badRow    int
	badEntity string
}

// scanSheet makes the first pass over a sheet. maxText bounds the text of
// one cell in the XML, checked before excelize would hold it in memory.
func scanSheet(zf *zip.File, limit, maxText int64) (*sheetScan, error) {
	s := &sheetScan{file: zf, limit: limit, maxText: maxText}
	sc, err := s.open()
	if err != nil {
		return nil, err
	}
	defer sc.close()
	for {
		ev, err := sc.next()
		if err != nil {
			return nil, err
		}
		switch ev {
		case evEOF:
			s.lastRow, s.badRow, s.badEntity = sc.maxRow, sc.badRow, sc.badEntity
			return s, nil
		case evFormula:
			s.formulas++
		case evNumber:
			s.numbers++
		case evMerge:
			if s.nMerges++; len(s.merges) < maxListedWarnings {
				s.merges = append(s.merges, sc.ref)
			}
		}
	}
}

func (s *sheetScan) open() (*xmlScanner, error) {
	rc, err := s.file.Open()
	if err != nil {
		return nil, fmt.Errorf("the sheet cannot be unpacked (%v); save the workbook again", err)
	}
	lr := &io.LimitedReader{R: rc, N: s.limit}
	return &xmlScanner{rc: rc, lr: lr, limit: s.limit, maxText: s.maxText, br: bufio.NewReaderSize(lr, 64<<10)}, nil
}

// scanText checks that no text in a part (the shared strings) is longer
// than maxText, before excelize loads the part.
func scanText(zf *zip.File, limit, maxText int64) error {
	sc, err := (&sheetScan{file: zf, limit: limit, maxText: maxText}).open()
	if err != nil {
		return err
	}
	defer sc.close()
	for {
		ev, err := sc.next()
		if err != nil || ev == evEOF {
			return err
		}
	}
}

// cellCursor walks the cells of one event (formulas, or numbers) of a sheet
// in step with the rows being read, so that the reader never holds a list
// of them.
type cellCursor struct {
	sc       *xmlScanner
	want     scanEvent
	row, col int    // next such cell; row 0 when none is left
	value    string // its stored value (evNumber)
}

func newCellCursor(s *sheetScan, want scanEvent) (*cellCursor, error) {
	sc, err := s.open()
	if err != nil {
		return nil, err
	}
	c := &cellCursor{sc: sc, want: want}
	c.advance()
	return c, nil
}

func (c *cellCursor) advance() {
	for {
		ev, err := c.sc.next()
		if err != nil || ev == evEOF {
			c.row = 0
			return
		}
		if ev == c.want {
			c.row, c.col, c.value = c.sc.row, c.sc.col, c.sc.value
			return
		}
	}
}

// at reports whether the cell (row, 0-based col) is one of the cursor's.
// Calls must come in reading order.
func (c *cellCursor) at(row, col int) bool {
	for c.row != 0 && (c.row < row || c.row == row && c.col < col+1) {
		c.advance()
	}
	return c.row == row && c.col == col+1
}

func (c *cellCursor) close() { c.sc.close() }

type scanEvent int

const (
	evEOF scanEvent = iota
	evFormula
	evNumber // a cell stored as a number; xmlScanner.value is its <v>
	evMerge
)

// xmlScanner finds <row>, <c>, <f> and <mergeCell> tags in a sheet's XML
// without decoding it. Positions follow the same rules as excelize: a row
// or cell without an r attribute follows the previous one.
type xmlScanner struct {
	rc       io.ReadCloser
	lr       *io.LimitedReader
	limit    int64
	maxText  int64 // longest text between two tags; 0: no bound
	run      int64 // length of the text being read
	br       *bufio.Reader
	row, col int    // current cell, 1-based
	maxRow   int    // the largest row seen so far
	number   bool   // the current cell's type is a number (no t, or t="n")
	ref      string // range of the last evMerge
	value    string // stored value of the last evNumber
	// The first entity XML does not define, and its row.
	badRow    int
	badEntity string
}

func (s *xmlScanner) close() { s.rc.Close() }

func (s *xmlScanner) next() (scanEvent, error) {
	for {
		text, err := s.br.ReadSlice('<')
		if s.badRow == 0 && bytes.IndexByte(text, '&') >= 0 {
			if e := undefinedEntity(text); e != "" {
				s.badRow, s.badEntity = max(s.row, 1), e
			}
		}
		if s.run += int64(len(text)); s.maxText > 0 && s.run > s.maxText {
			return evEOF, s.tooLong()
		}
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if s.lr.N <= 0 {
				return evEOF, fmt.Errorf("the sheet unpacks to more than %s, the limit that guards against zip bombs; split the workbook or export CSV", byteSize(s.limit))
			}
			if errors.Is(err, io.EOF) {
				return evEOF, nil
			}
			return evEOF, fmt.Errorf("the sheet cannot be unpacked (%v); save the workbook again", err)
		}
		s.run = 0
		head, _ := s.br.Peek(16)
		name := tagName(head)
		switch string(name) {
		case "row":
			attrs := s.tag()
			if r, ok := atoiAttr(attrs, "r"); ok {
				s.row = r
			} else {
				s.row++
			}
			s.col = 0
			s.maxRow = max(s.maxRow, s.row)
		case "c":
			attrs := s.tag()
			s.col++
			if ref := attr(attrs, "r"); ref != nil {
				if c, r, ok := parseCellRef(string(ref)); ok {
					s.col, s.row = c, r
				}
			}
			s.maxRow = max(s.maxRow, s.row)
			t := attr(attrs, "t")
			s.number = attrs != nil && (t == nil || string(t) == "n")
		case "v":
			if tag := s.tag(); !s.number || tag == nil || bytes.HasSuffix(tag, []byte("/>")) {
				continue
			}
			// A stored number is short; anything longer is no number.
			v, err := s.br.ReadSlice('<')
			if err != nil || len(v) > 64 {
				continue
			}
			s.value = string(v[:len(v)-1])
			return evNumber, nil
		case "f":
			return evFormula, nil
		case "mergeCell":
			if ref := attr(s.tag(), "ref"); ref != nil {
				s.ref = string(ref)
				return evMerge, nil
			}
		}
	}
}

func (s *xmlScanner) tooLong() error {
	where := "a text"
	if s.row > 0 && s.col > 0 {
		where = "cell " + ColumnName(s.col-1) + strconv.Itoa(s.row)
	}
	return fmt.Errorf("%s holds more than %s, far more than a spreadsheet cell holds; the file is damaged or crafted: fix or delete that cell, or save the workbook again", where, byteSize(s.maxText))
}

// undefinedEntity returns the first entity in text that XML does not
// define ("&nbsp;"), or "". Character references (&#160;) are fine.
func undefinedEntity(text []byte) string {
	for {
		i := bytes.IndexByte(text, '&')
		if i < 0 {
			return ""
		}
		text = text[i+1:]
		end := bytes.IndexByte(text, ';')
		if end < 0 || end > 32 {
			return "&" + string(text[:min(len(text), 8)])
		}
		switch name := string(text[:end]); {
		case name == "amp", name == "lt", name == "gt", name == "quot", name == "apos", strings.HasPrefix(name, "#"):
		default:
			return "&" + name + ";"
		}
		text = text[end+1:]
	}
}

// tag consumes the rest of the current tag and returns its attributes
// (nil when the tag is absurdly long, which only damage produces).
func (s *xmlScanner) tag() []byte {
	b, err := s.br.ReadSlice('>')
	if err != nil {
		return nil
	}
	return b
}

// tagName returns the local name of the tag starting at head (after '<'),
// or nil for end tags, comments and processing instructions.
func tagName(head []byte) []byte {
	if len(head) == 0 || head[0] == '/' || head[0] == '!' || head[0] == '?' {
		return nil
	}
	end := bytes.IndexAny(head, " \t\r\n/>")
	if end < 0 {
		return nil // longer than any tag we look for
	}
	name := head[:end]
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// attr finds name="value" (or single quotes) in a tag's attribute bytes.
func attr(attrs []byte, name string) []byte {
	for i := 0; i < len(attrs); {
		j := bytes.Index(attrs[i:], []byte(name+"="))
		if j < 0 {
			return nil
		}
		j += i
		i = j + len(name) + 1
		if j > 0 && !isSpaceByte(attrs[j-1]) || i >= len(attrs) {
			continue
		}
		q := attrs[i]
		if q != '"' && q != '\'' {
			continue
		}
		end := bytes.IndexByte(attrs[i+1:], q)
		if end < 0 {
			return nil
		}
		return attrs[i+1 : i+1+end]
	}
	return nil
}

func atoiAttr(attrs []byte, name string) (int, bool) {
	v := attr(attrs, name)
	if len(v) == 0 || len(v) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n > 0
}

// parseCellRef splits "AB12" (or "$AB$12") into 1-based column and row.
func parseCellRef(ref string) (col, row int, ok bool) {
	i := 0
	if i < len(ref) && ref[i] == '$' {
		i++
	}
	for ; i < len(ref); i++ {
		c := ref[i] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a') + 1
		if col > 16384 {
			return 0, 0, false
		}
	}
	if col == 0 {
		return 0, 0, false
	}
	if i < len(ref) && ref[i] == '$' {
		i++
	}
	if i == len(ref) || len(ref)-i > 7 {
		return 0, 0, false
	}
	for ; i < len(ref); i++ {
		if ref[i] < '0' || ref[i] > '9' {
			return 0, 0, false
		}
		row = row*10 + int(ref[i]-'0')
	}
	return col, row, row > 0
}
