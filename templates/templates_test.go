package templates

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func demoSet(t testing.TB) *schemas.Set {
	t.Helper()
	set, err := schemas.LoadFS(os.DirFS("testdata"), "demo", "demo")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// writeTemplate renders set to a temp file.
func writeTemplate(t testing.TB, set *schemas.Set) string {
	t.Helper()
	b, err := Bytes(set)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "template.xlsx")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// typedRecord turns a template row back into a record the way a validator
// would: by the field's type, lists split on ';'.
func typedRecord(t *testing.T, k *schemas.Kind, header, cells []string) schemas.Record {
	t.Helper()
	rec := schemas.Record{}
	for i, h := range header {
		f := k.Field(h)
		if f == nil || cells[i] == "" {
			continue
		}
		conv := func(typ, s string) any {
			switch typ {
			case "integer", "number":
				return json.Number(s)
			case "boolean":
				return s == "true"
			}
			return s
		}
		if f.Type == "array" {
			var items []any
			for _, s := range strings.Split(cells[i], ";") {
				items = append(items, conv(f.Items, s))
			}
			rec.Set(h, items)
			continue
		}
		rec.Set(h, conv(f.Type, cells[i]))
	}
	return rec
}

func TestTemplateReadsBackCleanAndExamplesValidate(t *testing.T) {
	set := demoSet(t)
	p := writeTemplate(t, set)
	book, err := workbook.Open(p, workbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	if len(book.Diags) != 0 {
		t.Errorf("reading the template found: %v", book.Diags)
	}
	var names []string
	for _, tb := range book.Tables {
		names = append(names, tb.Name)
	}
	// Dependency order, read-only kinds left out, the long enum on Lists.
	if want := []string{"README", "Sites", "Teams", "People", "Lists"}; !slices.Equal(names, want) {
		t.Fatalf("sheets %v, want %v", names, want)
	}
	for _, tb := range book.Tables {
		rows, err := tb.Rows()
		if err != nil {
			t.Fatal(err)
		}
		var got []workbook.Row
		for rows.Next() {
			got = append(got, rows.Row())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		for _, r := range got {
			if len(r.Diags) != 0 {
				t.Errorf("%s row %d: %v", tb.Name, r.Num, r.Diags)
			}
		}
		if workbook.IsNotData(tb.Name) {
			continue
		}
		k := set.Kind(tb.Name)
		if k == nil {
			t.Fatalf("sheet %s maps to no kind", tb.Name)
		}
		if !slices.Equal(tb.Header, Columns(k)) {
			t.Errorf("%s header %v, want %v", tb.Name, tb.Header, Columns(k))
		}
		if len(got) != 1 || got[0].Num != 2 || got[0].Cells[0] != "upsert" {
			t.Fatalf("%s: want one example row at row 2, got %+v", tb.Name, got)
		}
		rec := typedRecord(t, k, tb.Header, got[0].Cells)
		if err := k.Schema.Validate(map[string]any(schemas.Normalize(rec).(map[string]any))); err != nil {
			t.Errorf("%s example %v does not validate: %v", tb.Name, rec, err)
		}
	}
}

func TestExamplesAreConsistentAndShaped(t *testing.T) {
	ex, err := Examples(demoSet(t))
	if err != nil {
		t.Fatal(err)
	}
	person, team, site := ex["person"], ex["team"], ex["site"]
	if team.String("site") != site.String("siteName") {
		t.Errorf("team.site %q does not name the example site %q", team.String("site"), site.String("siteName"))
	}
	if teams, _ := person.Get("teams"); schemas.Text(teams) != team.String("teamName") {
		t.Errorf("person.teams %v does not name the example team", teams)
	}
	if _, ok := team.Get("parentTeam"); ok {
		t.Errorf("a self-reference in the example makes a team its own parent")
	}
	for path, want := range map[string]string{
		"userId": "aberg", "name.first": "Anna", "name.last": "Berg", "personType": "staff",
		"extension": "1001", "mobile": "+46855512345", "emailAddress": "anna.berg@example.com",
	} {
		if got := person.String(path); got != want {
			t.Errorf("person.%s = %q, want %q", path, got, want)
		}
	}
	for _, absent := range []string{"pin", "createdAt", "priority"} {
		if _, ok := person.Get(absent); ok {
			t.Errorf("person.%s set in the example (secret, read-only or nothing specific to show)", absent)
		}
	}
}

// The examples are declared, not guessed: examples that break the
// schema's own conditions, or a reference that names another example than
// the one of its kind, are an error naming the kind.
func TestExampleMistakesAreErrors(t *testing.T) {
	for _, c := range []struct{ file, old, new, want string }{
		{"person.json", `"examples": ["staff"]`, `"examples": ["guest"]`, "kind person: the schema's examples do not make a valid record"},
		{"team.json", `"examples": ["Stockholm"]`, `"examples": ["Malmö"]`, `kind team: the example of site is "Malmö", but the example site is "Stockholm"`},
	} {
		dir := t.TempDir()
		mkdirAll(t, filepath.Join(dir, "demo"))
		for _, n := range []string{"site.json", "team.json", "device.json", "person.json"} {
			raw, err := os.ReadFile(filepath.Join("testdata", "demo", n))
			if err != nil {
				t.Fatal(err)
			}
			if n == c.file {
				if !bytes.Contains(raw, []byte(c.old)) {
					t.Fatalf("%s has no %s", n, c.old)
				}
				raw = bytes.Replace(raw, []byte(c.old), []byte(c.new), 1)
			}
			writeFile(t, filepath.Join(dir, "demo", n), raw)
		}
		set, err := schemas.LoadFS(os.DirFS(dir), "demo", "demo")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Examples(set); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: err %v, want %q", c.file, c.new, err, c.want)
		}
	}
}

func TestExampleImpossibleSchemaIsAnError(t *testing.T) {
	dir := t.TempDir()
	mkdirAll(t, filepath.Join(dir, "x"))
	writeFile(t, filepath.Join(dir, "x", "thing.json"), []byte(`{
  "x-key": ["code"], "type": "object", "required": ["code"],
  "properties": {"code": {"type": "string", "pattern": "^Q{7}$", "title": "Code", "description": "A code."}}}`))
	set, err := schemas.LoadFS(os.DirFS(dir), "x", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Examples(set); err == nil || !strings.Contains(err.Error(), "kind thing") {
		t.Errorf("err %v", err)
	}
}

func TestTemplateSheetDetails(t *testing.T) {
	set := demoSet(t)
	f, err := Build(set)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// Frozen header.
	panes, err := f.GetPanes("People")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v, %v", panes, err)
	}
	// Comments carry title, description, required and secret marks.
	comments, err := f.GetComments("People")
	if err != nil {
		t.Fatal(err)
	}
	byCell := map[string]string{}
	for _, c := range comments {
		var text strings.Builder
		for _, r := range c.Paragraph {
			text.WriteString(r.Text)
		}
		byCell[c.Cell] = text.String()
	}
	col := func(path string) string {
		i := slices.Index(Columns(set.Kind("person")), path)
		name, _ := excelize.ColumnNumberToName(i + 1)
		return name
	}
	for path, want := range map[string][]string{
		"userId":     {"User id", "Login.", "Required.", "key"},
		"pin":        {"PIN", "Secret"},
		"teams":      {"separate the items with ;", "Names a team"},
		"personType": {"Allowed: staff, guest"},
		"extension":  {"leading zeros", "<clear>"},
	} {
		got := byCell[col(path)+"1"]
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("comment on %s %q lacks %q", path, got, w)
			}
		}
	}
	// Header fills: required orange, secret grey, optional blue.
	for path, fill := range map[string]string{"userId": requiredFill, "pin": secretFill, "mobile": headerFill} {
		id, err := f.GetCellStyle("People", col(path)+"1")
		must(t, err)
		st, err := f.GetStyle(id)
		must(t, err)
		if len(st.Fill.Color) == 0 || !strings.EqualFold(st.Fill.Color[0], fill) || !st.Font.Bold {
			t.Errorf("%s header style %+v, want bold on %s", path, st.Fill, fill)
		}
	}
	// Number-like and text columns are Text (@), so Excel keeps 0042 and +46.
	for path, want := range map[string]int{"extension": 49, "mobile": 49, "userId": 49, "priority": 0, "active": 0} {
		id, err := f.GetColStyle("People", col(path))
		must(t, err)
		st, err := f.GetStyle(id)
		must(t, err)
		if st.NumFmt != want {
			t.Errorf("%s column number format %d, want %d", path, st.NumFmt, want)
		}
	}
	// Drop-downs: inline for short lists, a Lists range for the long one,
	// none for multi-value list columns.
	dvs, err := f.GetDataValidations("People")
	must(t, err)
	bySqref := map[string]string{}
	for _, dv := range dvs {
		bySqref[strings.Split(dv.Sqref, ":")[0]] = dv.Formula1
	}
	if got := bySqref["A2"]; !strings.Contains(got, "upsert,create,update,delete") {
		t.Errorf("action drop-down %q", got)
	}
	if got := bySqref[col("personType")+"2"]; !strings.Contains(got, "staff,guest") {
		t.Errorf("personType drop-down %q", got)
	}
	if got := bySqref[col("role")+"2"]; !strings.Contains(got, "Lists") {
		t.Errorf("role drop-down %q, want a Lists range", got)
	}
	if got := bySqref[col("active")+"2"]; !strings.Contains(got, "true,false") {
		t.Errorf("boolean drop-down %q", got)
	}
	if _, ok := bySqref[col("tags")+"2"]; ok {
		t.Errorf("a list column must not be limited to one value")
	}
	// README explains the conventions.
	rows, err := f.GetRows(ReadmeSheet)
	must(t, err)
	var readme strings.Builder
	for _, r := range rows {
		readme.WriteString(strings.Join(r, " ") + "\n")
	}
	for _, w := range []string{"upsert", "create", "update", "delete", Clear, "blank cell keeps", "separates the items with ;", "nameIdentity.firstName", "People: person, key userId", "teams names a team"} {
		if !strings.Contains(readme.String(), w) {
			t.Errorf("README lacks %q:\n%s", w, readme.String())
		}
	}
}

func TestTemplateIsDeterministic(t *testing.T) {
	a, err := Bytes(demoSet(t))
	must(t, err)
	b, err := Bytes(demoSet(t))
	must(t, err)
	if !bytes.Equal(a, b) {
		t.Errorf("two renders of the same schemas differ")
	}
}

func TestSheetName(t *testing.T) {
	for plural, want := range map[string]string{"users": "Users", "security_profiles": "Security Profiles", "number-series": "Number Series"} {
		if got := SheetName(&schemas.Kind{Plural: plural}); got != want {
			t.Errorf("SheetName(%s) = %q, want %q", plural, got, want)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mkdirAll(t testing.TB, dir string) { must(t, os.MkdirAll(dir, 0o700)) }

func writeFile(t testing.TB, p string, b []byte) { must(t, os.WriteFile(p, b, 0o600)) }

// The shipped adapter's template reads back clean and its examples
// validate, like the demo set's.
func TestMXONETemplate(t *testing.T) {
	set, err := schemas.Load("mxone")
	if err != nil {
		t.Fatal(err)
	}
	p := writeTemplate(t, set)
	book, err := workbook.Open(p, workbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	if len(book.Diags) != 0 {
		t.Errorf("reading the template found: %v", book.Diags)
	}
	checked := 0
	for _, tb := range book.Tables {
		if workbook.IsNotData(tb.Name) {
			continue
		}
		k := set.Kind(tb.Name)
		if k == nil || k.ReadOnly {
			t.Fatalf("sheet %s is no importable kind", tb.Name)
		}
		rows, err := tb.Rows()
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatalf("%s: no example row (%v)", tb.Name, rows.Err())
		}
		r := rows.Row()
		rows.Close()
		if len(r.Diags) != 0 {
			t.Errorf("%s example row: %v", tb.Name, r.Diags)
		}
		rec := typedRecord(t, k, tb.Header, r.Cells)
		if err := k.Schema.Validate(map[string]any(schemas.Normalize(rec).(map[string]any))); err != nil {
			t.Errorf("%s example does not validate: %v", tb.Name, err)
		}
		checked++
	}
	if kinds, _ := Kinds(set); checked != len(kinds) {
		t.Errorf("checked %d kind sheets, want %d", checked, len(kinds))
	}
}
