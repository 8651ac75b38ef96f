package workbook

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// checkInvariants reads everything and fails on what must hold for any
// input: rows in increasing physical order below the header, cells exactly
// as many as header columns, every diagnostic placed.
func checkInvariants(t *testing.T, path string, opts Options) {
	done := make(chan error, 1)
	go func() { done <- readInvariants(path, opts) }()
	// A hang is a bug too; a generous limit here (not a timing assertion)
	// turns it into a reproducible failure with the input saved.
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("reading did not finish in 60s")
	}
}

// readInvariants runs off the test goroutine, so it reports instead of
// failing the test itself.
func readInvariants(path string, opts Options) error {
	b, err := Open(path, opts)
	if err != nil {
		return nil // a clear error is a fine answer to garbage
	}
	defer b.Close()
	for _, tb := range b.Tables {
		rows, err := tb.Rows()
		if err != nil {
			continue
		}
		last := tb.HeaderRow
		for rows.Next() {
			r := rows.Row()
			if r.Num <= last {
				return fmt.Errorf("%s: row %d after row %d", tb.Name, r.Num, last)
			}
			last = r.Num
			if len(r.Cells) != len(tb.Header) {
				return fmt.Errorf("%s row %d: %d cells for %d headers", tb.Name, r.Num, len(r.Cells), len(tb.Header))
			}
			for _, d := range r.Diags {
				if d.Row == 0 || d.Code == "" || d.Message == "" {
					return fmt.Errorf("%s row %d: unplaced diagnostic %+v", tb.Name, r.Num, d)
				}
			}
		}
		rows.Close()
	}
	return nil
}

func FuzzCSV(f *testing.F) {
	for _, seed := range []string{
		"userId,firstName\na,b\n",
		"\xef\xbb\xbfuserId;firstName\na;b\n\n;\nc;d\n",
		"userId,note\na,\"multi\nline\"\nb,21\" screen\nc,\"open\n",
		"userId,,x,userid\n a ,\u00a0b,\u200b\n,,,\nM\xfcller,x,y,z,extra\n",
		"\n\nuserId\tname\n1\t2\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "users.csv")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, p, Options{MaxCellSize: 64})
	})
}

// FuzzXLSX fuzzes whole files (asSheet false) and, more usefully, the XML of
// a sheet embedded in an otherwise valid workbook (asSheet true): random
// bytes rarely survive a zip's checksums.
func FuzzXLSX(f *testing.F) {
	base := seedWorkbook(f)
	raw, err := os.ReadFile(base)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw, false)
	f.Add([]byte(readPart(f, base, "xl/worksheets/sheet1.xml")), true)
	f.Add([]byte(`<worksheet><sheetData><row><c t="inlineStr"><is><t>h</t></is></c></row><row r="3"><c r="B3"><f>1</f><v>1</v></c></row></sheetData><mergeCells><mergeCell ref="A1:B2"/></mergeCells></worksheet>`), true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, asSheet bool) {
		p := filepath.Join(dir, "rollout.xlsx")
		if asSheet {
			data = replacePart(t, raw, "xl/worksheets/sheet1.xml", data)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, p, Options{MaxCellSize: 64, UnzipSizeLimit: 4 << 20})
	})
}

// seedWorkbook writes a small workbook with the features the reader
// guards: number formats, a formula, a merged range, a hidden sheet.
func seedWorkbook(t testing.TB) string {
	return newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"userId", "extension", "note"}))
		must(t, f.SetSheetRow("Users", "A2", &[]any{"a", 42, " spaced "}))
		must(t, f.SetSheetRow("Users", "A4", &[]any{"b", 7, "x"}))
		style, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("0000")})
		must(t, err)
		must(t, f.SetCellStyle("Users", "B2", "B4", style))
		must(t, f.SetCellFormula("Users", "C4", "A4&A2"))
		must(t, f.MergeCell("Users", "A5", "B5"))
		_, err = f.NewSheet("Hidden")
		must(t, err)
		must(t, f.SetCellValue("Hidden", "A1", "x"))
		must(t, f.SetSheetVisible("Hidden", false))
	})
}

// replacePart returns the zip in raw with one part's content replaced.
func replacePart(t testing.TB, raw []byte, name string, content []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == name {
			w.Write(content)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(w, rc)
		rc.Close()
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
