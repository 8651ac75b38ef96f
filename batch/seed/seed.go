// Package seed reads a simulator's starting inventory from a workbook in
// the import format (an .xlsx, a .csv or a directory of .csv files, for
// instance a `pbxbatch export` of the production system). It is the one way
// every simulator is seeded from a file, so that simulators stay free of
// the engine and a seed is checked exactly as an import would be.
package seed

import (
	"context"
	"fmt"
	"strings"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// shownErrors is how many validation errors a refused seed quotes.
const shownErrors = 5

// Read validates the workbook at path against the platform's kinds and
// returns its records, every kind after the kinds it references. Rows whose
// action is delete are left out. An invalid workbook is refused with its
// first errors, each naming its cell.
func Read(ctx context.Context, set *schemas.Set, path string) (simkit.Seed, error) {
	v, err := validate.New(set, validate.Options{})
	if err != nil {
		return nil, err
	}
	byKind := map[string]simkit.Seed{}
	res, err := v.File(ctx, path, func(r batch.Row) error {
		if r.Action != batch.DeleteRow {
			byKind[r.Kind] = append(byKind[r.Kind], simkit.SeedRecord{Kind: r.Kind, Record: r.Set, Origin: r.Origin.String()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	if !res.Valid() {
		return nil, invalid(set.Adapter, path, res.Diags)
	}
	order, err := set.Order()
	if err != nil {
		return nil, err
	}
	n := 0
	for _, rs := range byKind {
		n += len(rs)
	}
	out := make(simkit.Seed, 0, n)
	for _, k := range order {
		out = append(out, byKind[k.Name]...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("seed %s holds no %s records (sheets or CSV files named after the kinds: %s)", path, set.Adapter, plurals(order))
	}
	return out, nil
}

func invalid(adapter, path string, diags diag.List) error {
	var lines []string
	nerr, _ := diags.Count()
	for _, d := range diags {
		if d.Severity != diag.Error {
			continue
		}
		if len(lines) == shownErrors {
			lines = append(lines, fmt.Sprintf("… and %d more", nerr-shownErrors))
			break
		}
		lines = append(lines, d.Error())
	}
	return fmt.Errorf("seed %s is not a valid %s workbook (run `pbxbatch validate --adapter %s` on it):\n  %s",
		path, adapter, adapter, strings.Join(lines, "\n  "))
}

func plurals(ks []*schemas.Kind) string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.Plural
	}
	return strings.Join(names, ", ")
}
