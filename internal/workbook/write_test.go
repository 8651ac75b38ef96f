package workbook

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestEscapeCSVRoundTrips(t *testing.T) {
	cases := []struct{ in, out string }{
		{"=1+1", "'=1+1"},
		{"=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"-2+3", "'-2+3"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"+46701234567", "+46701234567"}, // E.164 stays as it is
		{"-5", "-5"},
		{"+1.5", "+1.5"},
		{"+46 70 123", "'+46 70 123"},
		{"0042", "0042"},
		{"'=x", "''=x"}, // a real leading quote before a trigger survives
		{"''", "'''"},
		{"'abc", "'abc"}, // unambiguous: left alone
		{"", ""},
		{"-", "'-"},
		{"+", "'+"},
		{"Åsa", "Åsa"},
	}
	for _, c := range cases {
		if got := EscapeCSV(c.in); got != c.out {
			t.Errorf("EscapeCSV(%q) = %q, want %q", c.in, got, c.out)
		}
		if back := UnescapeCSV(EscapeCSV(c.in)); back != c.in {
			t.Errorf("UnescapeCSV(EscapeCSV(%q)) = %q", c.in, back)
		}
	}
	// What Excel users type to force text reads back as the value.
	if got := UnescapeCSV("'+46701234567"); got != "+46701234567" {
		t.Errorf("UnescapeCSV('+4670…) = %q", got)
	}
}

func FuzzEscapeCSV(f *testing.F) {
	for _, s := range []string{"=1", "'=", "''", "+46", "-", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeCSV(s)
		if UnescapeCSV(e) != s {
			t.Fatalf("round trip of %q via %q", s, e)
		}
		if e != "" && isTrigger(e[0]) && !plainNumber(e) {
			t.Fatalf("escaped %q still starts with %q", e, e[0])
		}
	})
}

func TestPartNames(t *testing.T) {
	for _, c := range []struct {
		base string
		part int
		name string
	}{
		{"users", 1, "users"},
		{"users", 2, "users (2)"},
		{"an_extremely_long_kind_name_xyz_abc", 12, "an_extremely_long_kind_nam (12)"},
	} {
		got := PartName(c.base, c.part)
		if got != c.name {
			t.Errorf("PartName(%q,%d) = %q, want %q", c.base, c.part, got, c.name)
		}
		if len(got) > 31 {
			t.Errorf("%q longer than 31", got)
		}
		if c.part > 1 && len(c.base) <= 25 {
			if b, p := SplitName(got); b != c.base || p != c.part {
				t.Errorf("SplitName(%q) = %q,%d", got, b, p)
			}
		}
	}
	for _, n := range []string{"users", "users (1)", "users (x)", "users (02)", "(3)", "a(2)"} {
		if b, p := SplitName(n); b != n || p != 1 {
			t.Errorf("SplitName(%q) = %q,%d, want unchanged", n, b, p)
		}
	}
}

func TestCSVWriter(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewCSVWriter(&buf, true)
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]string{{"userId", "phone", "note"}, {"0042", "+4670123", "=cmd()"}, {"a,b", "x\"y", "multi\nline"}}
	for _, r := range rows {
		if err := w.WriteRow(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, BOM) {
		t.Fatalf("no BOM: %q", out[:5])
	}
	got, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, BOM))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got[1][2] != "'=cmd()" {
		t.Errorf("formula not escaped: %q", got[1][2])
	}
	for i := range rows {
		for j := range rows[i] {
			if UnescapeCSV(got[i][j]) != rows[i][j] {
				t.Errorf("row %d col %d: %q, want %q", i, j, got[i][j], rows[i][j])
			}
		}
	}
}

// writeBook writes a small workbook with the writer under test and reopens
// it with excelize.
func writeBook(t *testing.T, maxRows int, fill func(x *XLSXWriter)) (*excelize.File, string) {
	t.Helper()
	x, err := NewXLSXWriter(XLSXOptions{TmpDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if maxRows > 0 {
		x.maxRows = maxRows
	}
	fill(x)
	path := filepath.Join(t.TempDir(), "out.xlsx")
	if err := x.Save(path); err != nil {
		t.Fatal(err)
	}
	x.Close()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

func TestXLSXCellsStayText(t *testing.T) {
	values := []string{"=1+1", "+46701234567", "0042", "@SUM(A1)", "-2+3", "\tx", "1e5", "TRUE", "2026-01-02"}
	f, path := writeBook(t, 0, func(x *XLSXWriter) {
		tb, err := x.NewTable("users", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}, TableOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for range 150 { // past the sizing sample, so both code paths run
			if err := tb.WriteRow(values); err != nil {
				t.Fatal(err)
			}
		}
	})
	rows, err := f.GetRows("users")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 151 {
		t.Fatalf("%d rows, want 151", len(rows))
	}
	for _, r := range []int{1, 149, 150} {
		for j, v := range values {
			if rows[r][j] != v {
				t.Errorf("row %d col %d = %q, want %q", r+1, j, rows[r][j], v)
			}
		}
	}
	for _, cell := range []string{"A2", "A150", "B2", "C151"} {
		typ, _ := f.GetCellType("users", cell)
		if typ != excelize.CellTypeInlineString {
			t.Errorf("%s has type %v, want an inline string", cell, typ)
		}
		if fm, _ := f.GetCellFormula("users", cell); fm != "" {
			t.Errorf("%s has formula %q", cell, fm)
		}
	}
	// Nothing in the sheet XML is a formula: Excel evaluates only <f>.
	xml := sheetXML(t, path, "xl/worksheets/sheet1.xml")
	if strings.Contains(xml, "<f>") || strings.Contains(xml, "<f ") {
		t.Error("sheet XML contains a formula element")
	}
	// The header is frozen and the columns are text-formatted.
	if panes, _ := f.GetPanes("users"); !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("header not frozen: %+v", panes)
	}
	style, _ := f.GetCellStyle("users", "C2")
	st, _ := f.GetStyle(style)
	if st.NumFmt != textFormat {
		t.Errorf("data cell number format %d, want text (49)", st.NumFmt)
	}
	if w, _ := f.GetColWidth("users", "A"); w < 8 {
		t.Errorf("column A width %v", w)
	}
}

func sheetXML(t *testing.T, path, part string) string {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, f := range z.File {
		if f.Name == part {
			r, _ := f.Open()
			b, _ := io.ReadAll(r)
			r.Close()
			return string(b)
		}
	}
	t.Fatalf("%s not in %s", part, path)
	return ""
}

func TestXLSXHighlightsAndComments(t *testing.T) {
	f, _ := writeBook(t, 0, func(x *XLSXWriter) {
		tb, _ := x.NewTable("users", []string{"userId", "status"}, TableOptions{})
		tb.Write([]Cell{{Value: "ok"}, {Value: "succeeded"}}, Plain)
		tb.Write([]Cell{{Value: "bad", Style: Culprit, Comment: "userId already exists"}, {Value: "failed"}}, Failed)
		tb2, _ := x.NewTable("catalogue", []string{"name"}, TableOptions{ReadOnly: true})
		tb2.WriteRow([]string{"x"})
	})
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "users" || got[1] != "catalogue" {
		t.Fatalf("sheets %v", got)
	}
	fillOf := func(cell string) string {
		id, _ := f.GetCellStyle("users", cell)
		st, _ := f.GetStyle(id)
		if len(st.Fill.Color) == 0 {
			return ""
		}
		return st.Fill.Color[0]
	}
	if c := fillOf("A2"); c != "" {
		t.Errorf("plain row filled %q", c)
	}
	if c := fillOf("B3"); c != fills[Failed] {
		t.Errorf("failed row fill %q", c)
	}
	if c := fillOf("A3"); c != fills[Culprit] {
		t.Errorf("culprit cell fill %q", c)
	}
	cm, err := f.GetComments("users")
	if err != nil || len(cm) != 1 || cm[0].Cell != "A3" || !strings.Contains(cm[0].Paragraph[0].Text, "already exists") {
		t.Errorf("comments %+v, %v", cm, err)
	}
	props, _ := f.GetSheetProps("catalogue")
	if props.TabColorRGB == nil || *props.TabColorRGB == "" {
		t.Error("read-only sheet tab not coloured")
	}
}

func TestXLSXContinuesOnNewSheet(t *testing.T) {
	f, _ := writeBook(t, 3, func(x *XLSXWriter) {
		tb, _ := x.NewTable("users", []string{"n"}, TableOptions{})
		for _, v := range []string{"1", "2", "3", "4", "5", "6", "7"} {
			if err := tb.WriteRow([]string{v}); err != nil {
				t.Fatal(err)
			}
		}
	})
	want := map[string][]string{"users": {"1", "2", "3"}, "users (2)": {"4", "5", "6"}, "users (3)": {"7"}}
	if got := f.GetSheetList(); len(got) != 3 {
		t.Fatalf("sheets %v", got)
	}
	for sh, vals := range want {
		rows, err := f.GetRows(sh)
		if err != nil {
			t.Fatal(err)
		}
		if rows[0][0] != "n" {
			t.Errorf("%s: header %v", sh, rows[0])
		}
		for i, v := range vals {
			if rows[i+1][0] != v {
				t.Errorf("%s row %d = %v, want %s", sh, i+2, rows[i+1], v)
			}
		}
		if len(rows) != len(vals)+1 {
			t.Errorf("%s: %d rows", sh, len(rows))
		}
	}
}

// Every table sheet has a filter over its rows and prints landscape, one
// page wide, with its header on every page; the reserved sheet comes first
// although it is written last; counts are numbers; a wrapped row is as tall
// as its text; the file is the owner's only.
func TestXLSXFilterPrintOrderAndNumbers(t *testing.T) {
	long := strings.Repeat("word ", 40) // 200 characters in a 60-wide column
	f, path := writeBook(t, 0, func(x *XLSXWriter) {
		if err := x.Reserve("summary"); err != nil {
			t.Fatal(err)
		}
		tb, _ := x.NewTable("users", []string{"userId", "status", "reason", "email"}, TableOptions{FreezeColumns: 3})
		for range 3 {
			tb.WriteRow([]string{"u1", "failed", "bad", "a@b"})
		}
		sum, err := x.NewTable("summary", []string{"what", "count"}, TableOptions{Wrap: true})
		if err != nil {
			t.Fatal(err)
		}
		sum.Write([]Cell{{Value: "created"}, {Value: "1200", Number: true}}, Plain)
		sum.Write([]Cell{{Value: long}, {Value: "n/a", Number: true}}, Plain)
	})
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "summary" || got[1] != "users" {
		t.Fatalf("sheets %v, want the reserved summary first", got)
	}
	for sheet, ref := range map[string]string{"users": "$A$1:$D$4", "summary": "$A$1:$B$3"} {
		xml := sheetXML(t, path, map[string]string{"summary": "xl/worksheets/sheet1.xml", "users": "xl/worksheets/sheet2.xml"}[sheet])
		if !strings.Contains(xml, `<autoFilter ref="`+ref+`"`) {
			t.Errorf("%s: no autofilter over %s", sheet, ref)
		}
		if !strings.Contains(xml, `orientation="landscape"`) || !strings.Contains(xml, `fitToWidth="1"`) || !strings.Contains(xml, `fitToHeight="0"`) || !strings.Contains(xml, `fitToPage="true"`) {
			t.Errorf("%s: not set to print landscape, one page wide", sheet)
		}
	}
	names := f.GetDefinedName()
	titles := 0
	for _, n := range names {
		if n.Name == "_xlnm.Print_Titles" && strings.HasSuffix(n.RefersTo, "!$1:$1") {
			titles++
		}
	}
	if titles != 2 {
		t.Errorf("%d sheets repeat their header when printed, want 2 (%+v)", titles, names)
	}
	if p, _ := f.GetPanes("users"); !p.Freeze || p.XSplit != 3 || p.YSplit != 1 {
		t.Errorf("users panes %+v, want the header and 3 columns frozen", p)
	}
	if typ, _ := f.GetCellType("summary", "B2"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("count cell type %v, want a number", typ)
	}
	if v, _ := f.GetCellValue("summary", "B2", excelize.Options{RawCellValue: true}); v != "1200" {
		t.Errorf("count = %q", v)
	}
	if typ, _ := f.GetCellType("summary", "B3"); typ != excelize.CellTypeInlineString {
		t.Errorf("a count that is no number should stay text, got %v", typ)
	}
	if h, _ := f.GetRowHeight("summary", 3); h < 3*LineHeight {
		t.Errorf("wrapped row height %v, want room for at least 3 lines", h)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

func TestLines(t *testing.T) {
	for _, c := range []struct {
		v     string
		width float64
		want  int
	}{
		{"", 10, 1}, {"short", 60, 1}, {strings.Repeat("x", 130), 60, 2}, {"a\nb\nc", 60, 3},
	} {
		if got := Lines(c.v, c.width); got != c.want {
			t.Errorf("Lines(%d chars, %v) = %d, want %d", len(c.v), c.width, got, c.want)
		}
	}
}

// TestXLSXVeryLongTextFitsExcelsTallestRow: a wrapped cell of hundreds of
// lines (the reasons of a 50-number range row) is written, its row as tall
// as Excel allows.
func TestXLSXVeryLongTextFitsExcelsTallestRow(t *testing.T) {
	x, err := NewXLSXWriter(XLSXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	tb, err := x.NewTable("t", []string{"reason"}, TableOptions{Wrap: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.WriteRow([]string{strings.Repeat("a reason that goes on; ", 400)}); err != nil {
		t.Fatalf("a long wrapped cell: %v", err)
	}
	if err := x.Save(filepath.Join(t.TempDir(), "t.xlsx")); err != nil {
		t.Fatal(err)
	}
}
