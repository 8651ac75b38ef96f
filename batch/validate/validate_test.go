package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func testSet(t testing.TB) *schemas.Set {
	t.Helper()
	set, err := schemas.LoadFS(os.DirFS("testdata/schemas"), "mxone", "mxone")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func colName(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// sheet builds an in-memory table: the first line is the header, the rest
// are rows 2, 3, …; cells are separated by "|".
func sheet(name string, lines ...string) *table {
	var rows []workbook.Row
	hdr := strings.Split(lines[0], "|")
	for i, l := range lines[1:] {
		cells := strings.Split(l, "|")
		for len(cells) < len(hdr) {
			cells = append(cells, "")
		}
		rows = append(rows, workbook.Row{Num: i + 2, Cells: cells})
	}
	return &table{
		name: name, sheet: name, header: hdr, headerRow: 1,
		origin: func(row, col int) diag.Origin {
			o := diag.Origin{Sheet: name, Row: row}
			if col >= 0 {
				o.Col = colName(col)
			}
			return o
		},
		rows: func() (rowIter, error) { return &memRows{rows: rows, i: -1}, nil },
	}
}

type memRows struct {
	rows []workbook.Row
	i    int
}

func (m *memRows) Next() bool        { m.i++; return m.i < len(m.rows) }
func (m *memRows) Row() workbook.Row { return m.rows[m.i] }
func (m *memRows) Err() error        { return nil }
func (m *memRows) Close() error      { return nil }

func run(t *testing.T, opts Options, tables ...*table) (*Result, []batch.Row) {
	t.Helper()
	return runWith(t, testSet(t), opts, tables...)
}

// runWith validates tables against the kinds of set.
func runWith(t *testing.T, set *schemas.Set, opts Options, tables ...*table) (*Result, []batch.Row) {
	t.Helper()
	v, err := New(set, opts)
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{Kinds: map[string]int{}}
	var rows []batch.Row
	if err := v.tables(context.Background(), tables, res, func(r batch.Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	res.Diags.Sort()
	return res, rows
}

// lines renders diagnostics as "Users!D3 field code" for compact asserts.
func lines(l diag.List) []string {
	var out []string
	for _, d := range l {
		out = append(out, fmt.Sprintf("%s %s %s %s", d.Severity, d.Origin, d.Field, d.Code))
	}
	return out
}

func wantDiags(t *testing.T, got diag.List, want ...string) {
	t.Helper()
	g := lines(got)
	if !slices.Equal(g, want) {
		t.Errorf("diagnostics:\n got %s\nwant %s\nfull:\n%s", strings.Join(g, "\n     "), strings.Join(want, "\n     "), dump(got))
	}
}

func dump(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		fmt.Fprintf(&b, "  %s [value %q]\n", d.Error(), d.Value)
	}
	return b.String()
}

const userHdr = "userId|firstName|lastName|emailAddress|language|mobile|pin|active|seats|departments|action"

func TestValidRowsConvertAndEmit(t *testing.T) {
	res, rows := run(t, Options{},
		sheet("Locations", "locationName", "Stockholm"),
		sheet("Departments", "departmentName|location|parentDepartment", "Sales|Stockholm|", "Nordic|Stockholm|Sales"),
		sheet("Users", userHdr,
			"anna|Anna|Berg|anna@example.com|SV|+46701234567|0123|Yes|2.0|Sales; Nordic;|",
			"bo|Bo||<clear>||||n|||update",
			"cy||||||||||DELETE"),
	)
	wantDiags(t, res.Diags)
	if res.Rows != 6 || res.Kinds["user"] != 3 {
		t.Errorf("rows %d kinds %v", res.Rows, res.Kinds)
	}
	if len(rows) != 6 {
		t.Fatalf("want every valid row emitted, got %d", len(rows))
	}
	anna, bo, cy := rows[3], rows[4], rows[5]
	want := schemas.Record{"userId": "anna", "firstName": "Anna", "lastName": "Berg", "emailAddress": "anna@example.com",
		"language": "sv", "mobile": "+46701234567", "pin": "0123", "active": true, "seats": json.Number("2"),
		"departments": []any{"Sales", "Nordic"}}
	if !anna.Set.Equal(want) || anna.Action != batch.Upsert {
		t.Errorf("anna: %v %#v", anna.Action, anna.Set)
	}
	if got := anna.Cells["seats"].String(); got != "Users!I2" {
		t.Errorf("seats cell %s", got)
	}
	if bo.Action != batch.UpdateRow || !slices.Equal(bo.Clear, []string{"emailAddress"}) || !bo.Set.Equal(schemas.Record{"userId": "bo", "firstName": "Bo", "active": false}) {
		t.Errorf("bo: %v %v %#v", bo.Action, bo.Clear, bo.Set)
	}
	if cy.Action != batch.DeleteRow || !cy.Set.Equal(schemas.Record{"userId": "cy"}) || cy.Origin.String() != "Users!4" {
		t.Errorf("cy: %v %#v %s", cy.Action, cy.Set, cy.Origin)
	}
}

func TestRowErrorsAreAllCollectedAtTheirCells(t *testing.T) {
	res, rows := run(t, Options{},
		sheet("Users", userHdr,
			"x|A|B|not-an-email|fr|46701234567|12|maybe|abc|Ghost|",
			"y||B||||||||",
			"y|A|B||||||||frob",
			"z|A|B|||4.6E+10|||11||",
			"w|A|B|||46701234567.0|||||",
			"v|A|B|||2026-01-02|||||",
			"u|A|B|||||||Ghost|",
		),
	)
	wantDiags(t, res.Diags,
		"error Users!D2 emailAddress domain.email",
		"error Users!E2 language schema.enum",
		"warning Users!F2 mobile read.lost_plus",
		"error Users!G2 pin schema.pattern",
		"error Users!H2 active schema.type",
		"error Users!I2 seats schema.type",
		"warning Users!J2 departments ref.not_in_workbook",
		"error Users!B3 firstName schema.required",
		"error Users!A4 userId key.duplicate",
		"error Users!K4 action schema.action",
		"error Users!F5 mobile read.scientific",
		"error Users!I5 seats schema.maximum",
		"error Users!F6 mobile read.float_tail",
		"error Users!F7 mobile read.date",
	)
	if len(rows) != 1 || rows[0].Set.String("userId") != "u" {
		t.Errorf("only the valid row u should be emitted, got %v", rows)
	}
	for _, d := range res.Diags {
		switch d.Code {
		case "schema.pattern":
			if d.Value != schemas.Mask || strings.Contains(d.Message, "12") {
				t.Errorf("secret PIN leaked: %+v", d)
			}
		case "ref.not_in_workbook":
			if !strings.Contains(d.Message, `department "Ghost"`) || !strings.Contains(d.Message, "1 more row") {
				t.Errorf("ref message should name the key and count the other row: %s", d.Message)
			}
		case "key.duplicate":
			if !strings.Contains(d.Message, "Users!A3") {
				t.Errorf("duplicate should name the first cell: %s", d.Message)
			}
		case "read.float_tail":
			if !strings.Contains(d.Message, `write "46701234567"`) {
				t.Errorf("float tail should suggest the fix: %s", d.Message)
			}
		case "schema.required":
			if !strings.Contains(d.Message, "firstName (First name) is required") {
				t.Errorf("required: %s", d.Message)
			}
		}
	}
}

func TestUpdateRowsNeedOnlyTheKey(t *testing.T) {
	res, rows := run(t, Options{},
		sheet("Users", "userId|lastName|action", "a|X|update", "|X|update", "b||delete", "c|<clear>|update"))
	wantDiags(t, res.Diags,
		"error Users!A3 userId schema.required",
		"error Users!B5 lastName schema.clear_required",
	)
	if len(rows) != 2 {
		t.Errorf("rows a and b should pass, got %d", len(rows))
	}
}

func TestHeaderProblems(t *testing.T) {
	res, _ := run(t, Options{},
		sheet("Users", "userId|First Name|lastname|emial|#notes|User ID|userId", "a|A|B|x|note|a|a"),
		sheet("Departments", "location|parentDepartment", "S|"),
		sheet("Locations", "description", ""),
		sheet("Rates", "x", "1"),
		sheet("phone types", "name", "x"),
		sheet("README", "How to fill this workbook", "…"),
		sheet("_metadata", "adapter", "mxone"),
	)
	wantDiags(t, res.Diags,
		"error Departments!1 departmentName header.missing_column",
		"error Locations!1 locationName header.missing_column",
		"error Rates  read.unknown_sheet",
		"error Users!D1  header.unknown_column",
		"error Users!F1 userId header.duplicate_column",
		"warning phone types  read.readonly_sheet",
	)
	for _, d := range res.Diags {
		if d.Code == "header.unknown_column" && !strings.Contains(d.Message, `did you mean "emailAddress"`) {
			t.Errorf("want a suggestion: %s", d.Message)
		}
		if d.Code == "header.duplicate_column" && !strings.Contains(d.Message, "Users!A1") {
			t.Errorf("want the first cell named: %s", d.Message)
		}
	}

	// A missing required (non-key) column matters only when rows create.
	res, _ = run(t, Options{}, sheet("Users", "userId|firstName|action", "a|A|update"))
	wantDiags(t, res.Diags)
	res, _ = run(t, Options{}, sheet("Users", "userId|firstName", "a|A", "b|B"))
	wantDiags(t, res.Diags, "error Users!1 lastName header.missing_column")
}

func TestExtensionsTypeRulesAndMAC(t *testing.T) {
	res, rows := run(t, Options{},
		sheet("Extensions", "extensionNumber|subsystemName|extensionType|owner|macAddress|mobileNumber",
			"1001|S1|ip|anna|00-11-22-aa-bb-cc|",
			"1002|S1|virtual||0011.22aa.bbcc|",
			"1003|S1|mobile|||",
			"12345678901|S1|virtual|||",
			"10a|S1|virtual|||",
			"1004|S1|ip||00:11:22:zz:bb:cc|",
			"1001|S2|ip||001122AABBCC|",
			"1001|S1|virtual|||",
		),
		sheet("Users", "userId|firstName|lastName", "anna|Anna|Berg"),
	)
	wantDiags(t, res.Diags,
		"error Extensions!E3 macAddress schema.not_allowed",
		"error Extensions!F4 mobileNumber schema.required",
		"error Extensions!A5 extensionNumber domain.digits",
		"error Extensions!A6 extensionNumber domain.digits",
		"error Extensions!E7 macAddress domain.mac",
		"error Extensions!A9 extensionNumber key.duplicate",
	)
	for _, d := range res.Diags {
		if d.Code == "schema.not_allowed" && !strings.Contains(d.Message, "when extensionType is not ip") {
			t.Errorf("want the condition explained: %s", d.Message)
		}
		if d.Code == "schema.required" && !strings.Contains(d.Message, "when extensionType is mobile") {
			t.Errorf("want the condition explained: %s", d.Message)
		}
	}
	// Users come first: kinds are checked (and rows emitted) in dependency order.
	if len(rows) != 3 || rows[0].Kind != "user" || rows[1].Set.String("macAddress") != "001122AABBCC" || rows[2].Set.String("subsystemName") != "S2" {
		t.Errorf("MAC not normalised or rows missing: %v", rows)
	}
}

func TestDepartmentOwnAncestor(t *testing.T) {
	res, _ := run(t, Options{},
		sheet("Locations", "locationName", "S"),
		sheet("Departments", "departmentName|location|parentDepartment",
			"A|S|B", "B|S|A", "C|S|C", "D|S|A", "E|S|"))
	wantDiags(t, res.Diags,
		"error Departments!C2 parentDepartment ref.cycle",
		"error Departments!C3 parentDepartment ref.cycle",
		"error Departments!C4 parentDepartment ref.cycle",
	)
	if m := res.Diags[0].Message; !strings.Contains(m, "A (row 2) → B (row 3) → A") {
		t.Errorf("cycle should name its rows: %s", m)
	}
}

func TestLostLeadingZero(t *testing.T) {
	res, _ := run(t, Options{},
		sheet("Extensions", "extensionNumber|subsystemName|extensionType",
			"0101|S|virtual", "0102|S|virtual", "0103|S|virtual", "104|S|virtual", "2000|S|virtual"))
	wantDiags(t, res.Diags, "warning Extensions!A5 extensionNumber read.lost_leading_zero")
	if m := res.Diags[0].Message; !strings.Contains(m, `write "0104"`) || !strings.Contains(m, "Extensions!A2") {
		t.Errorf("message should suggest the fix and an example: %s", m)
	}
	// A column that mixes lengths with one zero-led value stays quiet.
	res, _ = run(t, Options{},
		sheet("Extensions", "extensionNumber|subsystemName|extensionType",
			"0101|S|virtual", "104|S|virtual", "105|S|virtual"))
	wantDiags(t, res.Diags)
}

func TestKindOption(t *testing.T) {
	// A single table named after no kind takes --kind; references to kinds
	// that were not read are not judged.
	res, rows := run(t, Options{Kind: "users"}, sheet("export", "userId|firstName|lastName|departments", "a|A|B|Ghost"))
	wantDiags(t, res.Diags)
	if len(rows) != 1 || rows[0].Kind != "user" {
		t.Errorf("rows %v", rows)
	}
	if _, err := New(testSet(t), Options{Kind: "phones"}); err == nil || !strings.Contains(err.Error(), "known kinds: department, extension, location, user") {
		t.Errorf("unknown --kind should list the kinds: %v", err)
	}
}

func TestNormalizeMAC(t *testing.T) {
	for in, want := range map[string]string{
		"00:11:22:aa:bb:cc": "001122AABBCC", "00-11-22-AA-BB-CC": "001122AABBCC",
		"0011.22aa.bbcc": "001122AABBCC", "001122aabbcc": "001122AABBCC",
		"00:11-22:aa:bb:cc": "", "0011.22aa.bbc": "", "00112233445": "", "00:11:22:aa:bb:cg": "",
		"00:11:222:33:4:55": "", "00-11-22-33-4-555": "",
	} {
		got, ok := NormalizeMAC(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeMAC(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestEmail(t *testing.T) {
	for in, ok := range map[string]bool{
		"a@example.com": true, "a.b+c@mail.example.se": true,
		"a@localhost": false, "Anna <a@example.com>": false, "a@": false, "a@example..com": false, "@example.com": false,
	} {
		if err := checkEmail(in); (err == nil) != ok {
			t.Errorf("checkEmail(%q) = %v", in, err)
		}
	}
}

func TestContinuationSheetsKeepTheirKind(t *testing.T) {
	res, rows := run(t, Options{},
		sheet("Locations", "locationName", "A", "B"),
		sheet("Locations (2)", "locationName", "C", "A"))
	wantDiags(t, res.Diags, "error Locations (2)!A3 locationName key.duplicate")
	if len(rows) != 3 || res.Kinds["location"] != 4 {
		t.Errorf("rows %v kinds %v", rows, res.Kinds)
	}
}
