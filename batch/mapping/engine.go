// Package mapping turns a workbook of one platform (an export) into a
// workbook of another, as a declarative profile says (templates/profiles),
// and accounts for every source value on the way: what was mapped,
// defaulted, generated, filtered and dropped. It knows no platform: the
// profile names the kinds and fields, the schemas say which fields are
// keys, references and secrets.
//
// A map runs in four steps: read the source (every cell with its origin),
// evaluate each rule of each target kind over its source rows (rows with
// the same key merge), apply key renames to the keys and to every reference
// the target schemas declare (x-refs), and fill the secrets by their
// policy. Write then validates the mapped workbook against the target's
// schemas, as validate does, before it is written, with every message
// pointing back at the source cell.
package mapping

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Options tune a map.
type Options struct {
	// Params override the profile's parameters (--set name=value).
	Params map[string]string
	// SecretsIn is the side file the operator supplies for secrets whose
	// policy is "file": a workbook of the target's kinds with their key
	// columns and secret columns.
	SecretsIn string
	// Previous is an earlier secrets file of the same map (Write's
	// Paths.Secrets): its generated values are kept, so that a secret is
	// delivered once and a re-run does not invent another.
	Previous string
}

// Result is a mapped workbook in memory: the target rows (secrets not
// among them), the secrets apart, the report and the problems.
type Result struct {
	Profile *Profile
	Input   string
	Tables  []*Table // target kinds in dependency order
	Secrets []Secret
	Report  *Report
	Diags   diag.List // errors and warnings, at source cells
}

// Table is the mapped rows of one target kind.
type Table struct {
	Kind  *schemas.Kind
	Rows  []*Row
	byKey map[string]*Row
}

// Row is one mapped row: cell text per target field, and where it came
// from.
type Row struct {
	Values  map[string]string
	meta    map[string]fieldMeta // per field in Values: how it came about
	Origins []diag.Origin        // the source rows merged into it, first first
}

// fieldMeta is how one mapped value came about, for the report and for
// messages about it.
type fieldMeta struct {
	how  string   // howMapped or howDefaulted
	src  *srcCell // the source cell it came from, or one standing for the source row
	line int      // the profile line that computed it
}

// Secret is one secret value of one mapped row.
type Secret struct {
	Kind, Key, Field string
	KeyFields        map[string]string // the row's key fields, as the secrets file has them
	Value            string
	Generated        bool
}

// How a target value came about, as the report counts it.
const (
	howMapped    = "mapped"
	howDefaulted = "defaulted"
)

type srcCell struct {
	text        string
	origin      diag.Origin
	kind, field string // the source kind and field it holds
}

// srcRow is one source row, every cell kept with its origin.
type srcRow struct {
	kind     *schemas.Kind
	origin   diag.Origin
	cells    map[string]*srcCell // field path (or an unknown column's header) → a non-blank cell
	unknown  map[string]bool     // columns that are no field of the kind
	consumed map[string]bool
	used     bool
	filtered int // the line of a rule whose where: left it out
}

type mapper struct {
	p      *Profile
	params map[string]string
	src    map[string][]*srcRow
	index  map[string]map[string]*srcRow // kind → key → row, for lookups
	out    map[string]*Table
	diags  diag.List
	drops  map[dropKey]*Dropped
	stats  map[string]*fieldStats // "kind.field" of the target
	input  string
}

// Map reads the source workbook at path and maps it.
func Map(ctx context.Context, p *Profile, path string, o Options) (*Result, error) {
	m := &mapper{p: p, params: map[string]string{}, src: map[string][]*srcRow{}, index: map[string]map[string]*srcRow{},
		out: map[string]*Table{}, drops: map[dropKey]*Dropped{}, stats: map[string]*fieldStats{}, input: filepath.Base(path)}
	for _, pa := range p.Params {
		m.params[pa.Name] = pa.Value
	}
	for k, v := range o.Params {
		if !p.hasParam(k) {
			return nil, fmt.Errorf("--set %s: profile %s has no parameter %q (parameters: %s)", k, p.Name, k, p.paramNames())
		}
		m.params[k] = v
	}
	if err := m.checkSource(ctx, path); err != nil {
		return nil, err
	}
	if err := m.read(path); err != nil {
		return nil, err
	}
	for _, tk := range p.Kinds {
		m.mapKind(tk)
	}
	m.rename()
	res := &Result{Profile: p, Input: path}
	var err error
	if res.Secrets, err = m.secrets(o); err != nil {
		return nil, err
	}
	for _, tk := range p.Kinds {
		res.Tables = append(res.Tables, m.out[tk.Kind.Name])
	}
	res.Report = m.report(res)
	m.diags.Sort()
	res.Diags = m.diags
	return res, nil
}

func (p *Profile) hasParam(name string) bool {
	return slices.ContainsFunc(p.Params, func(x Param) bool { return x.Name == name })
}

func (p *Profile) paramNames() string {
	var out []string
	for _, x := range p.Params {
		out = append(out, x.Name)
	}
	return cmp.Or(strings.Join(out, ", "), "none")
}

// read loads every sheet of the source that holds a kind of the source
// adapter. A sheet of no kind is an error: its rows would go nowhere.
func (m *mapper) read(path string) error {
	book, err := workbook.Open(path, workbook.Options{})
	if err != nil {
		return err
	}
	defer book.Close()
	set := m.p.Source
	for _, t := range book.Tables {
		base, _ := workbook.SplitName(t.Name)
		if base == workbook.MetadataSheet {
			if err := m.checkExport(t); err != nil {
				return err
			}
		}
		if workbook.IsNotData(base) {
			continue
		}
		k := set.Kind(base)
		if k == nil {
			m.diags.Errorf(t.Origin(0, -1), "", "map.unknown_sheet", "%q is not a kind of %s, so its rows would go nowhere; rename or remove it", t.Name, set.Adapter)
			continue
		}
		if err := m.readTable(t, k); err != nil {
			return err
		}
	}
	return nil
}

// checkSource validates the source against its own schemas, as validate
// does: a hand-edited export can carry spreadsheet damage (a lost leading
// zero, a number in scientific notation) that would map into the target
// unnoticed. Its errors become the map's; warnings are the source's own
// business.
func (m *mapper) checkSource(ctx context.Context, path string) error {
	v, err := validate.New(m.p.Source, validate.Options{})
	if err != nil {
		return err
	}
	res, err := v.File(ctx, path, nil)
	if err != nil {
		return err
	}
	for _, d := range res.Diags {
		if d.Severity == diag.Error {
			d.Message += " (in the source: fix it there and map again)"
			m.diags.Add(d)
		}
	}
	return nil
}

// checkExport refuses an export of another platform than the profile's
// source: its sheets could share names (users) and map into nonsense.
func (m *mapper) checkExport(t *workbook.Table) error {
	it, err := t.Rows()
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		r := it.Row()
		if len(r.Cells) >= 2 && r.Cells[0] == "adapter" && r.Cells[1] != m.p.Source.Adapter {
			return fmt.Errorf("%s is an export of %s, but profile %s maps %s to %s", m.input, r.Cells[1], m.p.Name, m.p.Source.Adapter, m.p.Target.Adapter)
		}
	}
	return it.Err()
}

func (m *mapper) readTable(t *workbook.Table, k *schemas.Kind) error {
	cols := make([]string, len(t.Header)) // "" = not read
	unknown := map[string]bool{}
	action := -1
	for i, h := range t.Header {
		name := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(h), "*"))
		switch {
		case name == "" || strings.HasPrefix(name, "#"):
			continue
		case strings.EqualFold(name, "action"):
			action = i
			continue
		}
		if f := fieldByHeader(k, name); f != nil {
			cols[i] = f.Path
		} else {
			cols[i], unknown[name] = name, true
		}
	}
	it, err := t.Rows()
	if err != nil {
		return err
	}
	defer it.Close()
	if m.index[k.Name] == nil {
		m.index[k.Name] = map[string]*srcRow{}
	}
	for it.Next() {
		wr := it.Row()
		if !slices.ContainsFunc(wr.Cells, func(c string) bool { return strings.TrimSpace(c) != "" }) {
			continue
		}
		if action >= 0 && strings.EqualFold(strings.TrimSpace(wr.Cells[action]), "delete") {
			m.diags.Warnf(t.Origin(wr.Num, action), "action", "map.delete_row", "a delete row is not migrated")
			continue
		}
		r := &srcRow{kind: k, origin: t.Origin(wr.Num, -1), cells: map[string]*srcCell{}, unknown: unknown, consumed: map[string]bool{}}
		r.origin.Col = ""
		for i, path := range cols {
			if path == "" {
				continue
			}
			if v := strings.TrimSpace(wr.Cells[i]); v != "" {
				r.cells[path] = &srcCell{text: v, origin: t.Origin(wr.Num, i), kind: k.Name, field: path}
			}
		}
		m.src[k.Name] = append(m.src[k.Name], r)
		m.index[k.Name][r.key()] = r
	}
	return it.Err()
}

func (r *srcRow) key() string {
	parts := make([]string, len(r.kind.Key))
	for i, f := range r.kind.Key {
		if c := r.cells[f]; c != nil {
			parts[i] = c.text
		}
	}
	return strings.Join(parts, " / ")
}

// fieldByHeader finds a field by its path or title, case-insensitively, as
// the validator reads headers.
func fieldByHeader(k *schemas.Kind, name string) *schemas.Field {
	for _, f := range k.Fields {
		if strings.EqualFold(f.Path, name) || f.Title != "" && strings.EqualFold(f.Title, name) {
			return f
		}
	}
	return nil
}

func (m *mapper) table(k *schemas.Kind) *Table {
	t := m.out[k.Name]
	if t == nil {
		t = &Table{Kind: k, byKey: map[string]*Row{}}
		m.out[k.Name] = t
	}
	return t
}

func (m *mapper) mapKind(tk *TargetKind) {
	t := m.table(tk.Kind)
	for _, r := range tk.Rules {
		if r.From == nil {
			for _, fields := range r.Rows {
				m.emit(t, m.row(nil, fields), nil)
			}
			continue
		}
		for _, sr := range m.src[r.From.Name] {
			if r.Where != nil && !r.Where.test(&evalCtx{m: m, row: sr}) {
				if sr.filtered == 0 {
					sr.filtered = r.Line
				}
				continue
			}
			sr.used = true // a row whose expression failed has its message already
			if row := m.row(sr, r.Fields); row != nil {
				m.emit(t, row, sr)
			}
		}
	}
	for _, row := range t.Rows {
		for _, f := range tk.Defaults {
			if row.Values[f.Path] != "" {
				continue
			}
			v, err := f.Expr.eval(&evalCtx{m: m})
			if err != nil {
				m.diags.Errorf(row.Origins[0], f.Path, "map.expr", "%s.%s (default at %s:%d): %v", tk.Kind.Name, f.Path, m.p.File, f.Line, err)
				continue
			}
			if v != "" {
				row.set(f.Path, v, fieldMeta{how: howDefaulted, src: &srcCell{origin: row.Origins[0], kind: "(default)"}, line: f.Line})
			}
		}
	}
}

// row evaluates a rule's fields over one source row (nil for a constant
// row). It returns nil when an expression failed (the message is added).
func (m *mapper) row(sr *srcRow, fields []Field) *Row {
	row := &Row{Values: map[string]string{}, meta: map[string]fieldMeta{}}
	at := &srcCell{origin: diag.Origin{File: m.input}, kind: "(constant)"}
	if sr != nil {
		at = &srcCell{origin: sr.origin, kind: sr.kind.Name}
		row.Origins = []diag.Origin{sr.origin}
	}
	ok := true
	for _, f := range fields {
		c := &evalCtx{m: m, row: sr}
		v, err := f.Expr.eval(c)
		cell := at
		if c.cell != nil {
			cell = c.cell
		}
		if err != nil {
			m.diags.Errorf(cell.origin, f.Path, "map.expr", "%s (%s:%d): %v", f.Path, m.p.File, f.Line, err)
			ok = false
			continue
		}
		if v == "" {
			continue
		}
		how := howMapped
		if c.defaulted || !c.fromSource {
			how = howDefaulted
		}
		row.set(f.Path, v, fieldMeta{how: how, src: cell, line: f.Line})
	}
	if !ok {
		return nil
	}
	return row
}

func (r *Row) set(path, v string, meta fieldMeta) {
	r.Values[path], r.meta[path] = v, meta
}

// emit adds a row to its table, merging it into the row with the same key.
// A merged list gains the new items; a scalar that differs keeps the first
// value and the other is reported dropped.
func (m *mapper) emit(t *Table, row *Row, sr *srcRow) {
	k := t.Kind
	parts := make([]string, len(k.Key))
	for i, f := range k.Key {
		parts[i] = row.Values[f]
		if parts[i] == "" {
			at := diag.Origin{File: m.input}
			if sr != nil {
				at = sr.origin
			}
			m.diags.Errorf(at, f, "map.blank_key", "the %s this row maps to has a blank key field %s: give the row a value the profile can use, or filter it out with where:", k.Name, f)
			return
		}
	}
	key := strings.Join(parts, " / ")
	first := t.byKey[key]
	if first == nil {
		if len(row.Origins) == 0 {
			row.Origins = []diag.Origin{{File: m.input}}
		}
		t.byKey[key] = row
		t.Rows = append(t.Rows, row)
		return
	}
	first.Origins = append(first.Origins, row.Origins...)
	for _, path := range sortedKeys(row.Values) {
		v := row.Values[path]
		old, has := first.Values[path]
		switch {
		case !has:
			first.set(path, v, row.meta[path])
		case old == v:
		case k.Field(path).Type == "array":
			items := strings.Split(old, ";")
			for it := range strings.SplitSeq(v, ";") {
				if !slices.Contains(items, it) {
					items = append(items, it)
				}
			}
			first.Values[path] = strings.Join(items, ";")
		default:
			c := row.meta[path].src
			m.drop(c.kind, cmp.Or(c.field, "("+path+")"), c.origin, v,
				fmt.Sprintf("merged into %s %s, which already has %s %q from %s: the first value is kept", k.Name, key, path, old, where(first.meta[path].src.origin)))
		}
	}
}

// where renders an origin with its file: "site-a.xlsx users!C14".
func where(o diag.Origin) string {
	if o.Sheet == "" {
		return o.String()
	}
	f := filepath.Base(o.File)
	if o.Row == 0 && o.Col == "" {
		return f
	}
	return f + " " + o.String()
}

// rename applies the profile's key renames to each renamed kind's key and
// to every field of every target kind that references it.
func (m *mapper) rename() {
	if len(m.p.Renames) == 0 {
		return
	}
	for _, tk := range m.p.Kinds {
		k := tk.Kind
		var paths []string
		kinds := map[string]string{}
		for _, f := range k.Fields {
			switch {
			case len(k.Key) == 1 && f.Path == k.Key[0] && m.p.Renames[k.Name] != nil:
				paths, kinds[f.Path] = append(paths, f.Path), k.Name
			case f.Ref != nil && m.p.Renames[f.Ref.Kind] != nil:
				paths, kinds[f.Path] = append(paths, f.Path), f.Ref.Kind
			}
		}
		for _, row := range m.out[k.Name].Rows {
			for _, path := range paths {
				v, ok := row.Values[path]
				if !ok {
					continue
				}
				var out []string
				for item := range strings.SplitSeq(v, ";") {
					nv, err := m.p.Renames[kinds[path]].eval(&evalCtx{m: m, value: item})
					if err != nil {
						m.diags.Errorf(row.meta[path].src.origin, path, "map.rename", "renaming %s %q: %v", kinds[path], item, err)
						nv = item
					}
					out = append(out, nv)
				}
				row.Values[path] = strings.Join(out, ";")
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
