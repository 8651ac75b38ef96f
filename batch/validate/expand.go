package validate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Row expansion (schemas x-expand): a cell of an expandable field may hold
// a range "min..max" (APIO: phoneNumber 123456777..123456779 with extension
// 0000..0002). The row then stands for one record per value, ranges paired
// by position, each checked, planned, journaled and reported on its own
// with an origin such as "VirtualUsers!7 [2/3]". Values keep the width and
// leading zeros of the range's ends, and an optional leading "+".

// MaxExpand bounds the records one row may expand into, so that a typo
// (1..999999999) is an error on the cell, not a billion-record plan.
const MaxExpand = 10000

// cellRange is one expanded cell: the column and its values.
type cellRange struct {
	col  *column
	vals []string
}

// expand runs layer 1 on a row, expanded into its records when its
// expandable cells hold ranges. It is called concurrently and only reads sp.
func (sp *spec) expand(wr workbook.Row) []rowResult {
	if len(sp.kind.Expand) == 0 {
		return []rowResult{sp.check(wr)}
	}
	var ranges []cellRange
	var singles []*column // expandable cells holding one value
	var bad diag.List
	for _, path := range sp.kind.Expand {
		ci, ok := sp.byPath[path]
		if !ok {
			continue
		}
		c := &sp.cols[ci]
		text := strings.TrimSpace(cellText(wr.Cells, c.idx))
		if text == "" {
			continue
		}
		if !strings.Contains(text, "..") {
			singles = append(singles, c)
			continue
		}
		vals, err := expandRange(text)
		if err != nil {
			bad.Add(sp.rangeError(c, wr, err.Error()))
			continue
		}
		ranges = append(ranges, cellRange{col: c, vals: vals})
	}
	if len(ranges) == 0 && len(bad) == 0 {
		return []rowResult{sp.check(wr)}
	}
	if len(bad) == 0 {
		bad = sp.pairing(ranges, singles, wr)
	}
	if len(bad) > 0 {
		res := rowResult{row: batch.Row{Kind: sp.kind.Name, Origin: sp.table.rowOrigin(wr.Num), Set: schemas.Record{}}, bad: true}
		res.diags = append(slices.Clip(wr.Diags), bad...)
		return []rowResult{res}
	}
	n := len(ranges[0].vals)
	out := make([]rowResult, n)
	for i := range n {
		part := wr
		part.Cells = slices.Clone(wr.Cells)
		part.Diags = nil // the reader's findings are about the cells: reported once, below
		for _, r := range ranges {
			part.Cells[r.col.idx] = r.vals[i]
		}
		out[i] = sp.check(part)
		markPart(&out[i], wr.Num, i+1, n)
	}
	out[0].diags = append(slices.Clip(wr.Diags), out[0].diags...)
	return out
}

// pairing checks that the ranges of a row can be paired by position: the
// same number of values each, and no expandable cell left with one value
// (it would repeat on every record, a duplicate extension).
func (sp *spec) pairing(ranges []cellRange, singles []*column, wr workbook.Row) diag.List {
	var out diag.List
	first := ranges[0]
	for _, r := range ranges[1:] {
		if len(r.vals) != len(first.vals) {
			out.Add(sp.rangeError(r.col, wr, fmt.Sprintf("this range has %d values and %s's has %d: ranges of one row pair up by position, so they must be the same size",
				len(r.vals), first.col.field.Path, len(first.vals))))
		}
	}
	for _, c := range singles {
		out.Add(sp.rangeError(c, wr, fmt.Sprintf("%s holds a range of %d values, so this cell needs a range of %d values too (min..max), or split the row",
			first.col.field.Path, len(first.vals), len(first.vals))))
	}
	return out
}

func (sp *spec) rangeError(c *column, wr workbook.Row, msg string) diag.Diagnostic {
	o := c.origin
	o.Row = wr.Num
	text := cellText(wr.Cells, c.idx)
	return diag.Diagnostic{Severity: diag.Error, Origin: o, Field: c.field.Path, Code: "schema.range", Message: fmt.Sprintf("%s (%s): %s", c.field.Path, c.field.Title, msg), Value: maskValue(c.field, text)}
}

// markPart gives a record of an expanded row, and every message about it,
// its part of the row.
func markPart(res *rowResult, row, part, parts int) {
	res.row.Origin.Part, res.row.Origin.Parts = part, parts
	for path, o := range res.row.Cells {
		o.Part, o.Parts = part, parts
		res.row.Cells[path] = o
	}
	for i := range res.diags {
		if res.diags[i].Row == row {
			res.diags[i].Part, res.diags[i].Parts = part, parts
		}
	}
}

// expandRange returns the values of "min..max": inclusive, min ≤ max, both
// ends digits of the same width (after an optional "+" on both), each value
// printed at that width.
func expandRange(text string) ([]string, error) {
	lo, hi, _ := strings.Cut(text, "..")
	lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
	plus := strings.HasPrefix(lo, "+")
	if plus != strings.HasPrefix(hi, "+") {
		return nil, fmt.Errorf("range %q: write the + on both ends or on neither", text)
	}
	lo, hi = strings.TrimPrefix(lo, "+"), strings.TrimPrefix(hi, "+")
	digits := func(s string) bool { return s != "" && strings.TrimLeft(s, "0123456789") == "" }
	if !digits(lo) || !digits(hi) || len(lo) > 18 {
		return nil, fmt.Errorf("range %q is not min..max of digits (e.g. 0000..0002)", text)
	}
	if len(lo) != len(hi) {
		return nil, fmt.Errorf("range %q: both ends need the same number of digits, leading zeros included (e.g. %s..%s)", text, strings.Repeat("0", max(0, len(hi)-len(lo)))+lo, hi)
	}
	a, _ := strconv.ParseUint(lo, 10, 64)
	b, _ := strconv.ParseUint(hi, 10, 64)
	switch {
	case a > b:
		return nil, fmt.Errorf("range %q runs backwards: write the lower end first", text)
	case b-a >= MaxExpand:
		return nil, fmt.Errorf("range %q holds %d values, more than the %d one row may expand into: split it over several rows", text, b-a+1, MaxExpand)
	}
	prefix := ""
	if plus {
		prefix = "+"
	}
	out := make([]string, 0, b-a+1)
	for v := a; v <= b; v++ {
		out = append(out, fmt.Sprintf("%s%0*d", prefix, len(lo), v))
	}
	return out, nil
}
