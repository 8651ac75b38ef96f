// Package diag carries where a value came from (file, sheet, row, column) and
// the messages the tool reports about it. Every reader, validator, planner and
// report speaks in these terms, so that a user can fix the cell from the
// message alone.
package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Origin is the place a value was read from. Sheet is empty for CSV input.
// Row is the 1-based physical row (the header is row 1); Col is a column
// letter ("D"). A zero Row means "the whole file/sheet"; an empty Col means
// "the whole row".
type Origin struct {
	File  string `json:"file,omitempty"`
	Sheet string `json:"sheet,omitempty"`
	Row   int    `json:"row,omitempty"`
	Col   string `json:"column,omitempty"`
	// Part of Parts: one of the records a row expands into (a range row,
	// schemas x-expand); zero for a row that is one record.
	Part  int `json:"part,omitempty"`
	Parts int `json:"parts,omitempty"`
}

// String renders the origin the way users see it in their tools:
// "Users!D7" for a workbook, "users.csv:7:D" for a CSV file, followed by
// " [2/3]" for the second of three records a row expands into.
func (o Origin) String() string {
	if o.Parts > 0 {
		return fmt.Sprintf("%s [%d/%d]", o.place(), o.Part, o.Parts)
	}
	return o.place()
}

func (o Origin) place() string {
	if o.Sheet != "" {
		switch {
		case o.Row == 0:
			return o.Sheet
		case o.Col == "":
			return fmt.Sprintf("%s!%d", o.Sheet, o.Row)
		default:
			return fmt.Sprintf("%s!%s%d", o.Sheet, o.Col, o.Row)
		}
	}
	name := o.File
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	switch {
	case o.Row == 0:
		return name
	case o.Col == "":
		return fmt.Sprintf("%s:%d", name, o.Row)
	default:
		return fmt.Sprintf("%s:%d:%s", name, o.Row, o.Col)
	}
}

// Cell returns the origin of one column of the same row.
func (o Origin) Cell(col string) Origin { o.Col = col; return o }

// Severity orders messages: errors stop a run, warnings do not.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Diagnostic is one message about one place. Code is stable (scripts match
// on it); Message is plain English and says what to do. Value is the cell's
// text, already masked when the field is secret.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Origin
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Value   string `json:"value,omitempty"`
}

func (d Diagnostic) Error() string {
	var b strings.Builder
	b.WriteString(d.Origin.String())
	if d.Field != "" {
		fmt.Fprintf(&b, " (%s)", d.Field)
	}
	fmt.Fprintf(&b, ": %s [%s]", d.Message, d.Code)
	return b.String()
}

// List collects diagnostics; it is not safe for concurrent use.
type List []Diagnostic

func (l *List) Add(d Diagnostic) { *l = append(*l, d) }

// Errorf and Warnf add a message at an origin.
func (l *List) Errorf(o Origin, field, code, format string, args ...any) {
	l.Add(Diagnostic{Severity: Error, Origin: o, Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (l *List) Warnf(o Origin, field, code, format string, args ...any) {
	l.Add(Diagnostic{Severity: Warning, Origin: o, Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// HasErrors reports whether any message is an error.
func (l List) HasErrors() bool {
	return slices.ContainsFunc(l, func(d Diagnostic) bool { return d.Severity == Error })
}

// Count returns the number of errors and warnings.
func (l List) Count() (errs, warns int) {
	for _, d := range l {
		if d.Severity == Error {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}

// Sort orders messages by file, sheet, row, column, then code, so output is
// deterministic and reads top to bottom like the workbook.
func (l List) Sort() {
	slices.SortStableFunc(l, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Sheet, b.Sheet),
			cmp.Compare(a.Row, b.Row),
			cmp.Compare(a.Part, b.Part),
			cmp.Compare(len(a.Col), len(b.Col)),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Code, b.Code),
		)
	})
}
