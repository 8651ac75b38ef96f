package export

import (
	"cmp"
	"slices"

	"github.com/pbxbatch/pbxbatch/internal/extsort"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Header returns a kind's columns: its fields in schema order.
func Header(k *schemas.Kind) []string {
	out := make([]string, len(k.Fields))
	for i, f := range k.Fields {
		out[i] = f.Path
	}
	return out
}

// Row renders a record as the cells of its kind's columns. Secret fields
// are blank.
func Row(k *schemas.Kind, r schemas.Record) []string {
	out := make([]string, len(k.Fields))
	for i, f := range k.Fields {
		if !f.Secret {
			out[i] = r.String(f.Path)
		}
	}
	return out
}

// KeyColumns returns the indexes of a kind's natural key among its columns.
func KeyColumns(k *schemas.Kind, header []string) []int {
	idx := make([]int, 0, len(k.Key))
	for _, key := range k.Key {
		idx = append(idx, slices.Index(header, key))
	}
	return idx
}

// CompareKeys orders rows by the given key columns (a missing column, -1,
// compares as blank).
func CompareKeys(keyCols []int) func(a, b []string) int {
	return func(a, b []string) int {
		for _, i := range keyCols {
			if c := cmp.Compare(cell(a, i), cell(b, i)); c != 0 {
				return c
			}
		}
		return 0
	}
}

func cell(row []string, i int) string {
	if i < 0 || i >= len(row) {
		return ""
	}
	return row[i]
}

// rowOrder is the total order of an export: natural key, then the whole
// row, so that even duplicate keys come out the same every time.
func rowOrder(keyCols []int) extsort.Compare {
	byKey := CompareKeys(keyCols)
	return func(a, b []string) int {
		if c := byKey(a, b); c != 0 {
			return c
		}
		return slices.Compare(a, b)
	}
}
