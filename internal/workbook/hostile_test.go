package workbook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// Number cells are marked, and read as stored when a display format
// changed the number: LibreOffice's "General" shows 4915112345678 as
// 4.915112346E+12; a 0000 format shows the zeros of 42 as typed; a
// stored value beyond 15 significant digits has lost digits and reads in
// scientific notation.
func TestNumberCellsReadAsStored(t *testing.T) {
	general, zeros := "General", "0000"
	p := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"mobile", "pin", "ipei", "name", "count"}))
		must(t, f.SetSheetRow("Users", "A2", &[]any{int64(4915112345678), 42, 12345678901234567.0, "Anna", 3}))
		g, err := f.NewStyle(&excelize.Style{CustomNumFmt: &general})
		must(t, err)
		z, err := f.NewStyle(&excelize.Style{CustomNumFmt: &zeros})
		must(t, err)
		must(t, f.SetCellStyle("Users", "A2", "A2", g))
		must(t, f.SetCellStyle("Users", "C2", "C2", g))
		must(t, f.SetCellStyle("Users", "B2", "B2", z))
	})
	_, rows := readAll(t, p, Options{})
	r := rows["Users"][0]
	if want := []string{"4915112345678", "0042", "1.2345678901234568E+16", "Anna", "3"}; strings.Join(r.Cells, "|") != strings.Join(want, "|") {
		t.Errorf("cells %q, want %q", r.Cells, want)
	}
	if want := []bool{true, true, true, false, true}; fmt.Sprint(r.Numeric) != fmt.Sprint(want) {
		t.Errorf("numeric %v, want %v", r.Numeric, want)
	}
}

// excelize's row iterator stops at the first XML error without an error:
// an "&nbsp;" in row 21 of 50 gave "20 rows". The raw scan knows the
// sheet goes on, so reading fails and names the sheet and row.
func TestDamagedSheetXMLIsAnError(t *testing.T) {
	p := newXLSX(t, func(f *excelize.File) {
		for i := 1; i <= 50; i++ {
			must(t, f.SetSheetRow("Users", fmt.Sprintf("A%d", i), &[]any{fmt.Sprintf("user%d", i)}))
		}
	})
	sheet := readPart(t, p, "xl/worksheets/sheet1.xml")
	cell := `<c r="B21" t="inlineStr"><is><t>Anna&nbsp;Berg</t></is></c></row>`
	damaged := strings.Replace(sheet, `</row><row r="22"`, cell+`<row r="22"`, 1)
	if damaged == sheet {
		t.Fatalf("no row 22 in %s", sheet)
	}
	rewriteZip(t, p, map[string]string{"xl/worksheets/sheet1.xml": damaged})
	n, err := drainFirstTable(t, p)
	if err == nil || !strings.Contains(err.Error(), "Users!21: the sheet's XML is damaged in row 21, so rows 21 to 50 cannot be read (it holds &nbsp;") {
		t.Fatalf("after %d rows: err %v", n, err)
	}
}

// Sheets that share one part are refused at once (16,384 of them over
// one large part cost minutes of reading).
func TestSharedSheetPartIsRefused(t *testing.T) {
	p := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"userId"}))
		_, err := f.NewSheet("Extensions")
		must(t, err)
	})
	rels := readPart(t, p, "xl/_rels/workbook.xml.rels")
	shared := strings.Replace(rels, "worksheets/sheet2.xml", "worksheets/sheet1.xml", 1)
	if shared == rels {
		t.Fatalf("no sheet2 in %s", rels)
	}
	rewriteZip(t, p, map[string]string{"xl/_rels/workbook.xml.rels": shared})
	if _, err := Open(p, Options{}); err == nil || !strings.Contains(err.Error(), `sheets "Extensions" and "Users" are the same part`) {
		t.Fatalf("err %v", err)
	}
}

// A CSV record is read with bounded memory: a line far longer than any
// row (a stray quote swallowing the file, or not CSV at all) stops the
// read with an error at its line instead of being buffered whole.
func TestLongCSVRecordIsBounded(t *testing.T) {
	p := filepath.Join(t.TempDir(), "users.csv")
	f, err := os.Create(p)
	must(t, err)
	fmt.Fprintf(f, "userId,firstName\nanna,Anna\nbo,\"")
	chunk := strings.Repeat("x", 1<<16)
	for range 64 { // 4 MiB in one record
		f.WriteString(chunk)
	}
	must(t, f.Close())
	b, err := Open(p, Options{MaxCellSize: 1 << 10}) // records up to 64 KiB
	must(t, err)
	defer b.Close()
	rows, err := b.Tables[0].Rows()
	must(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	err = rows.Err()
	if n != 1 || err == nil || !strings.Contains(err.Error(), "users.csv:3: the row starting on line 3 is longer than 64.0 KiB") {
		t.Fatalf("%d rows, err %v", n, err)
	}
	if errors.Is(err, errRecordTooLong) {
		t.Errorf("the internal error leaks: %v", err)
	}
}

// A cell far larger than a spreadsheet writes is refused while scanning,
// before excelize holds it in memory: inline in the sheet, or in the shared
// strings.
func TestHugeCellIsRefusedWhileReading(t *testing.T) {
	big := strings.Repeat("x", 20<<10)
	shared := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"userId", "note"}))
		must(t, f.SetCellStr("Users", "B2", big))
	})
	if _, err := Open(shared, Options{MaxCellSize: 1 << 10}); err == nil || !strings.Contains(err.Error(), "shared strings: a text holds more than 8.0 KiB") {
		t.Errorf("shared string: %v", err)
	}
	inline := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"userId", "note"}))
	})
	sheet := readPart(t, inline, "xl/worksheets/sheet1.xml")
	cell := `<row r="2"><c r="B2" t="inlineStr"><is><t>` + big + `</t></is></c></row></sheetData>`
	rewriteZip(t, inline, map[string]string{"xl/worksheets/sheet1.xml": strings.Replace(sheet, "</sheetData>", cell, 1)})
	if _, err := Open(inline, Options{MaxCellSize: 1 << 10}); err == nil || !strings.Contains(err.Error(), `sheet "Users": cell B2 holds more than 8.0 KiB`) {
		t.Errorf("inline: %v", err)
	}
}

// Merged ranges are listed up to the warning cap and counted beyond it.
func TestMergedRangesAreCapped(t *testing.T) {
	p := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"userId", "name"}))
		for i := range maxListedWarnings + 50 {
			must(t, f.MergeCell("Users", fmt.Sprintf("A%d", 2*i+2), fmt.Sprintf("B%d", 2*i+2)))
		}
	})
	b, err := Open(p, Options{})
	must(t, err)
	defer b.Close()
	l := findDiag(b.Diags, "read.merged_cells")
	if len(l) != maxListedWarnings+1 || !strings.Contains(l[len(l)-1].Message, "50 more ranges") {
		t.Fatalf("%d merged-cell findings, last %v", len(l), l[len(l)-1])
	}
}
