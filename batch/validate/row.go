package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// rowResult is layer 1's verdict on one row, handed to layer 2 in order.
type rowResult struct {
	row     batch.Row
	diags   diag.List
	blank   bool   // every cell empty: skipped (the reader reports blank rows)
	bad     bool   // at least one error: not emitted
	creates bool   // action create or upsert
	keyOK   bool   // every key field converted cleanly
	numeric []bool // per spec column: the cell is stored as a number (nil: none is)
	example bool   // the row is the template's example row of its kind
}

func (r *rowResult) isNumeric(col int) bool { return col < len(r.numeric) && r.numeric[col] }

// check runs layer 1 on one row. It is called concurrently and only reads sp.
func (sp *spec) check(wr workbook.Row) rowResult {
	t, k := sp.table, sp.kind
	res := rowResult{diags: slices.Clip(wr.Diags)} // appends must not write into the reader's array
	if isBlank(wr.Cells) {
		res.blank = true
		return res
	}
	res.row = batch.Row{Kind: k.Name, Origin: t.rowOrigin(wr.Num), Set: make(schemas.Record, len(sp.cols))}
	if sp.keepCells {
		res.row.Cells = make(map[string]diag.Origin, len(sp.cols))
	}
	cellAt := func(c column) diag.Origin { o := c.origin; o.Row = wr.Num; return o }
	add := func(c *column, sev diag.Severity, code, msg, value string) {
		d := diag.Diagnostic{Severity: sev, Code: code, Message: msg, Value: value}
		if c != nil {
			d.Origin, d.Field = cellAt(*c), c.field.Path
			d.Value = maskValue(c.field, value)
		} else {
			d.Origin = res.row.Origin
		}
		d = sp.v.judged(d)
		res.diags = append(res.diags, d)
		if d.Severity == diag.Error {
			res.bad = true
		}
	}

	action := batch.Upsert
	if sp.actionCol >= 0 {
		raw := cellText(wr.Cells, sp.actionCol)
		a, ok := parseAction(raw)
		if !ok {
			o := t.cellOrigin(wr.Num, sp.actionCol)
			msg := fmt.Sprintf("action %q is not one of upsert (the default when blank), create, update, delete", raw)
			if i := nearest(strings.TrimSpace(raw), actions, 2); i >= 0 {
				msg += fmt.Sprintf("; did you mean %s?", actions[i])
			}
			res.diags = append(res.diags, diag.Diagnostic{Severity: diag.Error, Origin: o, Field: "action", Code: "schema.action", Message: msg, Value: raw})
			res.bad = true
		}
		action = a
	}
	res.row.Action = action
	res.creates = action == batch.Upsert || action == batch.CreateRow

	var failed map[string]bool // fields already reported: no schema message on top
	fail := func(path string) {
		if failed == nil {
			failed = map[string]bool{}
		}
		failed[path] = true
	}
	for i := range sp.cols {
		c := &sp.cols[i]
		f := c.field
		raw := cellText(wr.Cells, c.idx)
		text := strings.TrimSpace(raw)
		if f.Secret && text != "" {
			text = raw // sent as typed (the reader warned about its spaces)
		}
		if text == "" || (action == batch.DeleteRow && !c.key) {
			continue // blank keeps the target's value
		}
		if c.idx < len(wr.Numeric) && wr.Numeric[c.idx] {
			if res.numeric == nil {
				res.numeric = make([]bool, len(sp.cols))
			}
			res.numeric[i] = true
		}
		if f.ReadOnly {
			sp.readOnly(&res, c, text, add)
			continue
		}
		if text == batch.ClearToken {
			if c.key || f.Required {
				what := "part of the key of " + k.Name
				if !c.key {
					what = "required for every " + k.Name
				}
				add(c, diag.Error, "schema.clear_required", fmt.Sprintf("%s (%s) is %s and cannot be cleared; write a value, or leave the cell blank to keep the current one", f.Path, f.Title, what), raw)
				fail(f.Path)
				continue
			}
			res.row.Clear = append(res.row.Clear, f.Path)
			if sp.keepCells {
				res.row.Cells[f.Path] = cellAt(*c)
			}
			continue
		}
		if f.Secret && text == schemas.Mask {
			// Reports (failed.xlsx, results.xlsx) mask secrets; fed back
			// as input, the mask would become the password itself.
			add(c, diag.Error, "schema.secret_masked", fmt.Sprintf("%s (%s) holds %s, the mask pbxbatch writes in reports instead of a secret: type the real value, or leave the cell blank to keep the current one", f.Path, f.Title, schemas.Mask), raw)
			fail(f.Path)
			continue
		}
		val, finds := convertCell(f, text)
		stop := false
		for _, fd := range finds {
			add(c, fd.sev, fd.code, fd.msg, raw)
			stop = stop || fd.sev == diag.Error
		}
		if !stop && c.rule != nil {
			var err error
			if val, err = c.rule.Check(f, val); err != nil {
				add(c, diag.Error, c.rule.Code, err.Error(), raw)
				stop = true
			}
		}
		if !stop && res.isNumeric(i) && f.Text != "" {
			// The value may be right: it is kept (the key still counts for
			// duplicates and references), and the error keeps the row out.
			fd := numberCell(f, text)
			add(c, fd.sev, fd.code, fd.msg, raw)
		}
		if stop {
			fail(f.Path)
			continue
		}
		if strings.IndexByte(f.Path, '.') < 0 {
			res.row.Set[f.Path] = val // Record.Set splits the path; most are flat
		} else {
			res.row.Set.Set(f.Path, val)
		}
		if sp.keepCells {
			res.row.Cells[f.Path] = cellAt(*c)
		}
	}

	res.keyOK = true
	for _, ci := range sp.keyCols {
		p := sp.cols[ci].field.Path
		if failed[p] {
			res.keyOK = false
			continue
		}
		if _, ok := res.row.Set.Get(p); !ok {
			res.keyOK = false
			c := sp.cols[ci]
			add(&c, diag.Error, "schema.required", fmt.Sprintf("%s (%s) is part of the key of %s and every row needs it; fill in the cell", p, c.field.Title, k.Name), "")
			fail(p)
		}
	}
	if action != batch.DeleteRow {
		sp.schemaCheck(&res, failed, add)
	}
	res.example = sp.isExample(res.row.Set)
	return res
}

// readOnly keeps the value of a read-only column for the planner (which
// says when the target's differs) and warns that it will not be applied,
// unless the input is an export, where pbxbatch wrote it itself.
func (sp *spec) readOnly(res *rowResult, c *column, text string, add func(*column, diag.Severity, string, string, string)) {
	if res.row.ReadOnly == nil {
		res.row.ReadOnly = schemas.Record{}
	}
	res.row.ReadOnly.Set(c.field.Path, text)
	if sp.keepCells {
		o := c.origin
		o.Row = res.row.Origin.Row
		res.row.Cells[c.field.Path] = o
	}
	if !sp.export {
		add(c, diag.Warning, "schema.read_only", fmt.Sprintf("%s (%s) is read-only: exports show it for audits, but the platform offers no way to set it, so this value will not be applied (plan says where it differs); clear the column, or start its header with # to keep it as a note", c.field.Path, c.field.Title), text)
	}
}

// exampleCell is one value of a template's example row.
type exampleCell struct{ path, text string }

// exampleOf returns the cells of the example row a template shows for k:
// the first example of every field that has one (templates write exactly
// these), or nil when the key has none (no row can be the example).
func exampleOf(k *schemas.Kind) []exampleCell {
	var out []exampleCell
	for _, f := range k.Fields {
		if len(f.Examples) > 0 && !f.ReadOnly && !f.Secret {
			out = append(out, exampleCell{f.Path, f.Examples[0]})
		}
	}
	for _, key := range k.Key {
		if !slices.ContainsFunc(out, func(e exampleCell) bool { return e.path == key }) {
			return nil
		}
	}
	return out
}

// isExample reports whether a row holds every value of its kind's example
// row: the template's row 2, kept. Other cells may differ.
func (sp *spec) isExample(set schemas.Record) bool {
	if len(sp.example) == 0 {
		return false
	}
	for _, e := range sp.example {
		v, ok := set.Get(e.path)
		if !ok || schemas.Text(v) != e.text {
			return false
		}
	}
	return true
}

// schemaCheck validates the converted record with the kind's compiled
// schema and maps each leaf error to its cell.
//
// Required fields: blank means "keep what the target has", so a field is
// required only of rows that may create the record. That includes upsert,
// the default, even though the planner will turn an upsert of an existing
// record into an update: a rollout sheet is expected to be complete, and an
// upsert row that silently works only when the record already exists is a
// surprise at 2 a.m. Rows meant as partial changes say action=update.
func (sp *spec) schemaCheck(res *rowResult, failed map[string]bool, add func(*column, diag.Severity, string, string, string)) {
	if sp.fast != nil && sp.fast.accept(res.row.Set) {
		return
	}
	err := sp.kind.Schema.Validate(map[string]any(res.row.Set))
	if err == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		add(nil, diag.Error, "schema.invalid", "the row could not be checked against the schema: "+err.Error(), "")
		return
	}
	seen := map[string]bool{}
	for _, le := range leaves(ve) {
		for _, m := range sp.explain(le) {
			if failed[m.path] || !res.creates && m.code == "schema.required" && !slices.Contains(sp.kind.Key, m.path) {
				continue
			}
			if id := m.path + "\x00" + m.code; !seen[id] {
				seen[id] = true
				if m.code == "schema.required" && slices.Contains(sp.lackingPaths(), m.path) {
					res.bad = true // its missing column is reported once for the table
					continue
				}
				ci, has := sp.byPath[m.path]
				if !has {
					add(nil, diag.Error, m.code, m.msg, "")
					res.diags[len(res.diags)-1].Field = m.path
					continue
				}
				c := sp.cols[ci]
				raw := ""
				if v, ok := res.row.Set.Get(m.path); ok {
					raw = schemas.Text(v)
				}
				if m.code == "schema.enum" {
					m.msg += enumHint(c.field, raw)
				}
				add(&c, diag.Error, m.code, m.msg, raw)
			}
		}
	}
}

func (sp *spec) lackingPaths() []string {
	out := make([]string, len(sp.lacking))
	for i, f := range sp.lacking {
		out[i] = f.Path
	}
	return out
}

var (
	integerRE = regexp.MustCompile(`^[+-]?\d+(\.0+)?$`)
	numberRE  = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)
)

// convertCell turns one non-blank cell into the field's type. Findings with
// error severity mean the value must not be used.
func convertCell(f *schemas.Field, text string) (any, []finding) {
	if f.Type == "array" {
		var items []any
		var finds []finding
		if strings.Contains(text, ",") && !strings.Contains(text, ";") {
			finds = append(finds, finding{diag.Warning, "schema.list_separator",
				fmt.Sprintf("%s is read as one item: items of a list are separated by ; (semicolon), not by commas; if these are several items, write %s", shown(f, text), shown(f, commaList(text)))})
		}
		for part := range strings.SplitSeq(text, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			v, fs := convertScalar(f, f.Items, part)
			finds = append(finds, fs...)
			items = append(items, v)
		}
		return items, finds
	}
	return convertScalar(f, f.Type, text)
}

// enumHint suggests the allowed value an enum cell probably meant
// ("sip" for "ip"), for its first item that is not allowed.
func enumHint(f *schemas.Field, text string) string {
	if f.Secret {
		return ""
	}
	for item := range strings.SplitSeq(text, ";") {
		item = strings.TrimSpace(item)
		if item == "" || slices.Contains(f.Enum, item) {
			continue
		}
		if i := nearest(item, f.Enum, 2); i >= 0 {
			return fmt.Sprintf("; did you mean %s?", f.Enum[i])
		}
		return ""
	}
	return ""
}

// commaList rewrites "Sales, Support" as "Sales;Support".
func commaList(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return strings.Join(parts, ";")
}

func convertScalar(f *schemas.Field, typ, s string) (any, []finding) {
	if numberLike(f) {
		if fs := guardDamage(f, s); slices.ContainsFunc(fs, func(x finding) bool { return x.sev == diag.Error }) {
			return nil, fs
		} else if len(fs) > 0 {
			v, more := convertType(f, typ, s)
			return v, append(fs, more...)
		}
	}
	return convertType(f, typ, s)
}

func convertType(f *schemas.Field, typ, s string) (any, []finding) {
	bad := func(want string) (any, []finding) {
		return nil, []finding{{diag.Error, "schema.type", fmt.Sprintf("%s is not %s", shown(f, s), want)}}
	}
	switch typ {
	case "integer":
		if !integerRE.MatchString(s) {
			return bad("a whole number")
		}
		n := schemas.Normalize(json.Number(strings.TrimPrefix(s, "+"))).(json.Number)
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			return bad("a whole number in range")
		}
		return n, nil
	case "number":
		if !numberRE.MatchString(s) {
			return bad("a number")
		}
		fl, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(fl, 0) {
			return bad("a number in range")
		}
		return schemas.Normalize(json.Number(strings.TrimPrefix(s, "+"))), nil
	case "boolean":
		switch strings.ToLower(s) {
		case "true", "yes", "y", "1":
			return true, nil
		case "false", "no", "n", "0":
			return false, nil
		}
		return bad("true or false (yes/no, y/n and 1/0 work too)")
	}
	// Enums compare exactly in JSON Schema, but "SV" for "sv" is what a
	// person types; take the schema's spelling when only the case differs.
	if len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
		for _, e := range f.Enum {
			if strings.EqualFold(e, s) {
				return e, nil
			}
		}
	}
	return s, nil
}

func cellText(cells []string, i int) string {
	if i < len(cells) {
		return cells[i]
	}
	return ""
}

func isBlank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
