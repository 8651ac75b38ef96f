package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
	"github.com/xuri/excelize/v2"
)

const pin = "9876"

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
	for i, row := range [][]any{{"number", "site"}, {"0042", "Stockholm"}, {"1001", "Stockholm"}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow("phones", cell, &row)
	}
	f.NewSheet("Notes")
	f.SetSheetRow("Notes", "A1", &[]any{"note"})
	f.SetSheetRow("Notes", "A2", &[]any{"call Bob first"})
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
	}
	one := 1
	results := []batch.Result{
		{Op: 0, Status: batch.StatusSucceeded, TargetID: "person-1", StartedAt: t0, FinishedAt: t0.Add(20 * time.Millisecond)},
		{Op: 1, Status: batch.StatusFailed, Message: "email: not a valid address (PIN " + pin + " was not checked)", StartedAt: t0, FinishedAt: t0.Add(40 * time.Millisecond)},
		{Op: 2, Status: batch.StatusBlocked, Message: "blocked by people!3", BlockedBy: &one},
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
	if _, err := Write(dir, in); err != nil {
		t.Fatal(err)
	}
	f := open(t, filepath.Join(dir, ResultsFile))
	if got := strings.Join(f.GetSheetList(), ","); got != "people,phones,Notes" {
		t.Fatalf("sheets %s", got)
	}
	people, _ := f.GetRows("people")
	wantHeader := "userId|email|pin|groups|status|message|target_id|finished_at"
	if strings.Join(people[0], "|") != wantHeader {
		t.Errorf("header %v", people[0])
	}
	row := func(r []string, i int) string {
		if i < len(r) {
			return r[i]
		}
		return ""
	}
	for i, want := range []struct{ status, id, finished string }{
		{"created", "person-1", "2026-11-22T02:00:00Z"},
		{"failed", "", "2026-11-22T02:00:00Z"},
		{"blocked", "", ""},
	} {
		r := people[i+1]
		if row(r, 4) != want.status || row(r, 6) != want.id || row(r, 7) != want.finished {
			t.Errorf("people row %d: %v, want %+v", i+2, r, want)
		}
	}
	if people[1][2] != schemas.Mask || people[2][2] != schemas.Mask || people[3][2] != "" {
		t.Errorf("pin column not masked: %v %v %v", people[1], people[2], people[3])
	}
	if people[3][3] != "=SUM(1)" {
		t.Errorf("input cell changed: %q", people[3][3])
	}
	if strings.Contains(everything(t, f), pin) {
		t.Error("results.xlsx holds the PIN")
	}
	if !strings.Contains(people[2][5], "email: not a valid address") {
		t.Errorf("message %q", people[2][5])
	}
	// Failed row red, offending cell (email, named by the message) marked
	// with the message; blocked row amber with the reason on its first cell.
	if fill(f, "people", "A3") == "" || fill(f, "people", "B3") == fill(f, "people", "A3") {
		t.Errorf("failed row fills: A3 %q B3 %q", fill(f, "people", "A3"), fill(f, "people", "B3"))
	}
	if !strings.Contains(note(f, "people", "B3"), "not a valid address") {
		t.Errorf("note on the offending cell B3: %q", note(f, "people", "B3"))
	}
	if fill(f, "people", "A4") == "" || !strings.Contains(note(f, "people", "A4"), "blocked by people!3") {
		t.Errorf("blocked row: fill %q note %q", fill(f, "people", "A4"), note(f, "people", "A4"))
	}
	if fill(f, "people", "A2") != "" {
		t.Error("succeeded row highlighted")
	}
	phones, _ := f.GetRows("phones")
	if phones[1][2] != "unchanged" || phones[2][2] != "created" || phones[1][0] != "0042" {
		t.Errorf("phones %v", phones)
	}
	notes, _ := f.GetRows("Notes")
	if len(notes) != 2 || notes[1][1] != "ignored" {
		t.Errorf("notes sheet %v", notes)
	}
}

func TestFailedWorkbookIsReadyToReapply(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, scenario(inputBook(t))); err != nil {
		t.Fatal(err)
	}
	f := open(t, filepath.Join(dir, FailedFile))
	if got := strings.Join(f.GetSheetList(), ","); got != "people" {
		t.Fatalf("sheets %s, want only people (phones had no failures)", got)
	}
	rows, _ := f.GetRows("people")
	if len(rows) != 3 || strings.Join(rows[0], "|") != "userId|email|pin|groups" {
		t.Fatalf("failed rows %v", rows)
	}
	if rows[1][0] != "bad" || rows[2][0] != "child" || rows[1][1] != "not-an-address" {
		t.Errorf("failed rows %v", rows)
	}
	if n := note(f, "people", "A2"); !strings.Contains(n, "failed (was people!3)") || !strings.Contains(n, "not a valid address") {
		t.Errorf("reason note %q", n)
	}
	if n := note(f, "people", "A3"); !strings.Contains(n, "blocked") {
		t.Errorf("reason note %q", n)
	}
	if rows[1][2] != schemas.Mask || !strings.Contains(note(f, "people", "C2"), "masked") {
		t.Errorf("secret %q note %q", rows[1][2], note(f, "people", "C2"))
	}
	if strings.Contains(everything(t, f), pin) {
		t.Error("failed.xlsx holds the PIN")
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
	want := batch.Counts{Planned: 5, Created: 2, Unchanged: 1, Failed: 1, Blocked: 1}
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
	if err != nil || len(rows) != 3 || rows[1][2] != "created" || rows[2][2] != "failed" || rows[1][1] != schemas.Mask {
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
