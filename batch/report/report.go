// Package report writes a run's reports into its run directory:
//
//   - results.xlsx: a _summary sheet first (counts per kind and status,
//     the run, why rows failed, what to do next), then the input rows as
//     they were (every data sheet; one sheet per CSV file), each with its
//     key first, then status and reason (frozen with the header), the
//     other input columns, and the transport detail, target_id and
//     finished_at; failed and blocked rows highlighted, the cell at fault
//     highlighted with the reason as a note, rows that were not part of the
//     plan greyed with the reason.
//   - failed.xlsx: only the failed and blocked rows, with the input's
//     headers and sheets and a #reason column that import ignores, so it
//     can be fixed and applied again as it is; its _summary says which
//     masked secrets must be typed again.
//   - summary.json: counts, duration, throughput and latency percentiles.
//
// No secret reaches them: secret columns are masked and messages are
// scrubbed of the row's secret values. Every sheet has a filter and prints
// landscape, one page wide; the files are the owner's only and written
// atomically.
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
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// File names in the run directory.
const (
	ResultsFile = "results.xlsx"
	FailedFile  = "failed.xlsx"
	SummaryFile = "summary.json"
)

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
	// Step is the end-of-run step's outcome (nil: the run had none).
	Step *batch.Step
	// Next are the next steps, as commands that work as printed (with the
	// flags the run was started with); the summary sheets show them.
	Next []string

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
	dropped, err := writeWorkbooks(dir, in, res, s)
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
	op       *batch.Op // the op that decides the status
	status   string
	messages []string
	targetID string
	finished time.Time // when the target last answered for the row; zero if never asked
	failed   bool      // failed or blocked: goes to failed.xlsx
	style    workbook.Style
}

// unsettled is the set of records (kind and key) whose op failed or was
// blocked: a reference to one is why a row is blocked.
type unsettled map[[2]string]bool

func unsettledOf(res []opResult) unsettled {
	u := unsettled{}
	for _, o := range res {
		if st := o.status(); st == string(batch.StatusFailed) || st == string(batch.StatusBlocked) {
			u[[2]string{o.op.Kind, o.op.Key}] = true
		}
	}
	return u
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
			ro.status, ro.op = st, o.op
		}
		msg := o.message()
		if msg != "" && o.op.Origin.Parts > 0 {
			// One record of an expanded row: say which.
			msg = o.op.Origin.String() + ": " + msg
		}
		if msg != "" && !slices.Contains(ro.messages, msg) {
			ro.messages = append(ro.messages, msg)
		}
		if o.res != nil {
			ro.targetID = cmp.Or(ro.targetID, o.res.TargetID)
			answered := o.res.Status == batch.StatusSucceeded || o.res.Status == batch.StatusFailed
			if answered && o.res.FinishedAt.After(ro.finished) {
				ro.finished = o.res.FinishedAt
			}
		}
	}
	for _, ro := range m {
		switch ro.status {
		case string(batch.StatusFailed):
			ro.failed, ro.style = true, workbook.Failed
		case string(batch.StatusBlocked):
			ro.failed, ro.style = true, workbook.Blocked
		}
	}
	return m
}

// writeWorkbooks re-reads the input and writes results.xlsx and
// failed.xlsx side by side, in one pass. It returns how many cell notes
// were left out for want of room (the message column still has them).
func writeWorkbooks(dir string, in Input, res []opResult, s *Summary) (int, error) {
	path := cmp.Or(in.InputPath, in.Plan.Input)
	book, err := workbook.Open(path, workbook.Options{TmpDir: in.TmpDir})
	if err != nil {
		return 0, fmt.Errorf("results.xlsx and failed.xlsx not written: the input %s cannot be read again (%w); summary.json is written", path, err)
	}
	defer book.Close()
	results, err := workbook.NewXLSXWriter(workbook.XLSXOptions{TmpDir: in.TmpDir})
	if err != nil {
		return 0, err
	}
	defer results.Close()
	failed, err := workbook.NewXLSXWriter(workbook.XLSXOptions{TmpDir: in.TmpDir})
	if err != nil {
		return 0, err
	}
	defer failed.Close()
	// The summaries come first but are known only at the end.
	for _, x := range []*workbook.XLSXWriter{results, failed} {
		if err := x.Reserve(SummarySheet); err != nil {
			return 0, err
		}
	}

	rows := outcomes(res)
	bad := unsettledOf(res)
	seen := map[rowKey]bool{}
	var (
		masked []maskedCells
		why    grouper // from the scrubbed messages
	)
	for _, t := range book.Tables {
		if base, _ := workbook.SplitName(t.Name); workbook.IsNotData(base) {
			continue // not data (a template's README, an export's _metadata): nothing to report
		}
		m, err := writeTable(t, in, rows, bad, seen, results, failed, &why)
		if err != nil {
			return 0, err
		}
		masked = append(masked, m)
	}
	if missing := unseen(rows, seen); len(missing) > 0 {
		return 0, fmt.Errorf("results.xlsx not written: %d planned rows are not in %s any more (first: %s); was the input changed after the plan?", len(missing), path, missing[0])
	}
	if err := writeSummarySheet(results, s, in, why.groups()); err != nil {
		return 0, err
	}
	if err := writeFailedSummary(failed, s, in, masked); err != nil {
		return 0, err
	}
	if err := results.Save(filepath.Join(dir, ResultsFile)); err != nil {
		return 0, fmt.Errorf("writing %s: %w", ResultsFile, err)
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
	base, _ := workbook.SplitName(t.Name)
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

// fieldOf returns the field a header names, by path or title (as import
// accepts), or nil.
func fieldOf(k *schemas.Kind, h string) *schemas.Field {
	if k == nil {
		return nil
	}
	for _, f := range k.Fields {
		if strings.EqualFold(h, f.Path) || f.Title != "" && strings.EqualFold(h, f.Title) {
			return f
		}
	}
	return nil
}

// layout is the order of a table's input columns in the reports: the key
// first (so that it stays in view with the status and reason), then the
// rest as the input has them.
type layout struct {
	order  []int  // input column indices in report order
	keys   int    // the first keys of order are the key columns
	secret []bool // by input column: holds a secret field
	field  []*schemas.Field
}

func layoutOf(header []string, k *schemas.Kind) layout {
	l := layout{secret: make([]bool, len(header)), field: make([]*schemas.Field, len(header))}
	for i, h := range header {
		l.field[i] = fieldOf(k, h)
		l.secret[i] = l.field[i] != nil && l.field[i].Secret
	}
	if k != nil {
		for _, key := range k.Key {
			for i, f := range l.field {
				if f != nil && f.Path == key && !slices.Contains(l.order, i) {
					l.order = append(l.order, i)
				}
			}
		}
	}
	l.keys = len(l.order)
	for i := range header {
		if !slices.Contains(l.order[:l.keys], i) {
			l.order = append(l.order, i)
		}
	}
	return l
}

// arrange returns a row (or the header) in report order, with extra
// values inserted after the key and appended at the end.
func arrange[T any](l layout, in, afterKey, atEnd []T) []T {
	out := make([]T, 0, len(in)+len(afterKey)+len(atEnd))
	for n, i := range l.order {
		if n == l.keys {
			out = append(out, afterKey...)
		}
		out = append(out, in[i])
	}
	if len(l.order) == l.keys {
		out = append(out, afterKey...)
	}
	return append(out, atEnd...)
}

// maskedCells lists, for failed.xlsx, the cells whose secret must be typed
// again before the rows are applied.
type maskedCells struct {
	sheet  string
	column []string // headers of the secret columns with a masked cell
	rows   []int    // failed.xlsx rows with a masked cell
	failed int      // rows of this table in failed.xlsx
}

// writeTable copies one input table into both workbooks.
func writeTable(t *workbook.Table, in Input, rows map[rowKey]*rowOutcome, bad unsettled, seen map[rowKey]bool, results, failed *workbook.XLSXWriter, why *grouper) (maskedCells, error) {
	k, ignored := tableKind(t, in.Kinds)
	l := layoutOf(t.Header, k)
	m := maskedCells{sheet: t.Name}
	rt, err := results.NewTable(t.Name, arrange(l, t.Header, []string{"status", "reason"}, []string{"detail", "target_id", "finished_at"}),
		workbook.TableOptions{ReadOnly: ignored != "", FreezeColumns: l.keys + 2})
	if err != nil {
		return m, err
	}
	var ft *workbook.TableWriter // created on the first failed row
	it, err := t.Rows()
	if err != nil {
		return m, err
	}
	defer it.Close()
	width := len(t.Header)
	for it.Next() {
		r := it.Row()
		key := keyOf(t.File, t.Sheet, r.Num)
		ro := rows[key]
		seen[key] = ro != nil
		input := make([]workbook.Cell, width)
		masked := make([]bool, width)
		for i := range width {
			v := r.Cells[i]
			if l.secret[i] && v != "" {
				v, masked[i] = schemas.Mask, true
			}
			input[i] = workbook.Cell{Value: v}
		}
		msg, status, style := "", "", workbook.Plain
		var finished, targetID string
		switch {
		case ro != nil:
			msg = scrub(strings.Join(ro.messages, "; "), r.Cells, l.secret)
			status, style, targetID = ro.status, ro.style, ro.targetID
			if !ro.finished.IsZero() {
				finished = ro.finished.UTC().Format(time.RFC3339)
			}
		case ignored != "":
			status, msg, style = "ignored", ignored, workbook.Muted
		default:
			status, msg, style = "not_planned", "this row is not in the plan", workbook.Muted
		}
		reason, detail := msg, ""
		if ro != nil && ro.op != nil {
			reason, detail = Reason(ro.op, msg)
			if ro.status == string(batch.StatusFailed) {
				why.add(ro.op, msg)
			}
		}
		if ro != nil && ro.failed {
			mark(input, t, r.Num, l, k, reason, bad)
		}
		cells := arrange(l, input,
			[]workbook.Cell{{Value: status}, {Value: reason, Wrap: true}},
			[]workbook.Cell{{Value: detail}, {Value: targetID}, {Value: finished}})
		if err := rt.Write(cells, style); err != nil {
			return m, err
		}
		if ro == nil || !ro.failed {
			continue
		}
		if ft == nil {
			if ft, err = failed.NewTable(t.Name, arrange(l, t.Header, []string{ReasonColumn}, nil), workbook.TableOptions{FreezeColumns: l.keys + 1}); err != nil {
				return m, err
			}
		}
		m.failed++
		fc := make([]workbook.Cell, width)
		rowMasked := false
		for i, c := range input {
			fc[i] = workbook.Cell{Value: c.Value}
			if c.Style == workbook.Culprit { // the cell to fix
				fc[i] = c
			}
			if masked[i] {
				fc[i].Comment = "masked: type the value from your own input file again before applying"
				fc[i].Style = workbook.Culprit
				rowMasked = true
				if !slices.Contains(m.column, t.Header[i]) {
					m.column = append(m.column, t.Header[i])
				}
			}
		}
		if rowMasked {
			m.rows = append(m.rows, m.failed+1)
		}
		why := fmt.Sprintf("%s (was %s): %s", status, t.Origin(r.Num, -1), reason)
		if err := ft.Write(arrange(l, fc, []workbook.Cell{{Value: why, Wrap: true}}, nil), ro.style); err != nil {
			return m, err
		}
	}
	return m, it.Err()
}

// ReasonColumn is failed.xlsx's column of why each row is there. Its "#"
// makes import ignore it (a column for notes), so the file applies as it
// is once the rows are fixed.
const ReasonColumn = "#reason"

// mark highlights the cells a failure is about with the reason as a note:
// the columns the message names, a cell of this row it cites
// ("Departments!C22"), or the references to records that failed or were
// blocked themselves (why a row is blocked). When none is found, the note
// goes on the first cell (the key).
func mark(cells []workbook.Cell, t *workbook.Table, row int, l layout, k *schemas.Kind, reason string, bad unsettled) {
	found := false
	hit := func(i int) {
		cells[i].Style, cells[i].Comment = workbook.Culprit, reason
		found = true
	}
	for i, h := range t.Header {
		if h != "" && mentions(reason, h) {
			hit(i)
		}
	}
	for i := range t.Header {
		if ref := t.Origin(row, i).String(); !found && mentions(reason, ref) {
			hit(i)
		}
	}
	for i, f := range l.field {
		if found || f == nil || f.Ref == nil {
			continue
		}
		for _, v := range strings.Split(cells[i].Value, ";") {
			if bad[[2]string{f.Ref.Kind, strings.TrimSpace(v)}] {
				hit(i)
				break
			}
		}
	}
	if !found && len(l.order) > 0 {
		cells[l.order[0]].Comment = reason
	}
}

// mentions reports whether msg names field as a whole word ("email" in
// "email: not valid", not in "emailAlias").
func mentions(msg, field string) bool { return wordIndex(msg, field) >= 0 }

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
