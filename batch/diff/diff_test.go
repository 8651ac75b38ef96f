package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch/export"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func seed() *stub.Adapter {
	a := stub.New()
	a.Put("site", schemas.Record{"siteName": "Stockholm"})
	a.Put("person", schemas.Record{"userId": "jdoe", "email": "jdoe@old.example", "name": map[string]any{"first": "Jane"}, "pin": "1111"})
	a.Put("person", schemas.Record{"userId": "gone", "email": "gone@example.com"})
	a.Put("person", schemas.Record{"userId": "same", "email": "same@example.com", "groups": []any{"A", "B"}})
	a.Put("person", schemas.Record{"userId": "quoted", "name": map[string]any{"first": "'=not a formula", "last": "''"}})
	a.Put("phone", schemas.Record{"number": "0042", "site": "Stockholm", "owner": "jdoe", "label": "+46701234567"})
	return a
}

func exportTo(t *testing.T, a *stub.Adapter, format export.Format) string {
	t.Helper()
	c, err := a.Open(context.Background(), adapters.Target{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out := t.TempDir()
	if format == export.XLSX {
		out = filepath.Join(out, "inv.xlsx")
	}
	if _, err := export.Run(context.Background(), c, a.Kinds(), export.Options{Format: format, Out: out, Target: "lab", TmpDir: t.TempDir(), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return out
}

// recorder keeps what a sink receives.
type recorder struct {
	changes []*Change
	kinds   []string
}

func (r *recorder) BeginKind(k *schemas.Kind, _ []string) error {
	r.kinds = append(r.kinds, k.Name)
	return nil
}
func (r *recorder) Change(c *Change) error     { r.changes = append(r.changes, c); return nil }
func (r *recorder) EndKind(*KindSummary) error { return nil }
func (r *recorder) Finish(*Summary) error      { return nil }

func drift(a *stub.Adapter) {
	a.Put("person", schemas.Record{"userId": "jdoe", "email": "jdoe@example.com", "name": map[string]any{"first": "Jane"}, "pin": "2222"})
	a.Put("person", schemas.Record{"userId": "new", "email": "=cmd()"})
	a.Put("phone", schemas.Record{"number": "0042", "site": "Stockholm", "owner": "new", "label": "+46701234567"})
}

func TestCompareExports(t *testing.T) {
	for _, format := range []export.Format{export.CSV, export.XLSX} {
		t.Run(string(format), func(t *testing.T) {
			a := seed()
			before := exportTo(t, a, format)
			same := exportTo(t, a, format)
			drift(a)
			// "gone" is removed by re-seeding without it.
			b := stub.New()
			for kind, recs := range a.Dump() {
				for _, r := range recs {
					if r.String("userId") != "gone" {
						b.Put(kind, r)
					}
				}
			}
			after := exportTo(t, b, format)
			set := a.Kinds()

			rec := &recorder{}
			s, err := Compare(context.Background(), before, same, set, Options{TmpDir: t.TempDir()}, rec)
			if err != nil {
				t.Fatal(err)
			}
			if !s.Identical() || len(rec.changes) != 0 {
				t.Fatalf("two exports of one inventory differ: %+v", rec.changes)
			}

			rec = &recorder{}
			s, err = Compare(context.Background(), before, after, set, Options{TmpDir: t.TempDir()}, rec)
			if err != nil {
				t.Fatal(err)
			}
			if s.Identical() {
				t.Fatal("drift not found")
			}
			var got []string
			for _, c := range rec.changes {
				line := c.Kind + " " + string(c.Type) + " " + c.Key
				for _, f := range c.Fields {
					line += " " + f.Field + ":" + f.Before + "→" + f.After
				}
				got = append(got, line)
			}
			want := []string{
				"person removed gone",
				"person changed jdoe email:jdoe@old.example→jdoe@example.com",
				"person added new",
				"phone changed 0042 / Stockholm owner:jdoe→new",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			p := s.Kinds[2]
			if p.Kind != "person" || p.Added != 1 || p.Removed != 1 || p.Changed != 1 || p.Unchanged != 2 {
				t.Errorf("person summary %+v", p)
			}
			if len(p.NotCompared) != 0 {
				t.Errorf("not compared %v, want none (secrets are skipped silently)", p.NotCompared)
			}
			for _, c := range rec.changes {
				if c.Type == Added && c.Key == "new" && c.New[3] != "=cmd()" {
					t.Errorf("added row email %q, want the value unescaped", c.New[3])
				}
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	a := seed()
	before := exportTo(t, a, export.CSV)
	drift(a)
	after := exportTo(t, a, export.XLSX) // formats may differ

	var text bytes.Buffer
	s, err := Compare(context.Background(), before, after, a.Kinds(), Options{}, NewText(&text))
	if err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, want := range []string{
		"people\n  ~ jdoe  (old people.csv:3, new people!3)\n      email: \"jdoe@old.example\" → \"jdoe@example.com\"\n",
		"  + new  (new people!4)\n",
		"person     1 added, 1 changed, 3 unchanged\n", // a CSV and an xlsx export of "'=x" agree
		"Differences: 1 added, 0 removed, 2 changed.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"1111", "2222"} {
		if strings.Contains(out, secret) {
			t.Errorf("text output shows a PIN")
		}
	}
	if s.Identical() {
		t.Error("identical")
	}

	var js bytes.Buffer
	if _, err := Compare(context.Background(), before, after, a.Kinds(), Options{}, NewJSON(&js)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Changes   []Change `json:"changes"`
		Summary   Summary  `json:"summary"`
		Identical bool     `json:"identical"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	if doc.Identical || len(doc.Changes) != 3 || doc.Changes[0].Fields[0].After != "jdoe@example.com" || doc.Summary.Adapter != "stub" {
		t.Errorf("json: %s", js.String())
	}

	path := filepath.Join(t.TempDir(), "diff.xlsx")
	x, err := NewXLSX(path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := Compare(context.Background(), before, after, a.Kinds(), Options{}, x); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The summary first; only the kinds that differ.
	if got := strings.Join(f.GetSheetList(), ","); got != "_summary,people,phones" {
		t.Errorf("sheets %s", got)
	}
	rows, _ := f.GetRows("people")
	want := [][]string{
		{"change", "userId", "field", "old", "new", "old at", "new at"},
		{"changed", "jdoe", "email", "jdoe@old.example", "jdoe@example.com", "people.csv:3", "people!3"},
		{"added", "new", "email", "", "=cmd()", "", "people!4"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("people sheet\n%v\nwant\n%v", rows, want)
	}
	if p, _ := f.GetPanes("people"); !p.Freeze || p.XSplit != 2 {
		t.Errorf("panes %+v: the change and key should stay in view", p)
	}
	id, _ := f.GetCellStyle("people", "E2")
	st, _ := f.GetStyle(id)
	if len(st.Fill.Color) == 0 {
		t.Error("changed cell not highlighted")
	}
	sum, _ := f.GetRows("_summary")
	if strings.Join(sum[0], "|") != "kind|added|removed|changed|unchanged|not compared" || strings.Join(sum[1], "|") != "person|1|0|1|3" {
		t.Errorf("summary %v", sum)
	}
	if typ, _ := f.GetCellType("_summary", "B2"); typ == excelize.CellTypeInlineString {
		t.Error("summary counts are text, want numbers")
	}
	if v, _ := f.GetCellValue("_summary", "A1"); v != "kind" {
		t.Errorf("summary A1 %q", v)
	}
	lay, _ := f.GetPageLayout("people")
	if lay.FitToWidth == nil || *lay.FitToWidth != 1 || lay.Orientation == nil || *lay.Orientation != "landscape" {
		t.Errorf("people prints %+v, want landscape, one page wide", lay)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("diff workbook mode %v, want 0600", fi.Mode().Perm())
	}
}

// Rollout workbooks hold secrets (exports never do): no output of diff
// shows one, whatever the format.
func TestSecretsNeverLeaveMasked(t *testing.T) {
	a := seed()
	dir := t.TempDir()
	old := filepath.Join(dir, "old.csv")
	neu := filepath.Join(dir, "new")
	os.Mkdir(neu, 0o755)
	os.WriteFile(old, []byte("userId,email,pin\njdoe,j@example.com,48151623\nleaver,l@example.com,42424242\n"), 0o644)
	os.WriteFile(filepath.Join(neu, "people.csv"), []byte("userId,email,pin\njdoe,jdoe@example.com,11235813\nnewbie,n@example.com,31415926\n"), 0o644)
	oldDir := filepath.Join(dir, "olddir")
	os.Mkdir(oldDir, 0o755)
	os.Rename(old, filepath.Join(oldDir, "people.csv"))
	secrets := []string{"48151623", "42424242", "11235813", "31415926"}

	var text, js bytes.Buffer
	for _, sink := range []Sink{NewText(&text), NewJSON(&js)} {
		if _, err := Compare(context.Background(), oldDir, neu, a.Kinds(), Options{TmpDir: t.TempDir()}, sink); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	if _, err := Compare(context.Background(), oldDir, neu, a.Kinds(), Options{TmpDir: t.TempDir()}, rec); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "diff.xlsx")
	x, err := NewXLSX(path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := Compare(context.Background(), oldDir, neu, a.Kinds(), Options{TmpDir: t.TempDir()}, x); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sunk strings.Builder // every row any sink is given
	for _, c := range rec.changes {
		fmt.Fprintln(&sunk, *c)
	}
	var book strings.Builder
	for _, sh := range f.GetSheetList() {
		rows, _ := f.GetRows(sh)
		fmt.Fprintln(&book, rows)
	}
	for name, out := range map[string]string{"text": text.String(), "json": js.String(), "xlsx": book.String(), "sink": sunk.String()} {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output shows the secret %s:\n%s", name, s, out)
			}
		}
	}
	if !strings.Contains(book.String(), "newbie") || !strings.Contains(book.String(), "leaver") {
		t.Errorf("the diff workbook lacks the added and removed people:\n%s", book.String())
	}
}

func TestAdapterDetection(t *testing.T) {
	a := seed()
	e := exportTo(t, a, export.CSV)
	if got, err := Adapter(e, e, ""); err != nil || got != "stub" {
		t.Errorf("Adapter = %q, %v", got, err)
	}
	if _, err := Adapter(e, e, "mxone"); err == nil {
		t.Error("no error for a mismatching --adapter")
	}
	plain := t.TempDir()
	if _, err := Adapter(plain, plain, ""); err == nil || !strings.Contains(err.Error(), "--adapter") {
		t.Errorf("plain workbooks: %v", err)
	}
}

// A workbook whose headers are field titles (which import accepts) compares
// by the same columns as one whose headers are field paths: a change under a
// title header is seen, not skipped as a column the other side lacks.
func TestTitleHeadersCompareLikePaths(t *testing.T) {
	a := seed()
	before := exportTo(t, a, export.CSV)
	titled := t.TempDir()
	k := a.Kinds().Kind("person")
	entries, err := os.ReadDir(before)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(before, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "people.csv" {
			header, rest, _ := strings.Cut(string(b), "\n")
			header = strings.Replace(header, "email", k.Field("email").Title, 1)
			rest = strings.Replace(rest, "jdoe@old.example", "jdoe@new.example", 1)
			b = []byte(header + "\n" + rest)
		}
		if err := os.WriteFile(filepath.Join(titled, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	s, err := Compare(context.Background(), before, titled, a.Kinds(), Options{TmpDir: t.TempDir()}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.changes) != 1 || s.Identical() {
		t.Fatalf("want the one e-mail change, got %d changes", len(rec.changes))
	}
	if got := fmt.Sprint(rec.changes[0]); !strings.Contains(got, "jdoe@new.example") {
		t.Errorf("change %s, want jdoe's new e-mail", got)
	}
}
