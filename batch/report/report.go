// Package report writes a run's reports into its run directory:
//
//   - results.xlsx: the input rows as they were (every sheet and column, in
//     order; one sheet per CSV file) plus status, message, target_id and
//     finished_at columns; failed and blocked rows highlighted, the cell a
//     message is about highlighted with the message as a note, rows that
//     were not part of the plan greyed with the reason.
//   - failed.xlsx: only the failed and blocked rows, with the input's
//     headers and sheets and nothing else, so it can be fixed and applied
//     again; each row's reason is a note on its first cell.
//   - summary.json: counts, duration, throughput and latency percentiles.
//
// No secret reaches them: secret columns are masked and messages are
// scrubbed of the row's secret values.
package report

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/redact"
	"github.com/pbxbatch/pbxbatch/internal/sheet"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// File names in the run directory.
const (
	ResultsFile = "results.xlsx"
	FailedFile  = "failed.xlsx"
	SummaryFile = "summary.json"
)

// Columns added after the input's own in results.xlsx.
var statusColumns = []string{"status", "message", "target_id", "finished_at"}

// Sample is one call's latency, when the runner measured it directly.
type Sample struct {
	Kind   string
	Action batch.OpAction
	D      time.Duration
}

// Input is everything a report is made from.
type Input struct {
	RunID     string
	Adapter   string // "" = Plan.Adapter
	Target    string // "" = Plan.Target
	TargetURL string
	// InputPath is the workbook the plan was made from; "" = Plan.Input.
	InputPath string
	Started   time.Time
	Finished  time.Time

	Plan    *batch.Plan
	Results []batch.Result // any order; at most one per op
	Kinds   *schemas.Set
	// Samples, when set, are the latencies the runner measured; otherwise
	// each attempted op's FinishedAt − StartedAt is used.
	Samples []Sample

	TmpDir string // excelize spill files; "" = os.TempDir
}

// Write writes the three reports into dir and returns the summary. When the
// input workbook can no longer be read (moved, changed), summary.json is
// still written and the error says why the workbooks are missing.
func Write(dir string, in Input) (*Summary, error) {
	if in.Plan == nil {
		return nil, errors.New("report: no plan")
	}
	res := index(in)
	s := summarize(in, res)
	if err := writeSummary(filepath.Join(dir, SummaryFile), s); err != nil {
		return nil, err
	}
	dropped, err := writeWorkbooks(dir, in, res)
	if err != nil {
		return s, err
	}
	s.NotesDropped = dropped
	s.Reports = []string{ResultsFile, FailedFile, SummaryFile}
	return s, writeSummary(filepath.Join(dir, SummaryFile), s)
}

// opResult is one op and its result (nil when the op never ran).
type opResult struct {
	op  *batch.Op
	res *batch.Result
}

// status is an op's outcome as a report shows it: the action for a
// success ("created"), "unchanged" for a no-op, else the run status.
func (o opResult) status() string {
	switch {
	case o.res == nil && o.op.Action == batch.OpBlocked:
		return string(batch.StatusBlocked)
	case o.res == nil && o.op.Action == batch.OpNoop:
		return "unchanged"
	case o.res == nil:
		return string(batch.StatusPending)
	case o.res.Status == batch.StatusSucceeded:
		switch o.op.Action {
		case batch.OpCreate:
			return "created"
		case batch.OpUpdate:
			return "updated"
		case batch.OpDelete:
			return "deleted"
		}
		return "unchanged"
	case o.res.Status == batch.StatusNoop:
		return "unchanged"
	}
	return string(o.res.Status)
}

func (o opResult) message() string {
	if o.res != nil && o.res.Message != "" {
		return o.res.Message
	}
	if o.op.Action == batch.OpBlocked || o.res != nil && o.res.Status == batch.StatusBlocked {
		return o.op.Reason
	}
	return ""
}

// severity orders statuses for a row with several ops: the worst shows.
var severity = map[string]int{
	string(batch.StatusFailed): 6, string(batch.StatusBlocked): 5, string(batch.StatusInFlight): 4,
	string(batch.StatusSkipped): 3, string(batch.StatusPending): 2,
}

// index returns each op with its result, by op id.
func index(in Input) []opResult {
	out := make([]opResult, len(in.Plan.Ops))
	for i, op := range in.Plan.Ops {
		out[i].op = op
	}
	for i := range in.Results {
		r := &in.Results[i]
		if r.Op >= 0 && r.Op < len(out) {
			out[r.Op].res = r
		}
	}
	return out
}

// rowKey identifies an input row across the plan and a re-read of the
// workbook: the sheet, or the CSV file's name, and the physical row.
type rowKey struct {
	table string
	row   int
}

func keyOf(file, sheetName string, row int) rowKey {
	if sheetName != "" {
		return rowKey{sheetName, row}
	}
	return rowKey{filepath.Base(file), row}
}

// rowOutcome is what happened to one input row (several ops may share a
// row: a record created, then linked).
type rowOutcome struct {
	status   string
	messages []string
	targetID string
	finished time.Time
	failed   bool // failed or blocked: goes to failed.xlsx
	style    sheet.Style
}

func outcomes(res []opResult) map[rowKey]*rowOutcome {
	m := map[rowKey]*rowOutcome{}
	for _, o := range res {
		k := keyOf(o.op.Origin.File, o.op.Origin.Sheet, o.op.Origin.Row)
		ro := m[k]
		if ro == nil {
			ro = &rowOutcome{}
			m[k] = ro
		}
		st := o.status()
		if ro.status == "" || severity[st] > severity[ro.status] {
			ro.status = st
		}
		if msg := o.message(); msg != "" && !slices.Contains(ro.messages, msg) {
			ro.messages = append(ro.messages, msg)
		}
		if o.res != nil {
			ro.targetID = cmp.Or(ro.targetID, o.res.TargetID)
			if o.res.FinishedAt.After(ro.finished) {
				ro.finished = o.res.FinishedAt
			}
		}
	}
	for _, ro := range m {
		switch ro.status {
		case string(batch.StatusFailed):
			ro.failed, ro.style = true, sheet.Failed
		case string(batch.StatusBlocked):
			ro.failed, ro.style = true, sheet.Blocked
		}
	}
	return m
}

// writeWorkbooks re-reads the input and writes results.xlsx and
// failed.xlsx side by side, in one pass. It returns how many cell notes
// were left out for want of room (the message column still has them).
func writeWorkbooks(dir string, in Input, res []opResult) (int, error) {
	path := cmp.Or(in.InputPath, in.Plan.Input)
	book, err := workbook.Open(path, workbook.Options{TmpDir: in.TmpDir})
	if err != nil {
		return 0, fmt.Errorf("results.xlsx and failed.xlsx not written: the input %s cannot be read again (%w); summary.json is written", path, err)
	}
	defer book.Close()
	results, err := sheet.NewXLSX(sheet.XLSXOptions{TmpDir: in.TmpDir})
	if err != nil {
		return 0, err
	}
	defer results.Close()
	failed, err := sheet.NewXLSX(sheet.XLSXOptions{TmpDir: in.TmpDir})
	if err != nil {
		return 0, err
	}
	defer failed.Close()

	rows := outcomes(res)
	seen := map[rowKey]bool{}
	nFailed := 0
	for _, t := range book.Tables {
		n, err := writeTable(t, in, rows, seen, results, failed)
		if err != nil {
			return 0, err
		}
		nFailed += n
	}
	if missing := unseen(rows, seen); len(missing) > 0 {
		return 0, fmt.Errorf("results.xlsx not written: %d planned rows are not in %s any more (first: %s); was the input changed after the plan?", len(missing), path, missing[0])
	}
	if err := results.Save(filepath.Join(dir, ResultsFile)); err != nil {
		return 0, fmt.Errorf("writing %s: %w", ResultsFile, err)
	}
	if nFailed == 0 {
		// An empty workbook still says something true: nothing to retry.
		t, err := failed.NewTable("nothing failed", []string{"message"}, sheet.TableOptions{})
		if err != nil {
			return 0, err
		}
		if err := t.WriteRow([]string{"Every row succeeded or had nothing to do: there is nothing to apply again."}); err != nil {
			return 0, err
		}
	}
	if err := failed.Save(filepath.Join(dir, FailedFile)); err != nil {
		return 0, fmt.Errorf("writing %s: %w", FailedFile, err)
	}
	return results.DroppedNotes + failed.DroppedNotes, nil
}

func unseen(rows map[rowKey]*rowOutcome, seen map[rowKey]bool) []string {
	var out []string
	for k := range rows {
		if !seen[k] {
			out = append(out, fmt.Sprintf("%s row %d", k.table, k.row))
		}
	}
	slices.Sort(out)
	return out
}

// tableKind returns the kind a table holds and, when it is not imported,
// why (shown on its rows).
func tableKind(t *workbook.Table, set *schemas.Set) (*schemas.Kind, string) {
	base, _ := sheet.SplitName(t.Name)
	if strings.HasPrefix(base, "_") {
		return nil, "not data (a sheet whose name starts with _ is ignored)"
	}
	var k *schemas.Kind
	if set != nil {
		k = set.Kind(base)
	}
	switch {
	case k == nil:
		return nil, fmt.Sprintf("ignored: %q is not a kind of this adapter", t.Name)
	case k.ReadOnly:
		return k, "ignored: a read-only catalogue is never imported"
	}
	return k, ""
}

// secretColumns marks the table's columns that hold a secret field.
func secretColumns(t *workbook.Table, k *schemas.Kind) []bool {
	out := make([]bool, len(t.Header))
	if k == nil {
		return out
	}
	for i, h := range t.Header {
		for _, f := range k.Fields {
			if f.Secret && (strings.EqualFold(h, f.Path) || f.Title != "" && strings.EqualFold(h, f.Title)) {
				out[i] = true
			}
		}
	}
	return out
}

// writeTable copies one input table into both workbooks and returns the
// number of rows that went to failed.xlsx.
func writeTable(t *workbook.Table, in Input, rows map[rowKey]*rowOutcome, seen map[rowKey]bool, results, failed *sheet.XLSX) (int, error) {
	k, ignored := tableKind(t, in.Kinds)
	secret := secretColumns(t, k)
	name := t.Name
	rt, err := results.NewTable(name, append(slices.Clone(t.Header), statusColumns...), sheet.TableOptions{ReadOnly: ignored != ""})
	if err != nil {
		return 0, err
	}
	var ft *sheet.Table // created on the first failed row
	it, err := t.Rows()
	if err != nil {
		return 0, err
	}
	defer it.Close()
	nFailed := 0
	width := len(t.Header)
	for it.Next() {
		r := it.Row()
		key := keyOf(t.File, t.Sheet, r.Num)
		ro := rows[key]
		seen[key] = ro != nil
		input := make([]string, width)
		masked := make([]bool, width)
		for i := range width {
			v := r.Cells[i]
			if secret[i] && v != "" {
				v, masked[i] = schemas.Mask, true
			}
			input[i] = v
		}
		msg, status, style := "", "", sheet.Plain
		var finished, targetID string
		switch {
		case ro != nil:
			msg = scrub(strings.Join(ro.messages, "; "), r.Cells, secret)
			status, style, targetID = ro.status, ro.style, ro.targetID
			if !ro.finished.IsZero() {
				finished = ro.finished.UTC().Format(time.RFC3339)
			}
		case ignored != "":
			status, msg, style = "ignored", ignored, sheet.Muted
		default:
			status, msg, style = "not_planned", "this row is not in the plan", sheet.Muted
		}
		cells := make([]sheet.Cell, 0, width+len(statusColumns))
		for _, v := range input {
			cells = append(cells, sheet.Cell{Value: v})
		}
		if ro != nil && ro.failed {
			mark(cells, t.Header, msg)
		}
		cells = append(cells,
			sheet.Cell{Value: status}, sheet.Cell{Value: msg},
			sheet.Cell{Value: targetID}, sheet.Cell{Value: finished})
		if err := rt.Write(cells, style); err != nil {
			return nFailed, err
		}
		if ro == nil || !ro.failed {
			continue
		}
		if ft == nil {
			if ft, err = failed.NewTable(name, t.Header, sheet.TableOptions{}); err != nil {
				return nFailed, err
			}
		}
		fc := make([]sheet.Cell, width)
		for i, v := range input {
			fc[i] = sheet.Cell{Value: v}
			if masked[i] {
				fc[i].Comment = "masked: enter the value from your own input file before applying again"
			}
		}
		if width > 0 {
			fc[0].Comment = fmt.Sprintf("%s (was %s): %s", status, t.Origin(r.Num, -1), msg)
		}
		if err := ft.Write(fc, ro.style); err != nil {
			return nFailed, err
		}
		nFailed++
	}
	return nFailed, it.Err()
}

// mark highlights the cells a message is about (those whose column it
// names) with the message as a note; when it names none, the note goes on
// the first cell.
func mark(cells []sheet.Cell, header []string, msg string) {
	found := false
	for i, h := range header {
		if h != "" && mentions(msg, h) {
			cells[i].Style, cells[i].Comment = sheet.Culprit, msg
			found = true
		}
	}
	if !found && len(cells) > 0 {
		cells[0].Comment = msg
	}
}

// mentions reports whether msg names field as a whole word ("email" in
// "email: not valid", not in "emailAlias").
func mentions(msg, field string) bool {
	for i := 0; ; {
		j := strings.Index(msg[i:], field)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(field)
		if (start == 0 || !wordByte(msg[start-1])) && (end == len(msg) || !wordByte(msg[end])) {
			return true
		}
		i = start + 1
	}
}

func wordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// scrub masks the row's secret values, in every encoding, in a message,
// should a platform have echoed one back.
func scrub(msg string, cells []string, secret []bool) string {
	var secrets []string
	for i, v := range cells {
		if i < len(secret) && secret[i] {
			secrets = append(secrets, v)
		}
	}
	return redact.New(secrets...).String(msg)
}
