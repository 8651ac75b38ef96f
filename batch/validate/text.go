package validate

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/diag"
)

// Repetition in text output: the same problem on many cells of one column
// is shown in full for the first cells, then as one line with the count and
// where the next ones are. JSON and CSV output keep every cell.
const (
	repeatShown = 3 // cells shown in full before the summary line
	repeatCells = 5 // cells the summary line names
)

// WriteText prints diagnostics grouped by sheet (or CSV file), each group
// in row order, repetitions summarised, then one summary line over rows
// data rows.
func WriteText(w io.Writer, l diag.List, rows int) error {
	type repeat struct {
		sheet, code, field string
		sev                diag.Severity
	}
	keyOf := func(d diag.Diagnostic) repeat { return repeat{groupOf(d), d.Code, d.Field, d.Severity} }
	total := map[repeat]int{}
	for _, d := range l {
		if d.Row > 0 {
			total[keyOf(d)]++
		}
	}
	seen := map[repeat]int{}
	var b strings.Builder
	group := "\x00"
	for i, d := range l {
		if g := groupOf(d); g != group {
			if group != "\x00" {
				b.WriteString("\n")
			}
			group = g
			b.WriteString(g + "\n")
		}
		k := keyOf(d)
		n := total[k]
		seen[k]++
		switch s := seen[k]; {
		case n <= repeatShown+1 || s <= repeatShown:
			writeLine(&b, d)
		case s == repeatShown+1:
			var next []string
			for _, e := range l[i:] {
				if len(next) == repeatCells {
					next = append(next, "…")
					break
				}
				if name := cellName(e); e.Row > 0 && keyOf(e) == k && !slices.Contains(next, name) {
					next = append(next, name)
				}
			}
			where := "cells"
			if d.Field != "" {
				where = "cells of " + d.Field
			}
			fmt.Fprintf(&b, "  %-7s %-8s the same on %d more %s: %s [%s]\n", "", d.Severity, n-repeatShown, where, strings.Join(next, ", "), d.Code)
		}
	}
	if len(l) > 0 {
		b.WriteString("\n")
	}
	errs, warns := l.Count()
	verdict := "valid"
	if errs > 0 {
		verdict = "NOT valid"
	}
	fmt.Fprintf(&b, "%s, %s in %s: %s\n", plural(errs, "error"), plural(warns, "warning"), plural(rows, "row"), verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

func groupOf(d diag.Diagnostic) string {
	g := d.Sheet
	if g == "" {
		g = filepath.Base(d.File)
	}
	if g == "." || g == "" {
		g = "input"
	}
	return g
}

func cellName(d diag.Diagnostic) string {
	if d.Col == "" {
		return "row " + strconv.Itoa(d.Row)
	}
	return d.Col + strconv.Itoa(d.Row)
}

func writeLine(b *strings.Builder, d diag.Diagnostic) {
	where := cellName(d)
	if d.Row == 0 {
		where = "-"
	}
	fmt.Fprintf(b, "  %-7s %-8s", where, d.Severity)
	if d.Field != "" {
		fmt.Fprintf(b, " %s:", d.Field)
	}
	fmt.Fprintf(b, " %s [%s]", d.Message, d.Code)
	if d.Value != "" && !strings.Contains(d.Message, d.Value) {
		fmt.Fprintf(b, " (cell: %q)", d.Value)
	}
	b.WriteString("\n")
}

// plural renders "1 error", "1,204 rows".
func plural(n int, word string) string {
	if n != 1 {
		word += "s"
	}
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s + " " + word
}
