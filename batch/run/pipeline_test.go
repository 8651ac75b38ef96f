package run_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/report"
	"github.com/pbxbatch/pbxbatch/batch/run"
	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// The capabilities through the whole flow: workbook → validate → plan →
// run → report, against the stub.

// workbook writes sheets (name → rows, the first the header) to an xlsx.
func workbook(t *testing.T, sheets map[string][][]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	first := true
	for _, name := range slices.Sorted(maps.Keys(sheets)) {
		if first {
			f.SetSheetName("Sheet1", name)
			first = false
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for i, row := range sheets[name] {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(name, cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "input.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// planFile validates and plans the workbook at path against a.
func planFile(t *testing.T, a *stub.Adapter, path string) (*batch.Plan, diag.List) {
	t.Helper()
	ctx := context.Background()
	v, err := validate.New(a.Kinds(), validate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rows []batch.Row
	res, err := v.File(ctx, path, func(r batch.Row) error { rows = append(rows, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.Diags.HasErrors() {
		t.Fatalf("validation: %v", res.Diags)
	}
	p, diags, err := plan.Build(ctx, open(t, a), a.Kinds(), rows, plan.Options{Input: path, Locker: a})
	if err != nil {
		t.Fatal(err)
	}
	return p, diags
}

func TestExpandedRowIsPlannedRunAndReportedRecordByRecord(t *testing.T) {
	path := workbook(t, map[string][][]any{"vusers": {
		{"number", "ext", "name"},
		{"5550002", "0900", "Reception"},
		{"5550003", "0901", "Desk"},
		{"5550004", "0902", "Desk"},
		{"5550005", "0903", "Desk"},
		{"5550006", "0904", "Desk"},
		{"123456777..123456779", "0000..0002", "Range"},
	}})
	a := stub.New()
	p, diags := planFile(t, a, path)
	if len(diags) > 0 {
		t.Fatalf("plan: %v", diags)
	}
	var origins []string
	for _, op := range p.Ops {
		origins = append(origins, op.Origin.String()+" "+op.Key)
	}
	if want := "vusers!7 [3/3] 123456779"; len(p.Ops) != 8 || origins[7] != want {
		t.Fatalf("ops %v, want 8 with the last %q", origins, want)
	}
	// The range's third record is refused by the target.
	a.AddFault(stub.Fault{Op: "create", Key: "123456779", Class: adapters.Permanent, Message: "number 123456779 is reserved"})
	out, err := run.Run(context.Background(), open(t, a), p, a.Kinds(), run.Options{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if out.Counts.Created != 7 || out.Counts.Failed != 1 || out.Results[7].Status != batch.StatusFailed {
		t.Fatalf("counts %+v, want 7 created and the range's third failed", out.Counts)
	}
	dir := t.TempDir()
	sum, err := report.Write(dir, report.Input{Plan: p, Results: out.Results, Kinds: a.Kinds(), Step: out.Step})
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(filepath.Join(dir, report.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("vusers")
	if err != nil || len(rows) != 7 {
		t.Fatalf("results sheet vusers: %d rows, %v", len(rows), err)
	}
	col := func(name string) int {
		i := slices.Index(rows[0], name)
		if i < 0 {
			t.Fatalf("results header %v has no %s", rows[0], name)
		}
		return i
	}
	status, reason := col("status"), col("reason")
	if st, msg := rows[6][status], rows[6][reason]; st != "failed" || !strings.HasPrefix(msg, "vusers!7 [3/3]: ") || !strings.Contains(msg, "reserved") {
		t.Fatalf("results row 7: %q %q, want failed with the message of vusers!7 [3/3]", st, msg)
	}
	if st := rows[1][status]; st != "created" {
		t.Errorf("results row 2 status %q", st)
	}
	// The run created virtual users: the step published them, and
	// summary.json says so.
	if sum.EndOfRun == nil || sum.EndOfRun.Status != batch.StatusSucceeded || len(sum.EndOfRun.Parts) != 1 {
		t.Errorf("summary end_of_run %+v, want succeeded on one server", sum.EndOfRun)
	}
	summary, err := f.GetRows(report.SummarySheet)
	if err != nil || !slices.ContainsFunc(summary, func(r []string) bool { return len(r) > 1 && r[0] == "pbx-1" && strings.HasPrefix(r[1], "ok") }) {
		t.Errorf("results.xlsx summary lacks the step's result on pbx-1: %v %v", summary, err)
	}
	if raw := readFile(t, filepath.Join(dir, report.SummaryFile)); !strings.Contains(raw, `"end_of_run"`) || !strings.Contains(raw, `"pbx-1"`) {
		t.Errorf("summary.json lacks the end-of-run step:\n%s", raw)
	}
}

func TestCompoundReferenceToAMissingParentBlocksExactlyItsDependents(t *testing.T) {
	path := workbook(t, map[string][][]any{
		"sites":  {{"siteName"}, {"HQ"}, {"Branch"}},
		"phones": {{"number", "site"}, {"1000", "HQ"}, {"1001", "HQ"}},
		"voicemails": {
			{"box", "site", "phone"},
			{"vm-hq", "HQ", "1000"},         // the workbook's phone 1000 at HQ
			{"vm-branch", "Branch", "2000"}, // a phone on the target
			{"vm-wrong", "Branch", "1000"},  // 1000 exists, but at HQ, not at Branch
			{"vm-1001", "HQ", "1001"},       // its phone fails at apply time
		},
	})
	a := stub.New()
	a.Put("site", schemas.Record{"siteName": "Branch"})
	a.Put("phone", schemas.Record{"number": "2000", "site": "Branch"})
	p, diags := planFile(t, a, path)
	byKey := map[string]*batch.Op{}
	for _, op := range p.Ops {
		byKey[op.Kind+" "+op.Key] = op
	}
	wrong, hq, branch := byKey["voicemail vm-wrong"], byKey["voicemail vm-hq"], byKey["voicemail vm-branch"]
	if wrong.Action != batch.OpBlocked || !strings.Contains(wrong.Reason, `phone "1000 / Branch"`) {
		t.Fatalf("vm-wrong: %s %q, want blocked: phone 1000 / Branch is missing", wrong.Action, wrong.Reason)
	}
	if len(diags) != 1 || diags[0].Code != plan.CodeRefMissing || diags[0].Origin.String() != "voicemails!C4" {
		t.Fatalf("plan diagnostics %v, want one missing reference at voicemails!C4", diags)
	}
	if phone := byKey["phone 1000 / HQ"]; hq.Action != batch.OpCreate || !slices.Contains(hq.Needs, phone.ID) {
		t.Fatalf("vm-hq %s needs %v, want a create after phone 1000 / HQ (op %d)", hq.Action, hq.Needs, phone.ID)
	}
	if branch.Action != batch.OpCreate || len(branch.Needs) != 0 {
		t.Fatalf("vm-branch %s needs %v, want a create needing nothing in the plan (its phone is on the target)", branch.Action, branch.Needs)
	}

	a.AddFault(stub.Fault{Op: "create", Kind: "phone", Key: "1001 / HQ", Class: adapters.Permanent})
	if err := plan.FillSecrets(p, nil); err != nil {
		t.Fatal(err)
	}
	out, err := run.Run(context.Background(), open(t, a), p, a.Kinds(), run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := func(key string) batch.Status { return out.Results[byKey[key].ID].Status }
	for key, want := range map[string]batch.Status{
		"voicemail vm-hq": batch.StatusSucceeded, "voicemail vm-branch": batch.StatusSucceeded,
		"voicemail vm-wrong": batch.StatusBlocked, "voicemail vm-1001": batch.StatusBlocked,
		"phone 1001 / HQ": batch.StatusFailed, "phone 1000 / HQ": batch.StatusSucceeded,
	} {
		if got := st(key); got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
	if out.Counts.Blocked != 2 || out.Counts.Failed != 1 {
		t.Errorf("counts %+v, want exactly the two voicemails blocked", out.Counts)
	}
	if got := a.Records("voicemail"); len(got) != 2 {
		t.Errorf("target has voicemails %v, want vm-hq and vm-branch", got)
	}
}
