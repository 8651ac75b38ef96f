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

func TestCSVCellsOriginsAndPadding(t *testing.T) {
	p := writeFile(t, "users.csv", []byte("userId,firstName,lastName,extension\n"+
		"aberg,Anna,Berg,0042\n"+
		"bl,Björn\n"+ // short row: padded
		"\"c,x\",\"Carla \"\"C\"\"\",Nilsson,+4612\n"))
	b, rows := readAll(t, p, Options{})
	if len(b.Tables) != 1 || b.Tables[0].Name != "users" || b.Tables[0].HeaderRow != 1 {
		t.Fatalf("tables: %+v", b.Tables)
	}
	tb := b.Tables[0]
	if !slices.Equal(tb.Header, []string{"userId", "firstName", "lastName", "extension"}) {
		t.Errorf("header %q", tb.Header)
	}
	got := rows["users"]
	want := []Row{
		{Num: 2, Cells: []string{"aberg", "Anna", "Berg", "0042"}},
		{Num: 3, Cells: []string{"bl", "Björn", "", ""}},
		{Num: 4, Cells: []string{"c,x", `Carla "C"`, "Nilsson", "+4612"}},
	}
	if len(got) != len(want) {
		t.Fatalf("rows: %+v", got)
	}
	for i := range want {
		if got[i].Num != want[i].Num || !slices.Equal(got[i].Cells, want[i].Cells) || len(got[i].Diags) != 0 {
			t.Errorf("row %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if o := tb.Origin(7, 3).String(); o != "users.csv:7:D" {
		t.Errorf("origin %s", o)
	}
	if o := tb.Origin(7, -1).String(); o != "users.csv:7" {
		t.Errorf("row origin %s", o)
	}
	if tb.Column("LASTNAME") != 2 || tb.Column("nope") != -1 {
		t.Errorf("Column lookup wrong")
	}
	if len(b.Diags) != 0 {
		t.Errorf("diags on a clean file: %v", b.Diags)
	}
}

func TestCSVKindOptionNamesTheTable(t *testing.T) {
	p := writeFile(t, "export-2026.csv", []byte("userId\nx\n"))
	b, _ := readAll(t, p, Options{Kind: "user"})
	if b.Tables[0].Name != "user" {
		t.Errorf("name %q, want user", b.Tables[0].Name)
	}
}

func TestCSVBlankRows(t *testing.T) {
	p := writeFile(t, "users.csv", []byte("\n\nuserId,firstName\n"+ // header on line 3
		"a,A\n"+
		"\n"+ // line 5: blank line
		",\n"+ // line 6: blank record
		"b,\"two\nlines\"\n"+ // lines 7-8
		"c,C\n"+ // line 9: no gap after the multi-line cell
		" , \n"+ // line 10: spaces only
		"d,D\n"+
		"\n\n,\n")) // trailing blanks: silent
	b, rows := readAll(t, p, Options{})
	if hr := b.Tables[0].HeaderRow; hr != 3 {
		t.Errorf("HeaderRow %d, want 3", hr)
	}
	var nums []int
	for _, r := range rows["users"] {
		nums = append(nums, r.Num)
	}
	if !slices.Equal(nums, []int{4, 7, 9, 11}) {
		t.Errorf("row numbers %v, want [4 7 9 11]", nums)
	}
	blank := findDiag(allDiags(b, rows), "read.blank_row")
	if len(blank) != 2 {
		t.Fatalf("blank-row diags: %v", blank)
	}
	if blank[0].Origin.String() != "users.csv:5" || !strings.Contains(blank[0].Message, "rows 5 to 6") || blank[0].Severity != diag.Warning {
		t.Errorf("first blank run: %+v", blank[0])
	}
	if blank[1].Origin.String() != "users.csv:10" || !strings.Contains(blank[1].Message, "row 10 is blank") {
		t.Errorf("second blank run: %+v", blank[1])
	}
}

func TestCSVBOMAndDelimiter(t *testing.T) {
	p := writeFile(t, "users.csv", append([]byte{0xEF, 0xBB, 0xBF}, "userId;firstName;note\naberg;Anna;a,b\n"...))
	b, rows := readAll(t, p, Options{})
	if got := b.Tables[0].Header; !slices.Equal(got, []string{"userId", "firstName", "note"}) {
		t.Errorf("header %q (BOM must be gone, ';' split)", got)
	}
	if got := rows["users"][0].Cells; !slices.Equal(got, []string{"aberg", "Anna", "a,b"}) {
		t.Errorf("cells %q", got)
	}
	wantDiag(t, b.Diags, "read.bom", diag.Warning, "users.csv", "byte-order mark")
	wantDiag(t, b.Diags, "read.delimiter", diag.Warning, "users.csv", "';'", "CSV UTF-8")
}

func TestCSVTabDelimited(t *testing.T) {
	p := writeFile(t, "users.csv", []byte("userId\tfirstName\naberg\tAnna\n"))
	b, rows := readAll(t, p, Options{})
	if got := rows["users"][0].Cells; !slices.Equal(got, []string{"aberg", "Anna"}) {
		t.Errorf("cells %q", got)
	}
	wantDiag(t, b.Diags, "read.delimiter", diag.Warning, "users.csv", "tab")
}

func TestCSVWindows1252(t *testing.T) {
	// "Müller" and "Åsa" as Excel's plain "CSV (Comma delimited)" writes
	// them on a Western-European Windows.
	p := writeFile(t, "users.csv", []byte("userId,lastName\nmm,M\xfcller\nok,Plain\nas,\xc5sa\n"))
	b, rows := readAll(t, p, Options{})
	all := allDiags(b, rows)
	enc := findDiag(all, "read.encoding")
	if len(enc) != 2 {
		t.Fatalf("encoding diags: %v", all)
	}
	d := enc[0]
	if d.Severity != diag.Error || d.Origin.String() != "users.csv:2:B" || !strings.Contains(d.Message, `"Müller"`) ||
		!strings.Contains(d.Message, "Windows-1252") || !strings.Contains(d.Message, "CSV UTF-8") {
		t.Errorf("diag %+v", d)
	}
	if got := rows["users"][0].Cells[1]; got != "Müller" {
		t.Errorf("value %q, want the decoded Müller", got)
	}
	if len(rows["users"][1].Diags) != 0 {
		t.Errorf("clean row flagged: %v", rows["users"][1].Diags)
	}
}

func TestCSVSpaces(t *testing.T) {
	p := writeFile(t, "users.csv", []byte("userId,firstName,lastName\n"+
		" aberg ,Anna\u00a0Maria,Berg\n"+
		"b,\u200bBo,\u00a0\n"+
		"c,   ,C\n"))
	b, rows := readAll(t, p, Options{})
	rs := rows["users"]
	want := [][]string{{"aberg", "Anna Maria", "Berg"}, {"b", "Bo", ""}, {"c", "", "C"}}
	for i, w := range want {
		if !slices.Equal(rs[i].Cells, w) {
			t.Errorf("row %d: %q, want %q", i, rs[i].Cells, w)
		}
	}
	all := allDiags(b, rows)
	space := findDiag(all, "read.space")
	nbsp := findDiag(all, "read.nbsp")
	if len(space) != 2 || len(nbsp) != 3 {
		t.Fatalf("space %v\nnbsp %v", space, nbsp)
	}
	if space[0].Origin.String() != "users.csv:2:A" || space[0].Value != "aberg" || space[0].Field != "userId" || space[0].Severity != diag.Warning {
		t.Errorf("space diag %+v", space[0])
	}
	if !strings.Contains(space[1].Message, "only spaces") || space[1].Origin.String() != "users.csv:4:B" {
		t.Errorf("blank-cell diag %+v", space[1])
	}
	if nbsp[0].Origin.String() != "users.csv:2:B" || !strings.Contains(nbsp[0].Message, "non-breaking") {
		t.Errorf("nbsp diag %+v", nbsp[0])
	}
}

func TestCSVHeaderProblems(t *testing.T) {
	p := writeFile(t, "users.csv", []byte("userId,,firstName,UserID,\n"+
		"a,,A,x\n"+
		"b,oops,B,y,z,extra\n"))
	b, rows := readAll(t, p, Options{})
	tb := b.Tables[0]
	if !slices.Equal(tb.Header, []string{"userId", "", "firstName", "UserID"}) {
		t.Errorf("header %q (trailing blank header cells dropped)", tb.Header)
	}
	wantDiag(t, b.Diags, "read.header_blank", diag.Warning, "users.csv:1:B", "column B has no header")
	wantDiag(t, b.Diags, "read.header_duplicate", diag.Error, "users.csv:1:D", "users.csv:1:A", "users.csv:1:D")
	noHeader := findDiag(allDiags(b, rows), "read.no_header")
	var where []string
	for _, d := range noHeader {
		where = append(where, d.Origin.String())
	}
	if !slices.Equal(where, []string{"users.csv:3:B", "users.csv:3:E", "users.csv:3:F"}) {
		t.Errorf("no-header cells at %v", where)
	}
	if got := rows["users"][1].Cells; len(got) != 4 || got[1] != "" {
		t.Errorf("cells %q: must be header-length, nothing under a blank header", got)
	}
}

func TestCSVBareQuoteCostsOneRow(t *testing.T) {
	p := writeFile(t, "users.csv", []byte("userId,note\na,21\" screen\nb,fine\n"))
	b, rows := readAll(t, p, Options{})
	rs := rows["users"]
	if len(rs) != 2 || rs[1].Num != 3 || rs[1].Cells[1] != "fine" {
		t.Fatalf("rows %+v", rs)
	}
	wantDiag(t, allDiags(b, rows), "read.csv_quote", diag.Error, "users.csv:2:B", "quote")
}

func TestCSVUnclosedQuote(t *testing.T) {
	p := writeFile(t, "users.csv", []byte("userId,note\na,\"open\nb,x\nc,y\n"))
	b, rows := readAll(t, p, Options{})
	wantDiag(t, allDiags(b, rows), "read.csv_quote", diag.Error, "users.csv:2:B", "not closed")
}

func TestCSVCellTooLarge(t *testing.T) {
	p := writeFile(t, "users.csv", []byte("userId,note\na,"+strings.Repeat("x", 200)+"\nb,ok\n"))
	b, rows := readAll(t, p, Options{MaxCellSize: 100})
	d := wantDiag(t, allDiags(b, rows), "read.cell_too_large", diag.Error, "users.csv:2:B", "200 bytes", "100 bytes")
	if d.Value != "" {
		t.Errorf("a huge cell must not be copied into the message")
	}
	if rows["users"][0].Cells[1] != "" {
		t.Errorf("huge cell kept")
	}
}

func TestCSVWarningsAreCapped(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("userId,firstName\n")
	for i := range 150 {
		fmt.Fprintf(&sb, "u%d,Name \n", i)
	}
	p := writeFile(t, "users.csv", []byte(sb.String()))
	b, rows := readAll(t, p, Options{})
	space := findDiag(allDiags(b, rows), "read.space")
	if len(space) != maxListedWarnings+1 {
		t.Fatalf("%d space warnings, want %d listed plus one summary", len(space), maxListedWarnings)
	}
	last := space[len(space)-1]
	if !strings.Contains(last.Message, "not listed one by one") || last.Origin.String() != fmt.Sprintf("users.csv:%d:B", maxListedWarnings+2) {
		t.Errorf("summary %+v", last)
	}
	for _, r := range rows["users"] {
		if r.Cells[1] != "Name" {
			t.Fatalf("row %d not trimmed after the cap: %q", r.Num, r.Cells[1])
		}
	}
}

// A secret is read exactly as typed (a space may belong to a password), with
// a warning that never shows it; other cells are trimmed.
func TestCSVSecretColumnsAreMaskedAndKeptAsTyped(t *testing.T) {
	p := writeFile(t, "users.csv", []byte("userId,newPassword\n a ,\u00a0hunter2 \n"))
	opts := Options{Secret: func(table, header string) bool { return table == "users" && header == "newPassword" }}
	b, rows := readAll(t, p, opts)
	d := wantDiag(t, allDiags(b, rows), "read.secret_space", diag.Warning, "users.csv:2:B")
	if d.Value != "" || strings.Contains(d.Message, "hunter2") {
		t.Errorf("secret leaked: %+v", d)
	}
	if got := rows["users"][0].Cells; got[1] != "\u00a0hunter2 " || got[0] != "a" {
		t.Errorf("cells %q: want the secret as typed and the user id trimmed", got)
	}
}

func TestCSVDirectory(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"users.csv":       "userId\na\nb\n",
		"Extensions.CSV":  "extensionNumber\n1001\n",
		"notes.txt":       "hello",
		".DS_Store":       "x",
		"~$rollout.xlsx":  "lock",
		"sub/ignored.csv": "",
	} {
		p := filepath.Join(dir, name)
		if strings.Contains(name, "/") {
			mkdir(t, filepath.Dir(p))
		}
		writeAt(t, p, content)
	}
	b, rows := readAll(t, dir, Options{})
	var names []string
	for _, tb := range b.Tables {
		names = append(names, tb.Name)
	}
	if !slices.Equal(names, []string{"Extensions", "users"}) {
		t.Errorf("tables %v", names)
	}
	if len(rows["users"]) != 2 || rows["Extensions"][0].Cells[0] != "1001" {
		t.Errorf("rows %+v", rows)
	}
	ignored := findDiag(b.Diags, "read.ignored_file")
	if len(ignored) != 2 || !strings.Contains(ignored[0].Message, "notes.txt") || !strings.Contains(ignored[1].Message, "sub") {
		t.Errorf("ignored %v", ignored)
	}
	if o := b.Tables[1].Origin(2, 0).String(); o != "users.csv:2:A" {
		t.Errorf("origin %s", o)
	}
}

func TestTableDiagsSelectsOneTable(t *testing.T) {
	dir := t.TempDir()
	writeAt(t, filepath.Join(dir, "a.csv"), "x,,y\n1,,2\n")
	writeAt(t, filepath.Join(dir, "b.csv"), "x;y\n1;2\n")
	b, _ := readAll(t, dir, Options{})
	if got := b.TableDiags(b.Table("A")); len(got) != 1 || got[0].Code != "read.header_blank" {
		t.Errorf("a.csv diags %v", got)
	}
	if got := b.TableDiags(b.Table("b")); len(got) != 1 || got[0].Code != "read.delimiter" {
		t.Errorf("b.csv diags %v", got)
	}
}

func TestHeaderOnlyHasNoRows(t *testing.T) {
	csvPath := writeFile(t, "users.csv", []byte("userId,firstName\n\n\n"))
	xlsxPath := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A3", &[]any{"userId", "firstName"}))
	})
	for _, p := range []string{csvPath, xlsxPath} {
		b, rows := readAll(t, p, Options{})
		if len(b.Tables) != 1 || len(rows) != 0 || len(allDiags(b, rows)) != 0 {
			t.Errorf("%s: tables %d, rows %v, diags %v", filepath.Base(p), len(b.Tables), rows, allDiags(b, rows))
		}
	}
}
