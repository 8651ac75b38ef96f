package validate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/spelling"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// column is one header cell mapped to a field (or to the action column).
type column struct {
	idx    int // index into the row's cells
	field  *schemas.Field
	origin diag.Origin // the header cell; Row is replaced per data row
	rule   *Rule
	key    bool
}

// spec is how one table's columns map onto one kind, worked out once from
// the header and shared read-only by the row validators.
type spec struct {
	kind      *schemas.Kind
	table     *table
	cols      []column // field columns, in header order
	byPath    map[string]int
	actionCol int // cell index of the action column, or -1
	keyCols   []int
	// lacking are required fields without a column: fatal for key fields,
	// reported at the end of the table for others, and only when some row
	// creates a record (a sheet of updates or deletes does not need them).
	lacking  []*schemas.Field
	zero     []*zeroColumn // leading-zero watch on "digits" columns
	plus     []*plusColumn // lost-+ watch on "phone" columns
	example  []exampleCell // the template's example row of the kind, when it has one
	export   bool          // the input is a pbxbatch export (read-only columns are its own)
	v        *Validator
	raw      any         // the decoded schema, to explain if/then conditions
	tableIdx uint32      // the table's index in cross
	fast     *fastSchema // nil when the schema needs the full validator
	// keepCells fills Row.Cells; only worth it when rows are emitted (the
	// planner reports by cell), not when validation is all that is asked.
	keepCells bool
}

// headerFor maps a table's header onto kind k. It reports every problem of
// the header and returns ok=false when rows cannot be checked meaningfully
// (a key column is missing).
func (v *Validator) headerFor(t *table, k *schemas.Kind, out *diag.List) (sp *spec, ok bool) {
	sp = &spec{kind: k, table: t, byPath: map[string]int{}, actionCol: -1, raw: decodeRaw(k), v: v, export: t.export, example: exampleOf(k)}
	sp.fast = compileFast(sp.raw)
	seen := map[string]int{} // field path or "action" -> header index
	ok = true
	for i, h := range t.header {
		name := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(h), "*"))
		if name == "" || strings.HasPrefix(name, "#") {
			continue // blank header or a "#notes" column the user keeps for themselves
		}
		o := t.cellOrigin(t.headerRow, i)
		var f *schemas.Field
		id := "action"
		if !strings.EqualFold(name, "action") {
			if f = findField(k, name); f == nil {
				msg := fmt.Sprintf("column %q is not a field of %s", name, k.Name)
				if near := nearestField(k, name); near != "" {
					msg += fmt.Sprintf("; did you mean %q? Rename it", near)
				} else {
					msg += "; rename it"
				}
				msg += ", delete it, or start its header with # to keep it as a note"
				out.Add(diag.Diagnostic{Severity: diag.Error, Origin: o, Code: "header.unknown_column", Message: msg, Value: h})
				continue
			}
			id = f.Path
		}
		if first, dup := seen[id]; dup {
			if strings.EqualFold(strings.TrimSpace(t.header[first]), strings.TrimSpace(h)) {
				continue // the same header twice: the reader has said so already
			}
			out.Add(diag.Diagnostic{Severity: diag.Error, Origin: o, Field: fieldPath(f), Code: "header.duplicate_column",
				Message: fmt.Sprintf("column %q appears twice: also at %s; keep one of them", id, t.cellOrigin(t.headerRow, first)), Value: h})
			continue
		}
		seen[id] = i
		if f == nil {
			sp.actionCol = i
			continue
		}
		c := column{idx: i, field: f, origin: o, key: slices.Contains(k.Key, f.Path), rule: v.rules[f]}
		sp.byPath[f.Path] = len(sp.cols)
		if c.key {
			sp.keyCols = append(sp.keyCols, len(sp.cols))
		}
		if f.Text == "digits" && f.Type == "string" {
			sp.zero = append(sp.zero, newZeroColumn(len(sp.cols)))
		}
		if f.Text == "phone" && f.Type == "string" {
			sp.plus = append(sp.plus, &plusColumn{col: len(sp.cols)})
		}
		sp.cols = append(sp.cols, c)
	}
	for _, f := range k.Fields {
		if _, has := sp.byPath[f.Path]; has || f.ReadOnly {
			continue
		}
		isKey := slices.Contains(k.Key, f.Path)
		if isKey {
			out.Add(diag.Diagnostic{Severity: diag.Error, Origin: t.rowOrigin(t.headerRow), Field: f.Path, Code: "header.missing_column",
				Message: fmt.Sprintf("the key column %q (%s) is missing; every %s row needs it, so no row of this sheet was checked; add the column", f.Path, f.Title, k.Name)})
			ok = false
			continue
		}
		if f.Required {
			sp.lacking = append(sp.lacking, f)
		}
	}
	// Keep key columns in key order, the order KeyOf uses.
	slices.SortFunc(sp.keyCols, func(a, b int) int {
		return slices.Index(k.Key, sp.cols[a].field.Path) - slices.Index(k.Key, sp.cols[b].field.Path)
	})
	return sp, ok
}

func fieldPath(f *schemas.Field) string {
	if f == nil {
		return ""
	}
	return f.Path
}

// findField matches a header to a field by dotted path or by title,
// case-insensitively: templates show paths, people type titles.
func findField(k *schemas.Kind, name string) *schemas.Field {
	if f := k.Field(name); f != nil {
		return f
	}
	for _, f := range k.Fields {
		if strings.EqualFold(f.Path, name) {
			return f
		}
	}
	for _, f := range k.Fields {
		if f.Title != "" && strings.EqualFold(f.Title, name) {
			return f
		}
	}
	return nil
}

// nearestField suggests the field a mistyped header probably meant.
func nearestField(k *schemas.Kind, name string) string {
	var cands, paths []string
	for _, f := range k.Fields {
		cands = append(cands, f.Path, f.Title)
		paths = append(paths, f.Path, f.Path)
	}
	if i := nearest(name, cands, 3); i >= 0 {
		return paths[i]
	}
	return ""
}

// maxSuggestLen bounds the text a suggestion is computed for: edit
// distance costs the product of the lengths, and a 20 MB header cell is
// damage, not a typo.
const maxSuggestLen = 64

// nearest returns the index of the candidate a mistyped name probably
// meant, or -1: the same text but for case and accents ("Goteborg" for
// "Göteborg") first, then the closest within maxDist edits (and at most
// half the name's length, so that "a" suggests nothing). Names that differ
// only in digits are different numbers, not typos ("u000003", "u000000").
func nearest(name string, cands []string, maxDist int) int {
	if name == "" || len(name) > maxSuggestLen {
		return -1
	}
	folded, letters := fold(name), noDigits(name)
	best, bestD := -1, min(maxDist, max(1, (len([]rune(name))+1)/2))+1
	for i, c := range cands {
		if c == "" || len(c) > maxSuggestLen || c == name {
			continue
		}
		fc := fold(c)
		if fc == folded {
			return i
		}
		if noDigits(c) == letters {
			continue
		}
		if d := spelling.Distance(folded, fc); d < bestD {
			best, bestD = i, d
		}
	}
	return best
}

func noDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, s)
}

// fold lower-cases and drops the accents of Latin letters, so that
// "Göteborg", "GOTEBORG" and "goteborg" compare equal.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if a, ok := unaccented[r]; ok {
			return a
		}
		return r
	}, strings.ToLower(s))
}

var unaccented = func() map[rune]rune {
	m := map[rune]rune{}
	for _, p := range []string{"aàáâãäåā", "cçč", "eèéêëē", "iìíîïī", "nñń", "oòóôõöøō", "sšś", "uùúûüū", "yýÿ", "zžźż"} {
		r := []rune(p)
		for _, x := range r[1:] {
			m[x] = r[0]
		}
	}
	return m
}()

// actions are the values of the action column, for suggestions.
var actions = []string{string(batch.Upsert), string(batch.CreateRow), string(batch.UpdateRow), string(batch.DeleteRow)}

// parseAction reads the action column: blank is upsert.
func parseAction(s string) (batch.RowAction, bool) {
	switch a := batch.RowAction(strings.ToLower(strings.TrimSpace(s))); a {
	case "":
		return batch.Upsert, true
	case batch.Upsert, batch.CreateRow, batch.UpdateRow, batch.DeleteRow:
		return a, true
	}
	return batch.Upsert, false
}
