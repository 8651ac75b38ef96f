package workbook

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/internal/diag"
)

// newXLSX builds a workbook in a temp dir; build fills it (the default
// sheet is renamed "Users").
func newXLSX(t testing.TB, build func(f *excelize.File)) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "Users"); err != nil {
		t.Fatal(err)
	}
	build(f)
	p := filepath.Join(t.TempDir(), "rollout.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestXLSXFormattedValuesGapsAndOrigins(t *testing.T) {
	p := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A2", &[]any{"userId", "extension", "mobile", "firstName"}))
		must(t, f.SetSheetRow("Users", "A3", &[]any{"aberg", 42, "+46701234567", "Anna"}))
		must(t, f.SetSheetRow("Users", "A4", &[]any{"bl", 7}))
		// row 5, 6 blank; row 7 data again
		must(t, f.SetSheetRow("Users", "A7", &[]any{"cn", 1001, "", "Carla"}))
		style, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("0000")})
		must(t, err)
		must(t, f.SetColStyle("Users", "B", style))
		must(t, f.SetCellStyle("Users", "B3", "B7", style))
	})
	b, rows := readAll(t, p, Options{})
	tb := b.Tables[0]
	if tb.Name != "Users" || tb.Sheet != "Users" || tb.HeaderRow != 2 {
		t.Fatalf("table %+v", tb)
	}
	got := rows["Users"]
	want := []Row{
		{Num: 3, Cells: []string{"aberg", "0042", "+46701234567", "Anna"}},
		{Num: 4, Cells: []string{"bl", "0007", "", ""}},
		{Num: 7, Cells: []string{"cn", "1001", "", "Carla"}},
	}
	if len(got) != len(want) {
		t.Fatalf("rows %+v", got)
	}
	for i := range want {
		if got[i].Num != want[i].Num || !slices.Equal(got[i].Cells, want[i].Cells) {
			t.Errorf("row %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	wantDiag(t, allDiags(b, rows), "read.blank_row", diag.Warning, "Users!5", "rows 5 to 6")
	if o := tb.Origin(7, 3).String(); o != "Users!D7" {
		t.Errorf("origin %s", o)
	}
}

func ptr[T any](v T) *T { return &v }

func TestXLSXFormulas(t *testing.T) {
	p := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"userId", "extension", "note"}))
		must(t, f.SetSheetRow("Users", "A2", &[]any{"a", "1001", "x"}))
		must(t, f.SetSheetRow("Users", "A3", &[]any{"b", nil, "y"}))
		must(t, f.SetCellFormula("Users", "B3", "B2+1"))
		must(t, f.SetSheetRow("Users", "A4", &[]any{"c", "1003", nil}))
		must(t, f.SetCellFormula("Users", "C4", "1/0"))
		must(t, f.SetCellValue("Users", "B3", 1002)) // drops the formula
	})
	// excelize writes no cached values next to formulas: put them in as
	// Excel would.
	sheet := readPart(t, p, "xl/worksheets/sheet1.xml")
	sheet = strings.Replace(sheet, `<c r="B3"><v>1002</v></c>`, `<c r="B3"><f>B2+1</f><v>1002</v></c>`, 1)
	sheet = strings.Replace(sheet, `<c r="C4" t="str"><f>1/0</f></c>`, `<c r="C4" t="e"><f>1/0</f><v>#DIV/0!</v></c>`, 1)
	if !strings.Contains(sheet, "<f>B2+1</f>") || !strings.Contains(sheet, "#DIV/0!") {
		t.Fatalf("fixture not patched: %s", sheet)
	}
	rewriteZip(t, p, map[string]string{"xl/worksheets/sheet1.xml": sheet})

	b, rows := readAll(t, p, Options{})
	all := allDiags(b, rows)
	wantDiag(t, all, "read.formula", diag.Warning, "Users!B3", `cached value "1002"`, "paste values")
	wantDiag(t, all, "read.formula_error", diag.Error, "Users!C4", "#DIV/0!")
	if got := rows["Users"][1].Cells[1]; got != "1002" {
		t.Errorf("cached value %q", got)
	}
}

func TestXLSXMergedCellsAndHiddenSheet(t *testing.T) {
	p := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"userId", "firstName", "lastName"}))
		must(t, f.SetSheetRow("Users", "A2", &[]any{"a", "Anna", "Berg"}))
		must(t, f.MergeCell("Users", "B3", "C3"))
		must(t, f.SetCellValue("Users", "A3", "b"))
		must(t, f.SetCellValue("Users", "B3", "Bo"))
		_, err := f.NewSheet("Old")
		must(t, err)
		must(t, f.SetSheetRow("Old", "A1", &[]any{"userId"}))
		must(t, f.SetSheetVisible("Old", false))
		_, err = f.NewSheet("Empty")
		must(t, err)
	})
	b, rows := readAll(t, p, Options{})
	var names []string
	for _, tb := range b.Tables {
		names = append(names, tb.Name)
	}
	if !slices.Equal(names, []string{"Users", "Old"}) {
		t.Errorf("tables %v (an empty sheet is no table)", names)
	}
	wantDiag(t, b.Diags, "read.merged_cells", diag.Error, "Users!B3", "B3:C3", "unmerge")
	wantDiag(t, b.Diags, "read.hidden_sheet", diag.Warning, "Old", "hidden", "Unhide")
	if !b.Tables[1].Hidden || b.Tables[0].Hidden {
		t.Errorf("Hidden flags wrong")
	}
	if len(b.TableDiags(b.Table("old"))) != 1 {
		t.Errorf("TableDiags(Old) = %v", b.TableDiags(b.Table("old")))
	}
	if len(rows["Users"]) != 2 {
		t.Errorf("rows %+v", rows["Users"])
	}
}

func TestXLSXSpacesAndBeyondHeader(t *testing.T) {
	p := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{" userId ", "firstName"}))
		must(t, f.SetSheetRow("Users", "A2", &[]any{"a ", "An\u00a0na", "stray"}))
	})
	b, rows := readAll(t, p, Options{})
	if h := b.Tables[0].Header; !slices.Equal(h, []string{"userId", "firstName"}) {
		t.Errorf("header %q", h)
	}
	all := allDiags(b, rows)
	wantDiag(t, all, "read.space", diag.Warning, "Users!A2")
	wantDiag(t, all, "read.nbsp", diag.Warning, "Users!B2")
	wantDiag(t, all, "read.no_header", diag.Error, "Users!C2", "beyond the last header")
	if got := rows["Users"][0].Cells; !slices.Equal(got, []string{"a", "An na"}) {
		t.Errorf("cells %q", got)
	}
}

func TestXLSXTooManyRows(t *testing.T) {
	p := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"userId"}))
		must(t, f.SetSheetRow("Users", "A2", &[]any{"a"}))
	})
	sheet := readPart(t, p, "xl/worksheets/sheet1.xml")
	sheet = strings.Replace(sheet, "</sheetData>",
		fmt.Sprintf(`<row r="%d"><c r="A%d" t="inlineStr"><is><t>z</t></is></c></row></sheetData>`, MaxRows+1, MaxRows+1), 1)
	rewriteZip(t, p, map[string]string{"xl/worksheets/sheet1.xml": sheet})
	n, err := drainFirstTable(t, p)
	if err == nil || !strings.Contains(err.Error(), "more than 1048576 rows") {
		t.Errorf("err %v after %d rows", err, n)
	}
}

func TestXLSXFormulaScanIsPositional(t *testing.T) {
	// Cells without r attributes, as some generators write them: positions
	// follow from order.
	p := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"a", "b", "c"}))
	})
	sheet := readPart(t, p, "xl/worksheets/sheet1.xml")
	sheet = strings.Replace(sheet, "</sheetData>",
		`<row><c t="inlineStr"><is><t>x</t></is></c><c><f>1+1</f><v>2</v></c></row>`+
			`<row r="4"><c r="C4"><f>2+2</f><v>4</v></c></row></sheetData>`, 1)
	rewriteZip(t, p, map[string]string{"xl/worksheets/sheet1.xml": sheet})
	b, rows := readAll(t, p, Options{})
	got := findDiag(allDiags(b, rows), "read.formula")
	if len(got) != 2 || got[0].Origin.String() != "Users!B2" || got[1].Origin.String() != "Users!C4" {
		t.Errorf("formula diags %v", got)
	}
}
