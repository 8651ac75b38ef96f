package validate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// numberRow marks cells of an in-memory row as stored numbers.
func numberRow(tb *table, row int, cols ...int) *table {
	rows := tb.rows
	tb.rows = func() (rowIter, error) {
		it, _ := rows()
		m := it.(*memRows)
		for i := range m.rows {
			if m.rows[i].Num == row {
				m.rows[i].Numeric = make([]bool, len(tb.header))
				for _, c := range cols {
					m.rows[i].Numeric[c] = true
				}
			}
		}
		return m, nil
	}
	return tb
}

// A cell stored as a number in a digits-as-text column is an error
// whatever its neighbours hold (issue 15, item 1); --accept makes it a
// warning that says so, and the row is imported.
func TestNumberCellsAndAccept(t *testing.T) {
	users := func() *table {
		return numberRow(sheet("Users", "userId|firstName|lastName|pin|mobile", "anna|Anna|Berg|4242|46701234567", "bo|Bo|Ek|1234|+46701234568"), 2, 3, 4)
	}
	res, rows := run(t, Options{}, users())
	wantDiags(t, res.Diags, "error Users!D2 pin read.number_cell", "error Users!E2 mobile read.number_cell")
	if len(rows) != 1 {
		t.Errorf("the damaged row was emitted: %v", rows)
	}
	for _, d := range res.Diags {
		if strings.Contains(d.Message+d.Value, "4242") {
			t.Errorf("secret shown: %s", d.Message)
		}
	}
	res, rows = run(t, Options{Accept: []string{"read.number_cell"}}, users())
	wantDiags(t, res.Diags, "warning Users!D2 pin read.number_cell", "warning Users!E2 mobile read.number_cell")
	if len(rows) != 2 || !strings.Contains(res.Diags[0].Message, "accepted with --accept read.number_cell") {
		t.Errorf("accepted: %d rows, %v", len(rows), res.Diags)
	}
	if _, err := New(testSet(t), Options{Accept: []string{"schema.type"}}); err == nil || !strings.Contains(err.Error(), "read.number_cell") {
		t.Errorf("accepting a certain error: %v", err)
	}
}

// A sheet whose name is no kind is an error when it holds data rows, with
// a suggestion; an empty one stays a warning.
func TestUnknownSheets(t *testing.T) {
	res, _ := run(t, Options{}, sheet("Extentions", "extensionNumber|subsystemName", "1000|S1"), sheet("Rates", "x"))
	wantDiags(t, res.Diags, "error Extentions  read.unknown_sheet", "warning Rates  read.unknown_sheet")
	if !strings.Contains(res.Diags[0].Message, "did you mean extensions?") {
		t.Errorf("no suggestion: %s", res.Diags[0].Message)
	}
}

// Kept diagnostics are bounded per code and table; the rest are counted.
func TestDiagnosticsAreCapped(t *testing.T) {
	lines := []string{"userId|firstName|lastName|emailAddress"}
	for i := range 250 {
		lines = append(lines, fmt.Sprintf("u%d|A|B|not-an-address", i))
	}
	res, _ := run(t, Options{MaxDiags: 20}, sheet("Users", lines...))
	n, summary := 0, ""
	for _, d := range res.Diags {
		if d.Code == "domain.email" {
			n++
			if d.Row == 0 {
				summary = d.Message
			}
		}
	}
	if n != 21 || !strings.Contains(summary, "230 more cells") || !res.Diags.HasErrors() {
		t.Errorf("%d kept, summary %q", n, summary)
	}
	// Distinct dangling references are bounded the same way.
	lines = []string{"userId|firstName|lastName|departments"}
	for i := range 250 {
		lines = append(lines, fmt.Sprintf("u%d|A|B|dept %d", i, i))
	}
	res, _ = run(t, Options{MaxDiags: 20}, sheet("Users", lines...))
	refs := 0
	for _, d := range res.Diags {
		if d.Code == "ref.not_in_workbook" {
			refs++
			summary = d.Message
		}
	}
	if refs != 21 || !strings.Contains(summary, "230 more references, from here on, name departments") {
		t.Errorf("%d references listed, last %q", refs, summary)
	}
}

// A huge header cell gets no edit-distance work (it is damage, not a
// typo); a short typo still gets its suggestion.
func TestHeaderSuggestionsAreBounded(t *testing.T) {
	k := testSet(t).Kind("user")
	if got := nearestField(k, strings.Repeat("emailAddres", 1<<20)); got != "" {
		t.Errorf("suggested %q for a 11 MB header", got)
	}
	if got := nearestField(k, "emial"); got != "emailAddress" {
		t.Errorf("emial: %q", got)
	}
}

// Text output: the same warning on 60 cells of one column is one line
// with the count after the first cells; the result keeps every cell.
func TestTextSummarisesRepetition(t *testing.T) {
	var l diag.List
	for i := range 60 {
		l.Add(diag.Diagnostic{Severity: diag.Warning, Origin: diag.Origin{Sheet: "Users", Row: i + 2, Col: "I"}, Field: "securityProfile", Code: "schema.read_only", Message: "read-only"})
	}
	l.Add(diag.Diagnostic{Severity: diag.Error, Origin: diag.Origin{Sheet: "Users", Row: 30, Col: "A"}, Field: "userId", Code: "schema.required", Message: "missing"})
	l.Sort()
	var b strings.Builder
	if err := WriteText(&b, l, 60); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if got := strings.Count(out, "read-only [schema.read_only]"); got != repeatShown {
		t.Errorf("%d full lines, want %d:\n%s", got, repeatShown, out)
	}
	if !strings.Contains(out, "the same on 57 more cells of securityProfile: I5, I6, I7, I8, I9, … [schema.read_only]") || !strings.Contains(out, "A30     error    userId: missing") {
		t.Errorf("output:\n%s", out)
	}
}

// The template alone is not "filled": its example rows are no error
// there (issue 16 applies them to an empty simulator); among real rows they
// are (golden template_example_row).
func TestTemplateAloneIsValid(t *testing.T) {
	for _, a := range []string{"mxone", "sipx"} {
		v, err := New(schemas.MustLoad(a), Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := v.File(context.Background(), filepath.Join("../../templates", a+"-rollout-template.xlsx"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Diags) != 0 {
			t.Errorf("%s template: %v", a, res.Diags)
		}
	}
}

// Every x-rule a schema names exists, and an unknown one stops New.
func TestSchemaRulesAreKnown(t *testing.T) {
	for _, a := range schemas.Adapters() {
		if _, err := New(schemas.MustLoad(a), Options{}); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	raw := `{"x-key": ["id"], "type": "object", "properties": {"id": {"type": "string", "x-rule": "isbn", "title": "Id", "description": "Id."}}}`
	if err := os.WriteFile(filepath.Join(dir, "x", "thing.json"), []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := schemas.LoadFS(os.DirFS(dir), "x", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(set, Options{}); err == nil || !strings.Contains(err.Error(), `x-rule "isbn"`) {
		t.Errorf("unknown rule: %v", err)
	}
}

// No message shows a regular expression (issue 15, item 8): a value that
// breaks any field's pattern, on every platform, is explained with the
// field's description.
func TestNoRegexInMessages(t *testing.T) {
	for _, a := range schemas.Adapters() {
		for _, k := range schemas.MustLoad(a).Kinds {
			sp := &spec{kind: k, raw: decodeRaw(k)}
			for _, f := range k.Fields {
				if f.Pattern == "" || f.Type != "string" {
					continue
				}
				rec := schemas.Record{}
				rec.Set(f.Path, "!! not this !!")
				err := k.Schema.Validate(map[string]any(rec))
				var ve *jsonschema.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("%s.%s: %v", k.Name, f.Path, err)
				}
				for _, le := range leaves(ve) {
					for _, m := range sp.explain(le) {
						if m.code == "schema.pattern" && (strings.Contains(m.msg, f.Pattern) || !strings.Contains(m.msg, f.Description)) {
							t.Errorf("%s/%s.%s: %s", a, k.Name, f.Path, m.msg)
						}
					}
				}
			}
		}
	}
}
