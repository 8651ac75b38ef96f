package diff

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/batch/export"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Text writes a diff for a terminal: each kind's changes, then a summary.
//
//	people
//	  + user000123                                    (new people!124)
//	  - user000007                                    (old people!8)
//	  ~ jdoe
//	      email: "jdoe@old.example" → "jdoe@example.com"
type Text struct {
	w       *bufio.Writer
	k       *schemas.Kind
	started bool
}

// NewText returns a text sink writing to w.
func NewText(w io.Writer) *Text { return &Text{w: bufio.NewWriter(w)} }

func (t *Text) BeginKind(k *schemas.Kind, _ []string) error {
	t.k, t.started = k, false
	return nil
}

func (t *Text) Change(c *Change) error {
	if !t.started {
		fmt.Fprintf(t.w, "%s\n", t.k.Plural)
		t.started = true
	}
	switch c.Type {
	case Added:
		fmt.Fprintf(t.w, "  + %s  (new %s)\n", c.Key, c.NewAt)
	case Removed:
		fmt.Fprintf(t.w, "  - %s  (old %s)\n", c.Key, c.OldAt)
	case Changed:
		fmt.Fprintf(t.w, "  ~ %s  (old %s, new %s)\n", c.Key, c.OldAt, c.NewAt)
		for _, f := range c.Fields {
			fmt.Fprintf(t.w, "      %s: %s → %s\n", f.Field, quote(f.Before), quote(f.After))
		}
	}
	return nil
}

func quote(s string) string {
	if s == "" {
		return "(blank)"
	}
	return strconv.Quote(s)
}

func (t *Text) EndKind(*KindSummary) error {
	if t.started {
		t.w.WriteString("\n")
	}
	return t.w.Flush()
}

func (t *Text) Finish(s *Summary) error {
	fmt.Fprintf(t.w, "Compared %s with %s (adapter %s)\n", sideName(s.Old), sideName(s.New), s.Adapter)
	width := 0
	for _, k := range s.Kinds {
		width = max(width, len(k.Kind))
	}
	for _, k := range s.Kinds {
		fmt.Fprintf(t.w, "  %-*s  %s\n", width, k.Kind, k.Counts())
		if len(k.NotCompared) > 0 {
			fmt.Fprintf(t.w, "  %-*s  not compared: %s\n", width, "", strings.Join(k.NotCompared, ", "))
		}
		if k.DuplicateKeys > 0 {
			fmt.Fprintf(t.w, "  %-*s  %d rows repeat a key already seen on their side\n", width, "", k.DuplicateKeys)
		}
	}
	for _, ig := range s.Ignored {
		fmt.Fprintf(t.w, "  ignored %s: it is no kind of %s\n", ig, s.Adapter)
	}
	if s.Identical() {
		t.w.WriteString("No differences.\n")
	} else {
		tot := s.Total()
		fmt.Fprintf(t.w, "Differences: %d added, %d removed, %d changed.\n", tot.Added, tot.Removed, tot.Changed)
	}
	return t.w.Flush()
}

func sideName(s Side) string {
	if s.ExportedAt == "" {
		return s.Path
	}
	return fmt.Sprintf("%s (%s, exported %s)", s.Path, s.Target, s.ExportedAt)
}

// JSON writes one JSON document for scripts, streaming the changes:
//
//	{"changes": [{"kind","key","change","fields":[{"field","before","after"}],"old_at","new_at"}, …],
//	 "summary": {"adapter", "old", "new", "kinds": [{"kind","added","removed","changed","unchanged"}]},
//	 "identical": false}
type JSON struct {
	w     *bufio.Writer
	count int
}

// NewJSON returns a JSON sink writing to w.
func NewJSON(w io.Writer) *JSON {
	j := &JSON{w: bufio.NewWriter(w)}
	j.w.WriteString("{\"changes\": [")
	return j
}

func (j *JSON) BeginKind(*schemas.Kind, []string) error { return nil }

func (j *JSON) Change(c *Change) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if j.count > 0 {
		j.w.WriteString(",")
	}
	j.count++
	j.w.WriteString("\n  ")
	_, err = j.w.Write(b)
	return err
}

func (j *JSON) EndKind(*KindSummary) error { return nil }

func (j *JSON) Finish(s *Summary) error {
	b, err := json.MarshalIndent(s, "  ", "  ")
	if err != nil {
		return err
	}
	if j.count > 0 {
		j.w.WriteString("\n  ")
	}
	fmt.Fprintf(j.w, "],\n  \"summary\": %s,\n  \"identical\": %t\n}\n", b, s.Identical())
	return j.w.Flush()
}

// XLSX writes a workbook for auditors that prints as well as it filters:
// a _summary sheet first (counts as numbers, the two sides), then one sheet
// per kind that differs, one row per difference of one field, with the old
// and the new value in columns of their own:
//
//	change   userId  field  old               new               old at      new at
//	changed  jdoe    email  jdoe@old.example  jdoe@example.com  people!3    people!3
//	added    new     email                    new@example.com               people!4
//
// An added or removed record lists each of its filled fields. Secret
// columns are masked when read, so no value of theirs appears.
type XLSX struct {
	x    *workbook.XLSXWriter
	t    *workbook.TableWriter // nil until the kind's first change
	k    *schemas.Kind
	cols []string
	keys []int // indexes of the key columns in cols
	path string
	row  []workbook.Cell
}

// summarySheet is the diff workbook's first sheet; its "_" makes import and
// diff skip it.
const summarySheet = "_summary"

// NewXLSX returns a sink that saves to path when finished. Close it in any
// case.
func NewXLSX(path, tmpDir string) (*XLSX, error) {
	x, err := workbook.NewXLSXWriter(workbook.XLSXOptions{TmpDir: tmpDir})
	if err != nil {
		return nil, err
	}
	if err := x.Reserve(summarySheet); err != nil {
		x.Close()
		return nil, err
	}
	return &XLSX{x: x, path: path}, nil
}

func (x *XLSX) BeginKind(k *schemas.Kind, cols []string) error {
	x.t, x.k, x.cols, x.keys = nil, k, cols, export.KeyColumns(k, cols)
	return nil
}

func (x *XLSX) Change(c *Change) error {
	if x.t == nil {
		header := []string{"change"}
		for _, i := range x.keys {
			header = append(header, x.cols[i])
		}
		header = append(header, "field", "old", "new", "old at", "new at")
		t, err := x.x.NewTable(x.k.Plural, header, workbook.TableOptions{FreezeColumns: 1 + len(x.keys)})
		if err != nil {
			return err
		}
		x.t = t
	}
	switch c.Type {
	case Changed:
		for _, f := range c.Fields {
			if err := x.write(c, c.New, f.Field, workbook.Cell{Value: f.Before}, workbook.Cell{Value: f.After, Style: workbook.Changed}, workbook.Plain); err != nil {
				return err
			}
		}
		return nil
	case Added:
		return x.record(c, c.New, workbook.Added, func(v string) (workbook.Cell, workbook.Cell) { return workbook.Cell{}, workbook.Cell{Value: v} })
	}
	return x.record(c, c.Old, workbook.Removed, func(v string) (workbook.Cell, workbook.Cell) { return workbook.Cell{Value: v}, workbook.Cell{} })
}

// record writes an added or removed record: a row per filled field that is
// neither key nor secret, or one row when there is none.
func (x *XLSX) record(c *Change, vals []string, style workbook.Style, cells func(string) (old, new workbook.Cell)) error {
	wrote := false
	for i, v := range vals {
		if v == "" || slices.Contains(x.keys, i) || x.k.Field(x.cols[i]).Secret {
			continue
		}
		o, n := cells(v)
		if err := x.write(c, vals, x.cols[i], o, n, style); err != nil {
			return err
		}
		wrote = true
	}
	if wrote {
		return nil
	}
	return x.write(c, vals, "", workbook.Cell{}, workbook.Cell{}, style)
}

func (x *XLSX) write(c *Change, vals []string, field string, old, new workbook.Cell, style workbook.Style) error {
	x.row = append(x.row[:0], workbook.Cell{Value: string(c.Type)})
	for _, i := range x.keys {
		v := ""
		if i >= 0 {
			v = vals[i]
		}
		x.row = append(x.row, workbook.Cell{Value: v})
	}
	x.row = append(x.row, workbook.Cell{Value: field}, old, new, workbook.Cell{Value: c.OldAt}, workbook.Cell{Value: c.NewAt})
	return x.t.Write(x.row, style)
}

func (x *XLSX) EndKind(*KindSummary) error { return nil }

func (x *XLSX) Finish(s *Summary) error {
	t, err := x.x.NewTable(summarySheet, []string{"kind", "added", "removed", "changed", "unchanged", "not compared"}, workbook.TableOptions{})
	if err != nil {
		return err
	}
	num := func(n int) workbook.Cell { return workbook.Cell{Value: strconv.Itoa(n), Number: true} }
	var same []string
	for _, k := range s.Kinds {
		if !k.Differs() {
			same = append(same, k.Kind)
			continue
		}
		row := []workbook.Cell{{Value: k.Kind}, num(k.Added), num(k.Removed), num(k.Changed), num(k.Unchanged), {Value: strings.Join(k.NotCompared, ", ")}}
		if err := t.Write(row, workbook.Plain); err != nil {
			return err
		}
	}
	tot := s.Total()
	if err := t.Write([]workbook.Cell{{Value: "total"}, num(tot.Added), num(tot.Removed), num(tot.Changed), num(tot.Unchanged)}, workbook.Heading); err != nil {
		return err
	}
	if err := t.Write(nil, workbook.Plain); err != nil {
		return err
	}
	facts := [][2]string{{"old", sideName(s.Old)}, {"new", sideName(s.New)}, {"adapter", s.Adapter}}
	if len(same) > 0 {
		facts = append(facts, [2]string{"identical", strings.Join(same, ", ")})
	}
	if s.Identical() {
		facts = append(facts, [2]string{"result", "No differences."})
	}
	for _, kv := range facts {
		if err := t.Write([]workbook.Cell{{Value: kv[0], Style: workbook.Heading}, {Value: kv[1], Span: true}}, workbook.Plain); err != nil {
			return err
		}
	}
	return x.x.Save(x.path)
}

// Close releases temp files.
func (x *XLSX) Close() error { return x.x.Close() }
