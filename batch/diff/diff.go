// Package diff compares two exports (or any two workbooks of one adapter)
// kind by kind, by natural key: rows added, removed, and changed with the
// field-level before → after. Both sides are sorted by key with bounded
// memory (exports already are) and merged, so two inventories of hundreds
// of thousands of rows compare in a few tens of MiB.
package diff

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/batch/export"
	"github.com/pbxbatch/pbxbatch/internal/extsort"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Type is what happened to a record between the two sides.
type Type string

const (
	Added   Type = "added"
	Removed Type = "removed"
	Changed Type = "changed"
)

// Field is one changed field.
type Field struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Change is one record that differs.
type Change struct {
	Kind   string  `json:"kind"`
	Key    string  `json:"key"`
	Type   Type    `json:"change"`
	Fields []Field `json:"fields,omitempty"` // Changed only
	OldAt  string  `json:"old_at,omitempty"` // where the old row is ("people!7")
	NewAt  string  `json:"new_at,omitempty"`
	// Old and New are the rows in the kind's column order (Columns of its
	// KindSummary); nil on the side where the record is absent.
	Old []string `json:"-"`
	New []string `json:"-"`
}

// KindSummary counts one kind's differences.
type KindSummary struct {
	Kind      string   `json:"kind"`
	Columns   []string `json:"-"` // the kind's columns, as in Change.Old/New
	Added     int      `json:"added"`
	Removed   int      `json:"removed"`
	Changed   int      `json:"changed"`
	Unchanged int      `json:"unchanged"`
	// NotCompared lists columns present on one side only (a workbook may
	// leave columns out). Secret columns are never compared: exports leave
	// them blank.
	NotCompared []string `json:"not_compared,omitempty"`
	// DuplicateKeys counts rows whose key repeats on one side; they are
	// paired in order, extras count as added or removed.
	DuplicateKeys int `json:"duplicate_keys,omitempty"`
}

// Differs reports whether the kind has any difference.
func (k KindSummary) Differs() bool { return k.Added+k.Removed+k.Changed > 0 }

// Side describes one input.
type Side struct {
	Path       string `json:"path"`
	Target     string `json:"target,omitempty"`
	ExportedAt string `json:"exported_at,omitempty"`
}

// Summary is the outcome of a comparison.
type Summary struct {
	Adapter string        `json:"adapter"`
	Old     Side          `json:"old"`
	New     Side          `json:"new"`
	Kinds   []KindSummary `json:"kinds"`
	// Ignored lists sheets or files that are no kind of the adapter.
	Ignored []string `json:"ignored,omitempty"`
}

// Identical reports whether no kind differs.
func (s *Summary) Identical() bool {
	return !slices.ContainsFunc(s.Kinds, KindSummary.Differs)
}

// Sink receives the comparison as it runs: a kind starts, its changes in
// key order, the kind ends; Finish gets the totals.
type Sink interface {
	BeginKind(k *schemas.Kind, columns []string) error
	Change(c *Change) error
	EndKind(k *KindSummary) error
	Finish(s *Summary) error
}

// Options tune a comparison.
type Options struct {
	// Adapter names the adapter when neither input is an export that says.
	Adapter string
	// Kinds limits the comparison (names or plurals); empty = all.
	Kinds        []string
	TmpDir       string
	SortMemBytes int // per side and kind; 0 = 32 MiB
}

// Adapter returns the adapter of two inputs: from their export metadata,
// or the one given. It fails when they disagree.
func Adapter(oldPath, newPath, given string) (string, error) {
	var found []string
	for _, p := range []string{oldPath, newPath} {
		if m, err := export.ReadManifest(p); err == nil {
			found = append(found, m.Adapter)
			if given != "" && m.Adapter != given {
				return "", fmt.Errorf("%s is an export of adapter %s, not %s", p, m.Adapter, given)
			}
		}
	}
	if len(found) == 2 && found[0] != found[1] {
		return "", fmt.Errorf("%s is an export of %s but %s is an export of %s: only exports of the same adapter compare", oldPath, found[0], newPath, found[1])
	}
	switch {
	case given != "":
		return given, nil
	case len(found) > 0:
		return found[0], nil
	}
	return "", fmt.Errorf("neither %s nor %s is a pbxbatch export (no _metadata sheet or manifest.json): name the adapter with --adapter", oldPath, newPath)
}

// Compare compares two workbooks of the kinds in set and streams the result
// to sink.
func Compare(ctx context.Context, oldPath, newPath string, set *schemas.Set, o Options, sink Sink) (*Summary, error) {
	kinds, err := export.Kinds(set, o.Kinds)
	if err != nil {
		return nil, err
	}
	s := &Summary{Adapter: set.Adapter, Old: describe(oldPath), New: describe(newPath)}
	ob, err := workbook.Open(oldPath, workbook.Options{TmpDir: o.TmpDir})
	if err != nil {
		return nil, err
	}
	defer ob.Close()
	nb, err := workbook.Open(newPath, workbook.Options{TmpDir: o.TmpDir})
	if err != nil {
		return nil, err
	}
	defer nb.Close()
	oldT, ign1 := tablesByKind(ob, set)
	newT, ign2 := tablesByKind(nb, set)
	s.Ignored = append(ign1, ign2...)
	for _, k := range kinds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ks, err := compareKind(ctx, k, oldT[k], newT[k], o, sink)
		if err != nil {
			return nil, err
		}
		s.Kinds = append(s.Kinds, *ks)
	}
	return s, sink.Finish(s)
}

func describe(path string) Side {
	sd := Side{Path: path}
	if m, err := export.ReadManifest(path); err == nil {
		sd.Target = m.Target
		if !m.ExportedAt.IsZero() {
			sd.ExportedAt = m.ExportedAt.Format("2006-01-02 15:04:05Z07:00")
		}
	}
	return sd
}

// tablesByKind maps a book's tables to kinds: "people", "people (2)",
// "people.csv" all belong to person. Sheets starting with "_" (metadata)
// are skipped; others that name no kind are returned as ignored.
func tablesByKind(b *workbook.Book, set *schemas.Set) (map[*schemas.Kind][]*workbook.Table, []string) {
	out := map[*schemas.Kind][]*workbook.Table{}
	var ignored []string
	for _, t := range b.Tables {
		base, _ := workbook.SplitName(t.Name)
		if strings.HasPrefix(base, "_") {
			continue
		}
		k := set.Kind(base)
		if k == nil {
			ignored = append(ignored, t.Origin(0, -1).String())
			continue
		}
		out[k] = append(out[k], t)
	}
	return out, ignored
}

// side is one input's rows of one kind, sorted by key. Each row is the
// kind's columns followed by the row's origin ("people!7").
type side struct {
	rows    *extsort.Sorter
	present []bool // per kind column: some table has it
}

func readSide(ctx context.Context, k *schemas.Kind, tables []*workbook.Table, cols []string, keyCols []int, o Options) (*side, error) {
	s := &side{
		rows:    extsort.New(export.CompareKeys(keyCols), extsort.Options{MaxBytes: o.SortMemBytes, TmpDir: o.TmpDir}),
		present: make([]bool, len(cols)),
	}
	secret := make([]bool, len(cols))
	for i, c := range cols {
		secret[i] = k.Field(c) != nil && k.Field(c).Secret
	}
	for _, t := range tables {
		idx := make([]int, len(cols))
		for i, c := range cols {
			idx[i] = column(t, k, c)
			s.present[i] = s.present[i] || idx[i] >= 0
		}
		rows, err := t.Rows()
		if err != nil {
			s.rows.Close()
			return nil, err
		}
		for n := 0; rows.Next(); n++ {
			if n%4096 == 0 && ctx.Err() != nil {
				break
			}
			r := rows.Row()
			row := make([]string, len(cols)+1)
			for i, j := range idx {
				if j >= 0 {
					row[i] = r.Cells[j] // CSV cells come unescaped (workbook.UnescapeCSV)
				}
				if secret[i] && row[i] != "" {
					// Masked as soon as read: a rollout workbook holds
					// passwords, and no output may show them.
					row[i] = schemas.Mask
				}
			}
			row[len(cols)] = t.Origin(r.Num, -1).String()
			if err := s.rows.Add(row); err != nil {
				rows.Close()
				s.rows.Close()
				return nil, err
			}
		}
		err = cmp.Or(rows.Err(), ctx.Err())
		rows.Close()
		if err != nil {
			s.rows.Close()
			return nil, err
		}
	}
	return s, nil
}

func compareKind(ctx context.Context, k *schemas.Kind, oldT, newT []*workbook.Table, o Options, sink Sink) (*KindSummary, error) {
	cols := export.Header(k)
	keyCols := export.KeyColumns(k, cols)
	ks := &KindSummary{Kind: k.Name, Columns: cols}
	olds, err := readSide(ctx, k, oldT, cols, keyCols, o)
	if err != nil {
		return nil, err
	}
	defer olds.rows.Close()
	news, err := readSide(ctx, k, newT, cols, keyCols, o)
	if err != nil {
		return nil, err
	}
	defer news.rows.Close()
	// Compare the columns both sides have, except secrets: an export never
	// holds them, so they would differ from any filled-in workbook.
	var compared []int
	for i, c := range cols {
		switch {
		case k.Field(c).Secret:
		case olds.present[i] && news.present[i]:
			compared = append(compared, i)
		case olds.present[i] || news.present[i]:
			ks.NotCompared = append(ks.NotCompared, c)
		}
	}
	if err := sink.BeginKind(k, cols); err != nil {
		return nil, err
	}
	oi, err := olds.rows.Iter()
	if err != nil {
		return nil, err
	}
	ni, err := news.rows.Iter()
	if err != nil {
		return nil, err
	}
	byKey := export.CompareKeys(keyCols)
	key := func(row []string) string {
		parts := make([]string, len(keyCols))
		for i, c := range keyCols {
			parts[i] = row[c]
		}
		return strings.Join(parts, " / ")
	}
	origin := func(row []string) string { return row[len(cols)] }
	next := func(it *extsort.Iter, prev *[]string) []string {
		if !it.Next() {
			return nil
		}
		r := it.Row()
		if *prev != nil && byKey(*prev, r) == 0 {
			ks.DuplicateKeys++
		}
		*prev = r
		return r
	}
	var po, pn []string
	or, nr := next(oi, &po), next(ni, &pn)
	for n := 0; or != nil || nr != nil; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c := 0
		switch {
		case or == nil:
			c = 1
		case nr == nil:
			c = -1
		default:
			c = byKey(or, nr)
		}
		var ch *Change
		switch {
		case c < 0:
			ch = &Change{Kind: k.Name, Key: key(or), Type: Removed, OldAt: origin(or), Old: or[:len(cols)]}
			ks.Removed++
			or = next(oi, &po)
		case c > 0:
			ch = &Change{Kind: k.Name, Key: key(nr), Type: Added, NewAt: origin(nr), New: nr[:len(cols)]}
			ks.Added++
			nr = next(ni, &pn)
		default:
			var fields []Field
			for _, i := range compared {
				if or[i] != nr[i] {
					fields = append(fields, Field{Field: cols[i], Before: or[i], After: nr[i]})
				}
			}
			if len(fields) > 0 {
				ch = &Change{Kind: k.Name, Key: key(nr), Type: Changed, Fields: fields, OldAt: origin(or), NewAt: origin(nr),
					Old: or[:len(cols)], New: nr[:len(cols)]}
				ks.Changed++
			} else {
				ks.Unchanged++
			}
			or, nr = next(oi, &po), next(ni, &pn)
		}
		if ch != nil {
			if err := sink.Change(ch); err != nil {
				return nil, err
			}
		}
	}
	if err := cmp.Or(oi.Err(), ni.Err()); err != nil {
		return nil, err
	}
	return ks, sink.EndKind(ks)
}

// Total adds up the kinds.
func (s *Summary) Total() KindSummary {
	var t KindSummary
	for _, k := range s.Kinds {
		t.Added += k.Added
		t.Removed += k.Removed
		t.Changed += k.Changed
		t.Unchanged += k.Unchanged
	}
	return t
}

// Counts renders a kind's counts for people: "2 added, 1 changed".
func (k KindSummary) Counts() string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{k.Added, "added"}, {k.Removed, "removed"}, {k.Changed, "changed"}, {k.Unchanged, "unchanged"}} {
		if c.n > 0 || c.what == "unchanged" && len(parts) == 0 {
			parts = append(parts, strconv.Itoa(c.n)+" "+c.what)
		}
	}
	return strings.Join(parts, ", ")
}

// column finds a field's column by its path or, as import also accepts, by
// its title; -1 when the table has neither.
func column(t *workbook.Table, k *schemas.Kind, path string) int {
	if i := t.Column(path); i >= 0 {
		return i
	}
	if f := k.Field(path); f != nil && f.Title != "" {
		return t.Column(f.Title)
	}
	return -1
}
