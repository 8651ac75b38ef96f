// Package validate checks a workbook against an adapter's schemas and turns
// its rows into batch.Rows, collecting every problem (never just the first)
// as a diagnostic with its cell, field, stable code, plain message and the
// cell's value (secrets masked).
//
// Three layers run over each table:
//
//  1. per row (a range row of an x-expand kind first expands into its
//     records, expand.go): text cells are converted to the schema's types, guarded
//     against spreadsheet damage (cells stored as numbers where the schema
//     keeps digits as text, lost + signs, scientific notation, …), checked
//     by the domain rules the schema names (x-rule, rules.go) and validated
//     with the kind's compiled JSON Schema;
//  2. across rows: duplicate natural keys, references to keys no sheet
//     holds (a warning: the target may have them, the planner checks), and
//     records that are their own ancestors, template example rows left in;
//  3. per column, at the end of a table: values that lost a leading 0 or a
//     + that the rest of their column keeps.
//
// Nothing here knows a platform: what a field holds and how spreadsheets
// damage it is declared in the schemas (x-text, x-rule, examples).
//
// Reading and layer 1 overlap: one goroutine reads rows in batches, workers
// validate them, and the caller's goroutine runs layer 2 in row order and
// hands rows to the callback. Layer 2 keeps only a hash and a position per
// key, so memory stays flat as the workbook grows.
//
// Codes are stable and grouped by prefix: header.* (columns), schema.*
// (types, enums, required fields, the action column), domain.* (rules),
// read.* (spreadsheet damage and sheets), key.* (natural keys), ref.*
// (references) and template.* (a template's example rows).
//
// Errors that are a judgement (a cell stored as a number may be right) can
// be accepted by the user (Options.Accept, `validate --accept CODE`): they
// become warnings that say so. Kept diagnostics are capped per code and
// table (Options.MaxDiags); the rest are counted in one summary line, so a
// hostile or hopeless file costs bounded memory.
package validate

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Options tune a validation. Zero values are sensible defaults.
type Options struct {
	// Kind restricts validation to one kind, and names the kind of a table
	// whose name is no kind (a single CSV file called "export.csv").
	Kind string
	// Workers is the number of row validators; 0 means one per CPU.
	Workers int
	// Accept lists codes of Acceptable the user has checked: their errors
	// become warnings that say they were accepted.
	Accept []string
	// MaxDiags caps the diagnostics kept per code and table; 0 means
	// DefaultMaxDiags. The rest are counted in one line.
	MaxDiags int
}

// DefaultMaxDiags keeps every diagnostic of a realistic workbook and bounds
// the memory of a hostile one (2 million bad rows).
const DefaultMaxDiags = 1000

// Acceptable are the error codes that are a judgement rather than a
// certainty, which Options.Accept may turn into warnings: the value may be
// exactly what the user meant.
var Acceptable = []string{"read.number_cell", "read.lost_plus", "read.unknown_sheet", "template.example_row"}

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
	set    *schemas.Set
	opts   Options
	rules  map[*schemas.Field]*Rule
	accept map[string]bool
	kind   *schemas.Kind // Options.Kind, resolved
}

// New returns a validator for the kinds of set. It fails when a schema
// names a rule that does not exist or Accept names a code that cannot be
// accepted.
func New(set *schemas.Set, opts Options) (*Validator, error) {
	v := &Validator{set: set, opts: opts, rules: map[*schemas.Field]*Rule{}, accept: map[string]bool{}}
	for _, k := range set.Kinds {
		for _, f := range k.Fields {
			r, err := ruleOf(k, f)
			if err != nil {
				return nil, err
			}
			if r != nil {
				v.rules[f] = r
			}
		}
	}
	for _, c := range opts.Accept {
		if !slices.Contains(Acceptable, c) {
			return nil, fmt.Errorf("--accept %q: only these codes can be accepted: %s", c, strings.Join(Acceptable, ", "))
		}
		v.accept[c] = true
	}
	if v.opts.Workers <= 0 {
		v.opts.Workers = runtime.GOMAXPROCS(0)
	}
	if v.opts.MaxDiags <= 0 {
		v.opts.MaxDiags = DefaultMaxDiags
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
		tables = append(tables, fromWorkbook(t, book.Export))
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

// judged turns an error the user accepted (Options.Accept) into a warning
// that says so.
func (v *Validator) judged(d diag.Diagnostic) diag.Diagnostic {
	if d.Severity == diag.Error && v.accept[d.Code] {
		d.Severity = diag.Warning
		d.Message += " (accepted with --accept " + d.Code + ")"
	}
	return d
}

// table is one sheet or CSV file as the validator sees it; tests build it
// from memory, production code from a workbook.Table.
type table struct {
	name, file, sheet string
	header            []string
	headerRow         int
	export            bool // part of a pbxbatch export
	origin            func(row, col int) diag.Origin
	rows              func() (rowIter, error)
}

type rowIter interface {
	Next() bool
	Row() workbook.Row
	Err() error
	Close() error
}

func fromWorkbook(t *workbook.Table, export bool) *table {
	return &table{
		name: t.Name, file: t.File, sheet: t.Sheet, header: t.Header, headerRow: t.HeaderRow, export: export,
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
	x := newCross(v)
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
			d, err := v.unknownSheet(t)
			if err != nil {
				return err
			}
			res.Diags.Add(d)
			continue
		case v.kind != nil && k != v.kind:
			continue // --kind: the user asked about one kind only
		case k.ReadOnly:
			if !t.export { // an export lists the platform's catalogues for audits
				res.Diags.Add(diag.Diagnostic{Severity: diag.Warning, Origin: t.whole(), Code: "read.readonly_sheet",
					Message: fmt.Sprintf("%q holds %s, a read-only catalogue that import ignores; its rows were not checked", t.name, k.Plural)})
			}
			continue
		}
		if err := v.table(ctx, t, k, x, res, emit); err != nil {
			return err
		}
	}
	x.finish(res.Rows, &res.Diags)
	return nil
}

// unknownSheet reports a sheet or file whose name is no kind. One with data
// rows is an error, since its rows would be skipped without a word (52
// users in "Extentions"); an empty one is only a warning.
func (v *Validator) unknownSheet(t *table) (diag.Diagnostic, error) {
	var names, kinds []string
	for _, k := range v.set.Kinds {
		if !k.ReadOnly {
			names = append(names, k.Name, k.Plural)
			kinds = append(kinds, k.Plural, k.Plural)
		}
	}
	msg := fmt.Sprintf("%q is not a kind of %s", t.name, v.set.Adapter)
	if i := nearest(t.name, names, 3); i >= 0 {
		msg += fmt.Sprintf("; did you mean %s? Rename the sheet or file", kinds[i])
	} else {
		msg += fmt.Sprintf("; known kinds: %s (rename the sheet or file to one of them)", kindNames(v.set))
	}
	d := diag.Diagnostic{Severity: diag.Warning, Origin: t.whole(), Code: "read.unknown_sheet"}
	data, err := hasData(t)
	if err != nil {
		return d, err
	}
	if !data {
		d.Message = msg + "; it holds no data rows and was not checked"
		return d, nil
	}
	d.Severity = diag.Error
	d.Message = msg + ". Its data rows would not be imported at all; to keep the sheet as notes, start its name with _"
	return v.judged(d), nil
}

// hasData reports whether a table has a data row that is not blank.
func hasData(t *table) (bool, error) {
	it, err := t.rows()
	if err != nil {
		return false, fmt.Errorf("%s: %w", t.whole(), err)
	}
	defer it.Close()
	for it.Next() {
		if !isBlank(it.Row().Cells) {
			return true, nil
		}
	}
	return false, it.Err()
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
	if base, part := workbook.SplitName(name); part > 1 {
		if k := v.set.Kind(base); k != nil {
			return k, false
		}
	}
	if workbook.IsNotData(name) {
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
	sp, ok := v.headerFor(t, k, &res.Diags)
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
	kept := newDiagCap(v.opts.MaxDiags)
	for out := range order {
		if stop != nil {
			continue // drain so the reader can finish
		}
		for _, r := range <-out {
			if r.blank {
				kept.add(&res.Diags, r.diags)
				continue
			}
			res.Rows++
			res.Kinds[k.Name]++
			if r.creates {
				creating++
			}
			x.observe(sp, &r)
			sp.observe(&r)
			kept.add(&res.Diags, r.diags)
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
	var last diag.List
	sp.finish(creating, &last)
	kept.add(&res.Diags, last)
	kept.summary(&res.Diags, t.whole())
	return nil
}

// observe feeds one row to the column watchers.
func (sp *spec) observe(r *rowResult) {
	for _, z := range sp.zero {
		if !r.isNumeric(z.col) { // a number cell is reported on its own
			z.observe(r.row.Origin.Row, r.row.Set.String(sp.cols[z.col].field.Path))
		}
	}
	for _, p := range sp.plus {
		if !r.isNumeric(p.col) {
			p.observe(r.row.Origin.Row, r.row.Set.String(sp.cols[p.col].field.Path))
		}
	}
}

// diagCap keeps at most max diagnostics per code of one table and counts
// the rest, so that memory follows the limit, not the input (2 million bad
// rows would otherwise be 2 million messages).
type diagCap struct {
	max     int
	counts  map[string]int
	dropped map[string]diag.Diagnostic // code -> the first dropped one
}

func newDiagCap(max int) *diagCap {
	return &diagCap{max: max, counts: map[string]int{}, dropped: map[string]diag.Diagnostic{}}
}

func (c *diagCap) add(out *diag.List, l diag.List) {
	for _, d := range l {
		n := c.counts[d.Code]
		c.counts[d.Code] = n + 1
		if n < c.max {
			out.Add(d)
			continue
		}
		if first, seen := c.dropped[d.Code]; !seen || first.Severity == diag.Warning && d.Severity == diag.Error {
			c.dropped[d.Code] = d
		}
	}
}

// summary adds one line per code that went over the cap.
func (c *diagCap) summary(out *diag.List, whole diag.Origin) {
	for _, code := range slices.Sorted(maps.Keys(c.dropped)) {
		d := c.dropped[code]
		n := c.counts[code] - c.max
		out.Add(diag.Diagnostic{Severity: d.Severity, Origin: whole, Code: code,
			Message: fmt.Sprintf("%d more cells have this problem (%s) beyond the %d listed, the next at %s; fix them the same way", n, code, c.max, d.Origin)})
	}
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
	for _, p := range sp.plus {
		c := sp.cols[p.col]
		p.verdict(func(s cell, carries bool) {
			fd := lostPlusFinding(c.field, s.text, carries)
			out.Add(sp.v.judged(diag.Diagnostic{Severity: fd.sev, Origin: t.cellOrigin(s.row, c.idx), Field: c.field.Path, Code: fd.code,
				Message: fd.msg, Value: maskValue(c.field, s.text)}))
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
