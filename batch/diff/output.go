package diff

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/sheet"
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

// XLSX writes a workbook for auditors: one sheet per kind listing its
// differences (a change column, then the kind's columns with the new
// values; removed rows show the old ones), changed cells highlighted with
// the old value in a note; and a _summary sheet.
type XLSX struct {
	x    *sheet.XLSX
	t    *sheet.Table
	col  map[string]int // column of each field on the current sheet
	path string
	row  []sheet.Cell
}

// NewXLSX returns a sink that saves to path when finished. Close it in any
// case.
func NewXLSX(path, tmpDir string) (*XLSX, error) {
	x, err := sheet.NewXLSX(sheet.XLSXOptions{TmpDir: tmpDir})
	if err != nil {
		return nil, err
	}
	return &XLSX{x: x, path: path}, nil
}

func (x *XLSX) BeginKind(k *schemas.Kind, cols []string) error {
	t, err := x.x.NewTable(k.Plural, append([]string{"change"}, cols...), sheet.TableOptions{})
	x.t, x.col = t, map[string]int{}
	for i, c := range cols {
		x.col[c] = i + 1
	}
	return err
}

func (x *XLSX) Change(c *Change) error {
	vals := c.New
	style := sheet.Plain
	switch c.Type {
	case Added:
		style = sheet.Added
	case Removed:
		vals, style = c.Old, sheet.Removed
	}
	x.row = append(x.row[:0], sheet.Cell{Value: string(c.Type), Comment: at(c)})
	for _, v := range vals {
		x.row = append(x.row, sheet.Cell{Value: v})
	}
	for _, f := range c.Fields {
		x.row[x.col[f.Field]] = sheet.Cell{Value: f.After, Style: sheet.Changed, Comment: "was: " + quote(f.Before)}
	}
	return x.t.Write(x.row, style)
}

func at(c *Change) string {
	switch c.Type {
	case Added:
		return "new " + c.NewAt
	case Removed:
		return "old " + c.OldAt
	}
	return "old " + c.OldAt + ", new " + c.NewAt
}

func (x *XLSX) EndKind(*KindSummary) error { return nil }

func (x *XLSX) Finish(s *Summary) error {
	t, err := x.x.NewTable("_summary", []string{"kind", "added", "removed", "changed", "unchanged", "not_compared"}, sheet.TableOptions{})
	if err != nil {
		return err
	}
	for _, k := range s.Kinds {
		row := []string{k.Kind, strconv.Itoa(k.Added), strconv.Itoa(k.Removed), strconv.Itoa(k.Changed), strconv.Itoa(k.Unchanged), strings.Join(k.NotCompared, ";")}
		if err := t.WriteRow(row); err != nil {
			return err
		}
	}
	for _, kv := range [][]string{{"old", sideName(s.Old)}, {"new", sideName(s.New)}, {"adapter", s.Adapter}} {
		if err := t.WriteRow(kv); err != nil {
			return err
		}
	}
	return x.x.Save(x.path)
}

// Close releases temp files.
func (x *XLSX) Close() error { return x.x.Close() }
