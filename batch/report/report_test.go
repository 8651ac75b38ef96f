package report

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

const pin = "98765432" // long enough not to turn up in a temp path by chance

// inputBook writes the user's workbook: two kinds and a notes sheet.
func inputBook(t *testing.T) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", "people")
	for i, row := range [][]any{
		{"userId", "email", "pin", "groups"},
		{"jdoe", "jdoe@example.com", pin, "Sales"},
		{"bad", "not-an-address", pin, ""},
		{"child", "c@example.com", "", "=SUM(1)"},
	} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow("people", cell, &row)
	}
	f.NewSheet("phones")
	for i, row := range [][]any{{"site", "owner", "number"}, {"Stockholm", "", "0042"}, {"Stockholm", "", "1001"}, {"Stockholm", "bad", "1002"}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow("phones", cell, &row)
	}
	f.NewSheet("Notes")
	f.SetSheetRow("Notes", "A1", &[]any{"note"})
	f.SetSheetRow("Notes", "A2", &[]any{"call Bob first"})
	// A template's README and an export's metadata are not data: the
	// reports leave them out.
	f.NewSheet("README")
	f.SetSheetRow("README", "A1", &[]any{"pbxbatch rollout template: stub"})
	f.NewSheet("_metadata")
	f.SetSheetRow("_metadata", "A1", &[]any{"field", "value"})
	path := filepath.Join(t.TempDir(), "rollout.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func origin(path, sh string, row int) diag.Origin {
	return diag.Origin{File: path, Sheet: sh, Row: row}
}

var t0 = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

func scenario(path string) Input {
	ops := []*batch.Op{
		{ID: 0, Kind: "person", Key: "jdoe", Action: batch.OpCreate, Origin: origin(path, "people", 2)},
		{ID: 1, Kind: "person", Key: "bad", Action: batch.OpCreate, Origin: origin(path, "people", 3)},
		{ID: 2, Kind: "person", Key: "child", Action: batch.OpUpdate, Origin: origin(path, "people", 4), Needs: []int{1}},
		{ID: 3, Kind: "phone", Key: "0042 / Stockholm", Action: batch.OpNoop, Origin: origin(path, "phones", 2)},
		{ID: 4, Kind: "phone", Key: "1001 / Stockholm", Action: batch.OpCreate, Origin: origin(path, "phones", 3)},
		{ID: 5, Kind: "phone", Key: "1002 / Stockholm", Action: batch.OpBlocked, Origin: origin(path, "phones", 4), Reason: `blocked by person "bad" (people!3)`},
	}
	one := 1
	results := []batch.Result{
		{Op: 0, Status: batch.StatusSucceeded, TargetID: "person-1", StartedAt: t0, FinishedAt: t0.Add(20 * time.Millisecond)},
		{Op: 1, Status: batch.StatusFailed, Message: "permanent (HTTP 400): create person bad: POST /people: email: not a valid address (PIN " + pin + " was not checked)", Attempts: 1, StartedAt: t0, FinishedAt: t0.Add(40 * time.Millisecond)},
		{Op: 2, Status: batch.StatusBlocked, Message: "blocked by people!3", BlockedBy: &one, FinishedAt: t0.Add(41 * time.Millisecond)},
		{Op: 3, Status: batch.StatusNoop},
		{Op: 4, Status: batch.StatusSucceeded, TargetID: "phone-9", StartedAt: t0, FinishedAt: t0.Add(10 * time.Millisecond)},
	}
	return Input{
		RunID: "20261122-020000-ab12", Started: t0, Finished: t0.Add(2 * time.Second),
		Plan:    &batch.Plan{Adapter: "stub", Target: "lab", Input: path, Ops: ops},
		Results: results, Kinds: schemas.MustLoad("stub"),
	}
}

func open(t *testing.T, path string) *excelize.File {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// everything returns every cell and note of a workbook, for secret checks.
func everything(t *testing.T, f *excelize.File) string {
	var b strings.Builder
	for _, sh := range f.GetSheetList() {
		rows, _ := f.GetRows(sh)
		for _, r := range rows {
			b.WriteString(strings.Join(r, "|") + "\n")
		}
		cms, _ := f.GetComments(sh)
		for _, c := range cms {
			for _, p := range c.Paragraph {
				b.WriteString(p.Text + "\n")
			}
		}
	}
	return b.String()
}

func fill(f *excelize.File, sh, cell string) string {
	id, _ := f.GetCellStyle(sh, cell)
	st, _ := f.GetStyle(id)
	if st == nil || len(st.Fill.Color) == 0 {
		return ""
	}
	return st.Fill.Color[0]
}

func note(f *excelize.File, sh, cell string) string {
	cms, _ := f.GetComments(sh)
	for _, c := range cms {
		if c.Cell == cell && len(c.Paragraph) > 0 {
			return c.Paragraph[0].Text
		}
	}
	return ""
}

func TestResultsWorkbook(t *testing.T) {
	dir := t.TempDir()
	in := scenario(inputBook(t))
	in.Next = []string{"pbxbatch resume 20261122-020000-ab12 --state-dir /x"}
	if _, err := Write(dir, in); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ResultsFile)
	f := open(t, path)
	if got := strings.Join(f.GetSheetList(), ","); got != "_summary,people,phones,Notes" {
		t.Fatalf("sheets %s, want the summary first and no README or _metadata", got)
	}
	people, _ := f.GetRows("people")
	// The key, then status and reason, then the rest of the input.
	wantHeader := "userId|status|reason|email|pin|groups|detail|target_id|finished_at"
	if strings.Join(people[0], "|") != wantHeader {
		t.Errorf("header %v, want %s", people[0], wantHeader)
	}
	col := func(r []string, name string) string {
		i := strings.Index(wantHeader, name)
		i = strings.Count(wantHeader[:i], "|")
		if i < len(r) {
			return r[i]
		}
		return ""
	}
	for i, want := range []struct{ status, id, finished string }{
		{"created", "person-1", "2026-11-22T02:00:00Z"},
		{"failed", "", "2026-11-22T02:00:00Z"},
		{"blocked", "", ""}, // never sent: no finish time
	} {
		r := people[i+1]
		if col(r, "status") != want.status || col(r, "target_id") != want.id || col(r, "finished_at") != want.finished {
			t.Errorf("people row %d: %v, want %+v", i+2, r, want)
		}
	}
	if col(people[1], "pin") != schemas.Mask || col(people[2], "pin") != schemas.Mask || col(people[3], "pin") != "" {
		t.Errorf("pin column not masked: %v %v %v", people[1], people[2], people[3])
	}
	if col(people[3], "groups") != "=SUM(1)" {
		t.Errorf("input cell changed: %q", col(people[3], "groups"))
	}
	if strings.Contains(everything(t, f), pin) {
		t.Error("results.xlsx holds the PIN")
	}
	// The reason in plain words; how the target said it after.
	if r, d := col(people[2], "reason"), col(people[2], "detail"); !strings.HasPrefix(r, "email: not a valid address") || d != "permanent (HTTP 400): create person bad: POST /people" {
		t.Errorf("reason %q, detail %q", r, d)
	}
	if p, _ := f.GetPanes("people"); !p.Freeze || p.XSplit != 3 || p.YSplit != 1 {
		t.Errorf("panes %+v: the key, status and reason should stay in view", p)
	}
	// Failed row red, offending cell (email, named by the message) marked
	// with the message; blocked row amber with the reason on its key.
	if fill(f, "people", "A3") == "" || fill(f, "people", "D3") == fill(f, "people", "A3") {
		t.Errorf("failed row fills: A3 %q D3 %q", fill(f, "people", "A3"), fill(f, "people", "D3"))
	}
	if !strings.Contains(note(f, "people", "D3"), "not a valid address") {
		t.Errorf("note on the offending cell D3: %q", note(f, "people", "D3"))
	}
	if fill(f, "people", "A4") == "" || !strings.Contains(note(f, "people", "A4"), "blocked by people!3") {
		t.Errorf("blocked row: fill %q note %q", fill(f, "people", "A4"), note(f, "people", "A4"))
	}
	if fill(f, "people", "A2") != "" {
		t.Error("succeeded row highlighted")
	}
	phones, _ := f.GetRows("phones")
	if strings.Join(phones[0], "|") != "number|site|status|reason|owner|detail|target_id|finished_at" {
		t.Errorf("phones header %v: the key's columns come first, in key order", phones[0])
	}
	if phones[1][2] != "unchanged" || phones[2][2] != "created" || phones[1][0] != "0042" || phones[3][2] != "blocked" {
		t.Errorf("phones %v", phones)
	}
	// Blocked by the failure of the person it refers to: the owner cell is at fault.
	if fill(f, "phones", "E4") != "FF7C80" || !strings.Contains(note(f, "phones", "E4"), `blocked by person "bad"`) {
		t.Errorf("blocking reference E4: fill %q note %q", fill(f, "phones", "E4"), note(f, "phones", "E4"))
	}
	notes, _ := f.GetRows("Notes")
	if len(notes) != 2 || notes[1][0] != "ignored" {
		t.Errorf("notes sheet %v", notes)
	}
	assertSummarySheet(t, f)
	assertPrintable(t, path, f)
}

// assertSummarySheet checks the counts are numbers per kind and in all,
// with the run and the next step.
func assertSummarySheet(t *testing.T, f *excelize.File) {
	t.Helper()
	rows, _ := f.GetRows(SummarySheet)
	if strings.Join(rows[0], "|") != strings.Join(countColumns, "|") {
		t.Fatalf("summary header %v", rows[0])
	}
	text := everything(t, f)
	for _, want := range []string{"person|3|1|0|0|0|1|1|0", "phone|3|1|0|0|1|0|1|0", "total|6|2|0|0|1|1|2|0",
		"run|20261122-020000-ab12", "next|pbxbatch resume 20261122-020000-ab12 --state-dir /x", "email: not a valid address"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if typ, _ := f.GetCellType(SummarySheet, "B2"); typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
		t.Errorf("counts are text (%v), want numbers", typ)
	}
}

// assertPrintable checks every sheet has a filter and prints landscape,
// one page wide, with its header repeated; and the file is the owner's only
// with nothing left beside it.
func assertPrintable(t *testing.T, path string, f *excelize.File) {
	t.Helper()
	titles := map[string]bool{}
	for _, n := range f.GetDefinedName() {
		if n.Name == "_xlnm.Print_Titles" {
			titles[n.Scope] = true
		}
	}
	for _, sh := range f.GetSheetList() {
		if !titles[sh] {
			t.Errorf("%s: header not repeated on printed pages", sh)
		}
		lay, err := f.GetPageLayout(sh)
		if err != nil || lay.Orientation == nil || *lay.Orientation != "landscape" || lay.FitToWidth == nil || *lay.FitToWidth != 1 {
			t.Errorf("%s: page layout %+v (%v), want landscape, one page wide", sh, lay, err)
		}
		props, _ := f.GetSheetProps(sh)
		if props.FitToPage == nil || !*props.FitToPage {
			t.Errorf("%s: not fit to page", sh)
		}
	}
	hasFilter := map[string]bool{}
	for _, n := range f.GetDefinedName() {
		if n.Name == "_xlnm._FilterDatabase" {
			hasFilter[n.Scope] = true
		}
	}
	for _, sh := range f.GetSheetList() {
		if !hasFilter[sh] {
			t.Errorf("%s: no autofilter", sh)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v (%v), want 0600", path, fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), ".tmp") || strings.Contains(e.Name(), "lock") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestFailedWorkbookIsReadyToReapply(t *testing.T) {
	dir := t.TempDir()
	in := scenario(inputBook(t))
	in.Next = []string{"pbxbatch apply --target lab " + filepath.Join(dir, FailedFile)}
	if _, err := Write(dir, in); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FailedFile)
	f := open(t, path)
	if got := strings.Join(f.GetSheetList(), ","); got != "_summary,people,phones" {
		t.Fatalf("sheets %s, want the summary, then people and phones (the sheets with failures)", got)
	}
	rows, _ := f.GetRows("people")
	if len(rows) != 3 || strings.Join(rows[0], "|") != "userId|"+ReasonColumn+"|email|pin|groups" {
		t.Fatalf("failed rows %v", rows)
	}
	if rows[1][0] != "bad" || rows[2][0] != "child" || rows[1][2] != "not-an-address" {
		t.Errorf("failed rows %v", rows)
	}
	if r := rows[1][1]; !strings.Contains(r, "failed (was people!3)") || !strings.Contains(r, "not a valid address") || strings.Contains(r, "HTTP") {
		t.Errorf("reason %q: want the reason in plain words", r)
	}
	if !strings.Contains(rows[2][1], "blocked") {
		t.Errorf("reason %q", rows[2][1])
	}
	if rows[1][3] != schemas.Mask || !strings.Contains(note(f, "people", "D2"), "masked") || fill(f, "people", "D2") != "FF7C80" {
		t.Errorf("secret %q note %q", rows[1][3], note(f, "people", "D2"))
	}
	text := everything(t, f)
	if strings.Contains(text, pin) {
		t.Errorf("failed.xlsx holds the PIN:\n%s", text)
	}
	if !strings.Contains(text, "Sheet people, column pin, row 2:") || !strings.Contains(text, "next|pbxbatch apply --target lab") {
		t.Errorf("the summary does not say which cells to retype or how to apply again:\n%s", text)
	}
	assertPrintable(t, path, f)
}

// failed.xlsx applies as it is: import reads it without a finding about
// its summary sheet, its headers or its reason column; what is left is what
// failed (the bad e-mail) and the masked PIN to type again.
func TestFailedWorkbookValidates(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, scenario(inputBook(t))); err != nil {
		t.Fatal(err)
	}
	v, err := validate.New(schemas.MustLoad("stub"), validate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.File(context.Background(), filepath.Join(dir, FailedFile), func(batch.Row) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Diags {
		if d.Severity == diag.Error && (strings.HasPrefix(d.Code, "header.") || strings.HasPrefix(d.Code, "read.") || d.Origin.Sheet == SummarySheet || d.Field == "") {
			t.Errorf("failed.xlsx does not import as it is: %s", d.Error())
		}
	}
	if res.Rows != 3 {
		t.Errorf("%d rows read, want the 3 failed and blocked ones", res.Rows)
	}
}

// A report that cannot be written (here: its file name is taken by a
// directory) leaves no temp file and no half workbook, and says which.
func TestFailedWriteLeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, FailedFile), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Write(dir, scenario(inputBook(t)))
	if err == nil || !strings.Contains(err.Error(), FailedFile) {
		t.Fatalf("err = %v, want one naming %s", err, FailedFile)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}

func TestSummary(t *testing.T) {
	dir := t.TempDir()
	s, err := Write(dir, scenario(inputBook(t)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
	if strings.Contains(string(b), pin) {
		t.Error("summary.json holds the PIN")
	}
	var got Summary
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := batch.RunCounts{Planned: 6, Created: 2, Unchanged: 1, Failed: 1, Blocked: 2}
	if got.Counts != want {
		t.Errorf("counts %+v, want %+v", got.Counts, want)
	}
	if got.RunID != s.RunID || got.DurationSeconds != 2 || got.OpsPerSecond != 1.5 || len(got.Reports) != 3 {
		t.Errorf("summary %+v", got)
	}
	if len(got.Kinds) != 2 || got.Kinds[0].Kind != "person" || got.Kinds[0].Failed != 1 {
		t.Errorf("kinds %+v", got.Kinds)
	}
	var pc *Latency
	for i := range got.Latency {
		if got.Latency[i].Kind == "person" && got.Latency[i].Action == batch.OpCreate {
			pc = &got.Latency[i]
		}
	}
	if pc == nil || pc.Count != 2 || pc.P50 != 20 || pc.Max != 40 || pc.P99 != 40 {
		t.Errorf("person/create latency %+v in %+v", pc, got.Latency)
	}
}

func TestCSVInput(t *testing.T) {
	in := t.TempDir()
	os.WriteFile(filepath.Join(in, "people.csv"), []byte("userId,pin\njdoe,"+pin+"\nbad,1111\n"), 0o644)
	p := filepath.Join(in, "people.csv")
	x := Input{
		Plan: &batch.Plan{Adapter: "stub", Input: in, Ops: []*batch.Op{
			{ID: 0, Kind: "person", Action: batch.OpCreate, Origin: diag.Origin{File: p, Row: 2}},
			{ID: 1, Kind: "person", Action: batch.OpCreate, Origin: diag.Origin{File: p, Row: 3}},
		}},
		Results: []batch.Result{{Op: 0, Status: batch.StatusSucceeded}, {Op: 1, Status: batch.StatusFailed, Message: "userId taken"}},
		Kinds:   schemas.MustLoad("stub"),
	}
	dir := t.TempDir()
	if _, err := Write(dir, x); err != nil {
		t.Fatal(err)
	}
	f := open(t, filepath.Join(dir, ResultsFile))
	rows, err := f.GetRows("people")
	if err != nil || len(rows) != 3 || rows[1][1] != "created" || rows[2][1] != "failed" || rows[1][3] != schemas.Mask {
		t.Fatalf("results of CSV input: %v %v", rows, err)
	}
	if !strings.Contains(note(f, "people", "A3"), "userId taken") || fill(f, "people", "A3") != "FF7C80" {
		t.Errorf("culprit note %q", note(f, "people", "A3"))
	}
}

func TestMovedInputStillWritesSummary(t *testing.T) {
	in := scenario(filepath.Join(t.TempDir(), "gone.xlsx"))
	dir := t.TempDir()
	if _, err := Write(dir, in); err == nil || !strings.Contains(err.Error(), "cannot be read again") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, SummaryFile)); err != nil {
		t.Error("summary.json not written")
	}
}
