package main

import (
	"io"
	"time"

	"github.com/gocarina/gocsv"

	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
)

// CSV outputs for people who sort and filter in a spreadsheet: the
// validation messages next to the workbook they are about, and the list of
// runs. Text fields are escaped against formula injection (workbook.EscapeCSV):
// a cell value such as "=HYPERLINK(…)" quoted in a message must not run in
// the spreadsheet that opens the report.

type diagCSV struct {
	Severity string `csv:"severity"`
	File     string `csv:"file"`
	Sheet    string `csv:"sheet"`
	Row      int    `csv:"row"`
	Column   string `csv:"column"`
	Cell     string `csv:"cell"`
	Field    string `csv:"field"`
	Code     string `csv:"code"`
	Message  string `csv:"message"`
	Value    string `csv:"value"`
}

func writeDiagsCSV(w io.Writer, l diag.List) error {
	rows := make([]diagCSV, 0, len(l))
	for _, d := range l {
		rows = append(rows, diagCSV{
			Severity: string(d.Severity), File: d.File, Sheet: workbook.EscapeCSV(d.Sheet), Row: d.Row, Column: d.Col,
			Cell: workbook.EscapeCSV(d.Origin.String()), Field: d.Field, Code: d.Code,
			Message: workbook.EscapeCSV(d.Message), Value: workbook.EscapeCSV(d.Value),
		})
	}
	return marshalCSV(w, rows)
}

type runCSV struct {
	ID        string `csv:"id"`
	Target    string `csv:"target"`
	Adapter   string `csv:"adapter"`
	Input     string `csv:"input"`
	Started   string `csv:"started"`
	Finished  string `csv:"finished"`
	State     string `csv:"state"`
	Ops       int    `csv:"ops"`
	Created   int    `csv:"created"`
	Updated   int    `csv:"updated"`
	Deleted   int    `csv:"deleted"`
	Unchanged int    `csv:"unchanged"`
	Failed    int    `csv:"failed"`
	Blocked   int    `csv:"blocked"`
	Skipped   int    `csv:"skipped"`
	Dir       string `csv:"dir"`
}

func writeRunsCSV(w io.Writer, runs []rundir.Info) error {
	rows := make([]runCSV, 0, len(runs))
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, r := range runs {
		c := r.Counts
		rows = append(rows, runCSV{
			ID: r.ID, Target: workbook.EscapeCSV(r.Target), Adapter: r.Adapter, Input: workbook.EscapeCSV(r.Input),
			Started: stamp(r.Started), Finished: stamp(r.Finished), State: string(r.State), Ops: r.Ops,
			Created: c.Created, Updated: c.Updated, Deleted: c.Deleted, Unchanged: c.Unchanged,
			Failed: c.Failed, Blocked: c.Blocked, Skipped: c.Skipped, Dir: workbook.EscapeCSV(r.Dir),
		})
	}
	return marshalCSV(w, rows)
}

// marshalCSV writes rows under a header (also when there are none: a
// script reading the file wants the columns).
func marshalCSV[T any](w io.Writer, rows []T) error {
	return gocsv.Marshal(rows, w)
}
