package workbook

import (
	"archive/zip"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/internal/diag"
)

// openXLSX opens a workbook: every sheet with a header becomes a table.
// Values are read formatted, as Excel shows them (a cell formatted 0000
// reads "0042"), because that is what the user typed and checked.
func (b *Book) openXLSX(path string, opts Options) error {
	name := filepath.Base(path)
	// The raw zip stays open beside excelize for the formula scans; reading
	// its workbook part first also tells a damaged or foreign zip apart.
	zr, err := zip.OpenReader(path)
	if err != nil {
		return xlsxOpenError(name, opts, err)
	}
	b.zip = zr
	parts, err := readSheetParts(&zr.Reader)
	if err != nil {
		return fmt.Errorf("%s is a zip archive but not an xlsx workbook (%v); save the workbook as .xlsx or export CSV", name, err)
	}
	if err := sharedParts(name, parts); err != nil {
		return err
	}
	for _, zf := range zr.File {
		if strings.EqualFold(zf.Name, "xl/sharedStrings.xml") {
			if err := scanText(zf, opts.UnzipSizeLimit, maxCellXML(opts)); err != nil {
				return fmt.Errorf("%s, shared strings: %w", name, err)
			}
		}
	}
	f, err := excelize.OpenFile(path, excelize.Options{
		UnzipSizeLimit:    opts.UnzipSizeLimit,
		UnzipXMLSizeLimit: opts.UnzipXMLSizeLimit,
		TmpDir:            opts.TmpDir,
	})
	if err != nil {
		return xlsxOpenError(name, opts, err)
	}
	b.xlsx = f
	b.Export = slices.Contains(f.GetSheetList(), MetadataSheet)
	for _, sheet := range f.GetSheetList() {
		t := &Table{Name: sheet, File: path, Sheet: sheet, book: b, opts: opts}
		if p, ok := parts[sheet]; ok {
			t.Hidden = p.hidden
			if p.file != nil {
				if t.scan, err = scanSheet(p.file, opts.UnzipSizeLimit, maxCellXML(opts)); err != nil {
					return fmt.Errorf("%s, sheet %q: %w", name, sheet, err)
				}
			}
		}
		found, err := t.readXLSXHeader()
		if err != nil {
			return err
		}
		if !found {
			continue // an empty sheet (Excel's default Sheet2, a notes tab) is no table
		}
		if t.Hidden {
			b.Diags.Warnf(t.Origin(0, -1), "", "read.hidden_sheet",
				"sheet %q is hidden but its rows are read like any other; unhide it (right-click a sheet tab › Unhide) to check them, or delete it", sheet)
		}
		if t.scan != nil {
			for _, ref := range t.scan.merges {
				o := diag.Origin{File: path, Sheet: sheet}
				if c, r, ok := parseCellRef(strings.SplitN(ref, ":", 2)[0]); ok {
					o.Row, o.Col = r, ColumnName(c-1)
				}
				b.Diags.Errorf(o, "", "read.merged_cells",
					"cells %s are merged, so only the first holds a value; unmerge them (Home › Merge & Center) and fill in every cell", ref)
			}
			if more := t.scan.nMerges - len(t.scan.merges); more > 0 {
				b.Diags.Errorf(t.Origin(0, -1), "", "read.merged_cells", "%d more ranges of this sheet are merged (not listed one by one); unmerge every cell of the sheet", more)
			}
		}
		b.Tables = append(b.Tables, t)
	}
	return nil
}

// maxCellXML bounds a cell's text in the XML: MaxCellSize decoded, with
// room for escapes (&amp; is five bytes for one).
func maxCellXML(opts Options) int64 { return 8 * int64(opts.MaxCellSize) }

// sharedParts refuses a workbook whose sheets share one part. No spreadsheet
// writes one, and reading the part once per sheet would let 16,384 sheets
// over one large part cost minutes.
func sharedParts(name string, parts map[string]sheetPart) error {
	owner := map[*zip.File]string{}
	for _, sheet := range slices.Sorted(maps.Keys(parts)) {
		f := parts[sheet].file
		if f == nil {
			continue
		}
		if first, dup := owner[f]; dup {
			return fmt.Errorf("%s is damaged: sheets %q and %q are the same part (%s), which no spreadsheet writes; open the workbook in Excel or LibreOffice and save it again", name, first, sheet, f.Name)
		}
		owner[f] = sheet
	}
	return nil
}

func xlsxOpenError(name string, opts Options, err error) error {
	var zipLimit bool
	if err != nil {
		zipLimit = strings.Contains(err.Error(), "unzip size exceeds")
	}
	switch {
	case zipLimit:
		return fmt.Errorf("%s unpacks to more than %s, the limit that guards against zip bombs; if the workbook is genuine, split it or export it as CSV", name, byteSize(opts.UnzipSizeLimit))
	case errors.Is(err, excelize.ErrWorkbookFileFormat), errors.Is(err, excelize.ErrWorkbookPassword):
		return fmt.Errorf("%s is not an xlsx workbook Excel 2007 or later can write (%v); save it as .xlsx or export CSV", name, err)
	case errors.Is(err, zip.ErrFormat), errors.Is(err, zip.ErrAlgorithm), errors.Is(err, zip.ErrChecksum):
		return fmt.Errorf("%s is not an xlsx workbook (the zip archive is damaged: %v); save it again as .xlsx or export CSV", name, err)
	}
	return fmt.Errorf("%s cannot be read as an xlsx workbook (%v); open it in Excel and save it again as .xlsx, or export CSV", name, err)
}

// readXLSXHeader finds the first non-blank row; false when the sheet is
// empty.
func (t *Table) readXLSXHeader() (bool, error) {
	src, err := t.openXLSXSource()
	if err != nil {
		return false, err
	}
	defer src.close()
	for {
		raw, ok := src.next()
		if !ok {
			return false, src.err()
		}
		if !isBlank(raw.Cells) {
			t.setHeader(raw)
			return true, nil
		}
	}
}

type xlsxSource struct {
	t     *Table
	rows  *excelize.Rows
	n     int
	blank bool // the last row read had no value
	e     error
	done  bool
}

func (t *Table) openXLSXSource() (*xlsxSource, error) {
	rows, err := t.book.xlsx.Rows(t.Sheet)
	if err != nil {
		return nil, fmt.Errorf("%s, sheet %q cannot be read: %w", filepath.Base(t.File), t.Sheet, err)
	}
	return &xlsxSource{t: t, rows: rows}, nil
}

// next returns every physical row, blank ones included, so that n is the
// row number Excel shows.
func (s *xlsxSource) next() (rawRow, bool) {
	if s.done {
		return rawRow{}, false
	}
	if !s.rows.Next() {
		s.done = true
		if err := s.rows.Error(); err != nil {
			s.e = s.wrap(err)
		} else if scan := s.t.scan; scan != nil && s.n < scan.lastRow {
			s.e = s.cut(scan)
		}
		return rawRow{}, false
	}
	s.n++
	cells, err := s.rows.Columns()
	if err != nil {
		s.done = true
		s.e = s.wrap(err)
		return rawRow{}, false
	}
	s.blank = isBlank(cells)
	return rawRow{First: s.n, Last: s.n, Cells: cells}, true
}

// cut is the error for a sheet whose rows ended before its XML does:
// excelize's row iterator stops at the first XML error without saying so
// (an "&nbsp;" written by a tool that does not escape HTML entities), and
// the raw scan saw rows after it.
func (s *xlsxSource) cut(scan *sheetScan) error {
	bad := s.n + 1
	if s.blank && s.n > 0 {
		bad = s.n // the damaged row came back empty
	}
	why := "often a character such as &nbsp; that XML does not allow"
	if scan.badRow > 0 && scan.badRow <= bad {
		bad, why = scan.badRow, fmt.Sprintf("it holds %s, which XML does not define: the tool that wrote the file did not escape it", scan.badEntity)
	}
	return fmt.Errorf("%s: the sheet's XML is damaged in row %d, so rows %d to %d cannot be read (%s); fix that row, or open the workbook in Excel or LibreOffice and save it again",
		s.t.Origin(bad, -1), bad, bad, scan.lastRow, why)
}

func (s *xlsxSource) wrap(err error) error {
	o := s.t.Origin(s.n, -1)
	if errors.Is(err, excelize.ErrMaxRows) {
		return fmt.Errorf("%s: the sheet has more than %d rows, Excel's limit; split it", o, MaxRows)
	}
	return fmt.Errorf("%s: the sheet cannot be read (%v); open the workbook in Excel and save it again", o, err)
}

func (s *xlsxSource) err() error { return s.e }

func (s *xlsxSource) close() error {
	if s.rows == nil {
		return nil
	}
	err := s.rows.Close()
	s.rows = nil
	if err != nil && s.e == nil && !errors.Is(err, excelize.ErrMaxRows) {
		return err
	}
	return nil
}
