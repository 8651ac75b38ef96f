package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
)

// SummarySheet is the first sheet of results.xlsx and failed.xlsx: what
// the run did and what to do next. Its "_" makes import and diff skip it.
const SummarySheet = "_summary"

var countColumns = []string{"kind", "planned", "created", "updated", "deleted", "unchanged", "failed", "blocked", "skipped"}

func countCells(name string, c batch.RunCounts, style workbook.Style) []workbook.Cell {
	cells := []workbook.Cell{{Value: name, Style: style}}
	for _, n := range []int{c.Planned, c.Created, c.Updated, c.Deleted, c.Unchanged, c.Failed, c.Blocked, c.Skipped} {
		cells = append(cells, workbook.Cell{Value: strconv.Itoa(n), Number: true, Style: style})
	}
	return cells
}

// writeSummarySheet writes results.xlsx's summary: counts per kind and in
// all, the run, the reasons rows failed for, and the next steps.
func writeSummarySheet(x *workbook.XLSXWriter, s *Summary, in Input, groups []Group) error {
	t, err := x.NewTable(SummarySheet, countColumns, workbook.TableOptions{})
	if err != nil {
		return err
	}
	w := rowWriter{t: t, span: true}
	for _, k := range s.Kinds {
		w.cells(countCells(k.Kind, k.RunCounts, workbook.Plain))
	}
	w.cells(countCells("total", s.Counts, workbook.Heading))
	w.blank()
	w.pairs(runFacts(s)...)
	if st := s.EndOfRun; st != nil {
		w.blank()
		w.pairs(StepFacts(st)...)
	}
	if len(groups) > 0 {
		w.blank()
		w.cells([]workbook.Cell{{Value: "failed rows", Style: workbook.Heading}, {Value: "first at", Style: workbook.Heading}, {Value: "why", Style: workbook.Heading}})
		for _, g := range groups {
			w.cells([]workbook.Cell{{Value: strconv.Itoa(g.Count), Number: true}, {Value: g.First}, {Value: g.Reason, Span: true}})
		}
	}
	if len(in.Next) > 0 {
		w.blank()
		for i, n := range in.Next {
			label := ""
			if i == 0 {
				label = "next"
			}
			w.pairs([2]string{label, n})
		}
	}
	return w.err
}

// runFacts are the run's identity and times as label/value pairs.
func runFacts(s *Summary) [][2]string {
	target := s.Target
	if s.TargetURL != "" {
		target += " (" + s.Adapter + ", " + s.TargetURL + ")"
	}
	facts := [][2]string{{"run", s.RunID}, {"target", target}, {"input", s.Input}}
	if !s.Started.IsZero() {
		facts = append(facts, [2]string{"started", s.Started.UTC().Format(time.RFC3339)})
	}
	if !s.Finished.IsZero() {
		facts = append(facts, [2]string{"finished", s.Finished.UTC().Format(time.RFC3339)})
	}
	if s.DurationSeconds > 0 {
		facts = append(facts, [2]string{"duration", (time.Duration(s.DurationSeconds * float64(time.Second))).Round(time.Millisecond).String()})
	}
	return facts
}

// StepFacts returns the end-of-run step's outcome as label/value pairs,
// as the summary sheet and apply show it: its status, then one line per
// server.
func StepFacts(st *batch.Step) [][2]string {
	head := string(st.Status)
	for _, s := range []string{st.Summary, st.Message} {
		if s != "" {
			head += ": " + s
		}
	}
	facts := [][2]string{{"end-of-run step (" + strings.Join(st.Changed, ", ") + ")", head}}
	for _, p := range st.Parts {
		state := "ok"
		if !p.OK {
			state = "FAILED"
		}
		facts = append(facts, [2]string{p.Name, strings.TrimSpace(state + " " + p.Message)})
	}
	return facts
}

// writeFailedSummary writes failed.xlsx's first sheet: what the file is,
// how to apply it again, and which masked cells must be typed again.
func writeFailedSummary(x *workbook.XLSXWriter, s *Summary, in Input, masked []maskedCells) error {
	t, err := x.NewTable(SummarySheet, []string{"failed.xlsx", ""}, workbook.TableOptions{Wrap: true})
	if err != nil {
		return err
	}
	w := rowWriter{t: t}
	w.pairs(runFacts(s)...)
	w.blank()
	total := 0
	for _, m := range masked {
		total += m.failed
	}
	if total == 0 {
		w.pairs([2]string{"nothing to do", "Every row succeeded or had nothing to do: there is nothing to apply again."})
		return w.err
	}
	w.pairs([2]string{"what", fmt.Sprintf("The %d rows that failed or were blocked, on their sheets as in your input. Fix them (the %s column says why; import ignores it) and apply this file again.", total, ReasonColumn)})
	for i, n := range in.Next {
		label := ""
		if i == 0 {
			label = "next"
		}
		w.pairs([2]string{label, n})
	}
	for _, m := range masked {
		if len(m.rows) == 0 {
			continue
		}
		w.pairs([2]string{"retype", fmt.Sprintf("Sheet %s, %s %s, %s %s: the secret is masked (highlighted). Type it again from your own input file before applying; import refuses the mask.",
			m.sheet, plural(len(m.column), "column", "columns"), strings.Join(m.column, ", "), plural(len(m.rows), "row", "rows"), rowList(m.rows, 20))})
	}
	return w.err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// rowList renders row numbers, the first max of them.
func rowList(rows []int, max int) string {
	var parts []string
	for i, r := range rows {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(rows)-max))
			break
		}
		parts = append(parts, strconv.Itoa(r))
	}
	return strings.Join(parts, ", ")
}

// rowWriter writes rows to a table and keeps the first error.
type rowWriter struct {
	t    *workbook.TableWriter
	span bool // a pair's value runs on to the right rather than widen its column
	err  error
}

func (w *rowWriter) cells(c []workbook.Cell) {
	if w.err == nil {
		w.err = w.t.Write(c, workbook.Plain)
	}
}

func (w *rowWriter) blank() { w.cells(nil) }

func (w *rowWriter) pairs(kv ...[2]string) {
	for _, p := range kv {
		w.cells([]workbook.Cell{{Value: p[0], Style: workbook.Heading}, {Value: p[1], Span: w.span}})
	}
}
