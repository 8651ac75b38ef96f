// Package validate checks a workbook against an adapter's schemas and turns
// its rows into batch.Rows, collecting every problem (never just the first)
// as a diagnostic with its cell, field, stable code, plain message and the
// cell's value (secrets masked).
//
// Three layers run over each table:
//
//  1. per row: text cells are converted to the schema's types, guarded
//     against spreadsheet damage, checked by the domain rules (Rules) and
//     validated with the kind's compiled JSON Schema;
//  2. across rows: duplicate natural keys, references to keys no sheet
//     holds (a warning: the target may have them, the planner checks), and
//     records that are their own ancestors;
//  3. domain rules a schema cannot say, in a per-adapter table (rules.go).
//
// Reading and layer 1 overlap: one goroutine reads rows in batches, workers
// validate them, and the caller's goroutine runs layer 2 in row order and
// hands rows to the callback. Layer 2 keeps only a hash and a position per
// key, so memory stays flat as the workbook grows.
//
// Codes are stable and grouped by prefix: header.* (columns), schema.*
// (types, enums, required fields, the action column), domain.* (rules),
// read.* (spreadsheet damage and sheets), key.* (natural keys) and ref.*
// (references).
package validate

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	sheetname "github.com/pbxbatch/pbxbatch/internal/sheet"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
	"github.com/pbxbatch/pbxbatch/templates"
)

// Options tune a validation. Zero values are sensible defaults.
type Options struct {
	// Kind restricts validation to one kind, and names the kind of a table
	// whose name is no kind (a single CSV file called "export.csv").
	Kind string
	// Workers is the number of row validators; 0 means one per CPU.
	Workers int
	// Rules replaces the built-in domain rules when not nil.
	Rules Rules
}

// Result is what a validation found.
type Result struct {
	Diags diag.List      // sorted by file, sheet, row, column
	Rows  int            // data rows checked (blank rows not counted)
	Kinds map[string]int // rows per kind
}

// Valid reports whether the input can go on to planning: warnings allowed.
func (r *Result) Valid() bool { return !r.Diags.HasErrors() }

// Validator checks workbooks against one adapter's kinds. It holds no state
// between calls, so one Validator may check several inputs concurrently.
type Validator struct {
	set   *schemas.Set
	opts  Options
	rules Rules
	kind  *schemas.Kind // Options.Kind, resolved
}

// New returns a validator for the kinds of set.
func New(set *schemas.Set, opts Options) (*Validator, error) {
	v := &Validator{set: set, opts: opts, rules: opts.Rules}
	if v.rules == nil {
		v.rules = builtinRules
	}
	if v.opts.Workers <= 0 {
		v.opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Kind != "" {
		if v.kind = set.Kind(opts.Kind); v.kind == nil {
			return nil, fmt.Errorf("%s has no kind %q; known kinds: %s", set.Adapter, opts.Kind, kindNames(set))
		}
	}
	return v, nil
}

// File opens the input at path (an .xlsx, a .csv or a directory of .csv
// files) and validates it.
func (v *Validator) File(ctx context.Context, path string, emit func(batch.Row) error) (*Result, error) {
	kind := ""
	if v.kind != nil {
		kind = v.kind.Name
	}
	book, err := workbook.Open(path, workbook.Options{Kind: kind, Secret: v.secretColumn})
	if err != nil {
		return nil, err
	}
	defer book.Close()
	return v.Book(ctx, book, emit)
}

// Book validates every table of book. emit, when not nil, receives each row
// that has no error, from the caller's goroutine: tables in the kinds'
// dependency order (locations before departments before users …), rows in
// input order. Rows with errors are only reported. An error return means the validation could not
// finish (I/O, cancellation, or emit's error); findings are in Result.Diags.
func (v *Validator) Book(ctx context.Context, book *workbook.Book, emit func(batch.Row) error) (*Result, error) {
	tables := make([]*table, 0, len(book.Tables))
	res := &Result{Kinds: map[string]int{}}
	res.Diags = append(res.Diags, book.Diags...)
	for _, t := range book.Tables {
		tables = append(tables, fromWorkbook(t))
		if k, _ := v.kindOf(t.Name, len(book.Tables)); k == nil || k.ReadOnly || v.kind != nil && k != v.kind {
			// A sheet that is not checked (notes, a catalogue, another
			// kind under --kind) keeps only the message saying so.
			skip := book.TableDiags(t)
			res.Diags = slices.DeleteFunc(res.Diags, func(d diag.Diagnostic) bool { return slices.Contains(skip, d) })
		}
	}
	err := v.tables(ctx, tables, res, emit)
	res.Diags.Sort()
	return res, err
}

// table is one sheet or CSV file as the validator sees it; tests build it
// from memory, production code from a workbook.Table.
type table struct {
	name, file, sheet string
	header            []string
	headerRow         int
	origin            func(row, col int) diag.Origin
	rows              func() (rowIter, error)
}

type rowIter interface {
	Next() bool
	Row() workbook.Row
	Err() error
	Close() error
}

func fromWorkbook(t *workbook.Table) *table {
	return &table{
		name: t.Name, file: t.File, sheet: t.Sheet, header: t.Header, headerRow: t.HeaderRow,
		origin: t.Origin,
		rows:   func() (rowIter, error) { return t.Rows() },
	}
}

func (t *table) cellOrigin(row, col int) diag.Origin { return t.origin(row, col) }

func (t *table) rowOrigin(row int) diag.Origin {
	o := t.origin(row, -1)
	o.Col = ""
	return o
}

func (t *table) whole() diag.Origin {
	o := t.rowOrigin(0)
	o.Row = 0
	return o
}

func (v *Validator) tables(ctx context.Context, tables []*table, res *Result, emit func(batch.Row) error) error {
	x := newCross(v.set, v.kind)
	// Check kinds in dependency order whatever the sheet order (a directory
	// lists extensions.csv before users.csv): references then point back
	// to keys already seen, and layer 2 holds no pending references for
	// them.
	rank := map[*schemas.Kind]int{}
	if order, err := v.set.Order(); err == nil {
		for i, k := range order {
			rank[k] = i + 1
		}
	}
	tables = slices.Clone(tables)
	slices.SortStableFunc(tables, func(a, b *table) int {
		ka, _ := v.kindOf(a.name, len(tables))
		kb, _ := v.kindOf(b.name, len(tables))
		return rank[ka] - rank[kb]
	})
	for _, t := range tables {
		k, notData := v.kindOf(t.name, len(tables))
		switch {
		case notData:
			continue
		case k == nil:
			res.Diags.Add(diag.Diagnostic{Severity: diag.Warning, Origin: t.whole(), Code: "read.unknown_sheet",
				Message: fmt.Sprintf("%q is not a kind of %s, so it was not checked; known kinds: %s (rename the sheet or file to one of them)", t.name, v.set.Adapter, kindNames(v.set))})
			continue
		case v.kind != nil && k != v.kind:
			continue // --kind: the user asked about one kind only
		case k.ReadOnly:
			res.Diags.Add(diag.Diagnostic{Severity: diag.Warning, Origin: t.whole(), Code: "read.readonly_sheet",
				Message: fmt.Sprintf("%q holds %s, a read-only catalogue that import ignores; its rows were not checked", t.name, k.Plural)})
			continue
		}
		if err := v.table(ctx, t, k, x, res, emit); err != nil {
			return err
		}
	}
	x.finish(&res.Diags)
	return nil
}

// kindOf finds the kind of a table by its name; a lone table whose name is
// no kind takes Options.Kind. A continuation sheet of a large export
// ("Users (2)") is its base sheet's kind. notData is true for the sheets
// that hold no records by convention: a template's README and Lists, and
// export sheets whose name starts with "_" (_metadata).
func (v *Validator) kindOf(name string, tables int) (k *schemas.Kind, notData bool) {
	if k := v.set.Kind(name); k != nil {
		return k, false
	}
	if base, part := sheetname.SplitName(name); part > 1 {
		if k := v.set.Kind(base); k != nil {
			return k, false
		}
	}
	if strings.HasPrefix(name, "_") || templates.IsTemplateSheet(name) {
		return nil, true
	}
	if v.kind != nil && tables == 1 {
		return v.kind, false
	}
	return nil, false
}

// secretColumn tells the reader which columns hold secrets, so that its
// own messages (stray spaces, formulas, …) never quote them.
func (v *Validator) secretColumn(table, header string) bool {
	k, _ := v.kindOf(table, 1)
	if k == nil {
		return false
	}
	f := findField(k, strings.TrimSpace(strings.TrimRight(strings.TrimSpace(header), "*")))
	return f != nil && f.Secret
}

// batchSize rows travel together between the stages: large enough that
// channel hand-offs cost nothing next to validation, small enough that a
// stop is quick.
const batchSize = 256

type rowBatch struct {
	rows []workbook.Row
	out  chan []rowResult
}

// table runs the read → validate → cross-check pipeline over one table.
func (v *Validator) table(ctx context.Context, t *table, k *schemas.Kind, x *cross, res *Result, emit func(batch.Row) error) error {
	sp, ok := headerFor(t, k, v.rules, &res.Diags)
	if !ok {
		return nil
	}
	sp.tableIdx = x.addTable(t)
	sp.keepCells = emit != nil
	it, err := t.rows()
	if err != nil {
		return fmt.Errorf("%s: %w", t.whole(), err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	jobs := make(chan rowBatch, v.opts.Workers)
	order := make(chan chan []rowResult, 2*v.opts.Workers+2)
	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(order)
		defer close(jobs)
		defer it.Close()
		rows := make([]workbook.Row, 0, batchSize)
		send := func() bool {
			out := make(chan []rowResult, 1)
			select {
			case order <- out:
			case <-ctx.Done():
				return false
			}
			jobs <- rowBatch{rows: rows, out: out}
			rows = make([]workbook.Row, 0, batchSize)
			return true
		}
		for it.Next() {
			rows = append(rows, it.Row()) // the reader gives every row its own Cells
			if len(rows) == batchSize && !send() {
				return
			}
		}
		if err := it.Err(); err != nil {
			readErr = fmt.Errorf("%s: %w", t.whole(), err)
		}
		if len(rows) > 0 {
			send()
		}
	})
	for range v.opts.Workers {
		wg.Go(func() {
			for b := range jobs {
				out := make([]rowResult, 0, len(b.rows))
				for _, r := range b.rows {
					out = append(out, sp.expand(r)...)
				}
				b.out <- out
			}
		})
	}

	var stop error
	creating := 0
	for out := range order {
		if stop != nil {
			continue // drain so the reader can finish
		}
		for _, r := range <-out {
			if r.blank {
				res.Diags = append(res.Diags, r.diags...)
				continue
			}
			res.Rows++
			res.Kinds[k.Name]++
			if r.creates {
				creating++
			}
			x.observe(sp, &r)
			for _, z := range sp.zero {
				z.observe(r.row.Origin.Row, r.row.Set.String(sp.cols[z.col].field.Path))
			}
			res.Diags = append(res.Diags, r.diags...)
			if !r.bad && emit != nil {
				if err := emit(r.row); err != nil {
					stop = err
					cancel()
					break
				}
			}
		}
		if stop == nil && ctx.Err() != nil {
			stop = ctx.Err()
			cancel()
		}
	}
	wg.Wait()
	if stop != nil {
		return stop
	}
	if readErr != nil {
		return readErr
	}
	sp.finish(creating, &res.Diags)
	return nil
}

// finish reports what needs the whole table: required columns that are
// missing while rows create records, and values that lost a leading zero.
func (sp *spec) finish(creating int, out *diag.List) {
	t := sp.table
	if creating > 0 {
		for _, f := range sp.lacking {
			out.Add(diag.Diagnostic{Severity: diag.Error, Origin: t.rowOrigin(t.headerRow), Field: f.Path, Code: "header.missing_column",
				Message: fmt.Sprintf("the required column %q (%s) is missing, and %d row(s) here create records (action create, or upsert which is the default); add the column, or set those rows' action to update", f.Path, f.Title, creating)})
		}
	}
	for _, z := range sp.zero {
		c := sp.cols[z.col]
		z.verdict(func(s cell, want int, ex cell) {
			o := t.cellOrigin(s.row, c.idx)
			out.Add(diag.Diagnostic{Severity: diag.Warning, Origin: o, Field: c.field.Path, Code: "read.lost_leading_zero",
				Message: fmt.Sprintf("%s is %d digits while other cells of this column start with 0 and have %d (e.g. %s at %s); Excel may have dropped a leading 0: if so, write %s and format the column as Text",
					shown(c.field, s.text), len(s.text), want, shown(c.field, ex.text), t.cellOrigin(ex.row, c.idx), shown(c.field, strings.Repeat("0", want-len(s.text))+s.text)),
				Value: maskValue(c.field, s.text)})
		})
	}
}

func kindNames(set *schemas.Set) string {
	var names []string
	for _, k := range set.Kinds {
		if !k.ReadOnly {
			names = append(names, k.Name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func maskValue(f *schemas.Field, s string) string {
	if f != nil && f.Secret && s != "" {
		return schemas.Mask
	}
	return s
}
