package mapping

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// expr computes one cell's text. Every value is text, as in a workbook:
// lists are ";"-joined, and "" means blank (the target keeps its value).
//
// The forms, in YAML:
//
//	"{firstName} {lastName}"             a text template ({x} is source field x,
//	                                     {param.x} a parameter, {value} the key a
//	                                     rename starts from); no braces: a constant
//	{copy: field}                        the field as it is
//	{const: "text {not a template}"}     a constant with braces
//	{join: [expr, …], sep: " "}          the non-blank parts, joined
//	{table: {a: x, b: y}, of: expr}      a value table, applied to each list item
//	{rewrite: expr, match: re, to: t}    a regexp rewrite (to: takes $1 and {param.x}); case: lower|upper
//	{if: cond, then: expr, else: expr}   a condition
//	{lookup: kind, key: expr, field: f}  field f of the source row of kind whose key is key
//	… default: expr                      with any form: used when the value is blank
//	                                     or a table has no entry
type expr struct {
	desc string // how --explain shows it
	eval func(c *evalCtx) (string, error)
}

// errNoEntry is a value table without an entry for the value; a default
// catches it.
var errNoEntry = errors.New("no entry")

// evalCtx is what an expression reads from: one source row, parameters,
// and the other source rows for lookups.
type evalCtx struct {
	m     *mapper
	row   *srcRow // nil for constant rows and renames
	value string  // renames: the value being renamed
	// fromSource is set when a non-blank source cell was read, defaulted
	// when a default was used: the report's mapped/defaulted split.
	fromSource, defaulted bool
	cell                  *srcCell // the first source cell read, for messages
}

// ref is the value of a template reference; the compiler checked that it
// names a parameter, the renamed value or a field of the row's kind.
func (c *evalCtx) ref(name string) string {
	if p, ok := strings.CutPrefix(name, "param."); ok {
		return c.m.params[p]
	}
	if name == "value" && c.row == nil {
		return c.value
	}
	return c.read(c.row, name)
}

// read takes a field of a source row and marks it consumed.
func (c *evalCtx) read(r *srcRow, field string) string {
	if r == nil {
		return ""
	}
	r.consumed[field] = true
	v := r.cells[field]
	if v == nil {
		return ""
	}
	c.fromSource = true
	if c.cell == nil {
		c.cell = v
	}
	return v.text
}

func (c *compiler) expr(from *schemas.Kind, n *yaml.Node) (*expr, error) {
	return c.exprWith(from, n, false)
}

// exprWith compiles an expression reading fields of from; value allows
// {value} (renames).
func (c *compiler) exprWith(from *schemas.Kind, n *yaml.Node, value bool) (*expr, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return c.template(from, n, n.Value, value)
	case yaml.MappingNode:
	default:
		return nil, c.errf(n, "an expression is a text template or a mapping such as {copy: field}")
	}
	ps, _ := c.pairs(n, "an expression")
	m := map[string]*yaml.Node{}
	for _, kv := range ps {
		m[kv[0].Value] = kv[1]
	}
	sub := func(key string) (*expr, error) { return c.exprWith(from, m[key], value) }
	allowed := func(keys ...string) error {
		for _, kv := range ps {
			if !slices.Contains(append(keys, "default"), kv[0].Value) {
				return c.errf(kv[0], "unknown key %q here (allowed: %s, default)", kv[0].Value, strings.Join(keys, ", "))
			}
		}
		return nil
	}
	var e *expr
	var err error
	switch {
	case m["copy"] != nil:
		if err = allowed("copy"); err == nil {
			e, err = c.template(from, m["copy"], "{"+m["copy"].Value+"}", value)
		}
	case m["const"] != nil:
		if err = allowed("const"); err == nil {
			v := m["const"].Value
			e = &expr{desc: fmt.Sprintf("%q", v), eval: func(*evalCtx) (string, error) { return v, nil }}
		}
	case m["join"] != nil:
		e, err = c.join(from, n, m, value, allowed)
	case m["table"] != nil:
		e, err = c.table(n, m, sub, allowed)
	case m["rewrite"] != nil:
		e, err = c.rewrite(n, m, sub, allowed)
	case m["if"] != nil:
		e, err = c.ifExpr(from, n, m, sub, allowed)
	case m["lookup"] != nil:
		e, err = c.lookup(from, n, m, value, allowed)
	case m["default"] != nil:
		return nil, c.errf(n, "default: goes with another form, e.g. {copy: firstName, default: \"{userName}\"}")
	default:
		return nil, c.errf(n, "unknown expression: use a text template, copy, const, join, table, rewrite, if or lookup")
	}
	if err != nil {
		return nil, err
	}
	if m["default"] == nil {
		return e, nil
	}
	def, err := sub("default")
	if err != nil {
		return nil, err
	}
	inner := e
	return &expr{desc: inner.desc + ", else " + def.desc, eval: func(c *evalCtx) (string, error) {
		v, err := inner.eval(c)
		if err != nil && !errors.Is(err, errNoEntry) {
			return "", err
		}
		if v != "" && err == nil {
			return v, nil
		}
		c.defaulted = true
		return def.eval(c)
	}}, nil
}

var (
	refPattern = regexp.MustCompile(`\{([^{}]*)\}`)
	// paramRef is the one reference a rewrite's to: may hold ($1 and
	// ${1} are the regexp's own).
	paramRef = regexp.MustCompile(`\{param\.([A-Za-z0-9_]+)\}`)
)

// template compiles "{a} text {b}". References are checked against the
// source kind (or must be parameters).
func (c *compiler) template(from *schemas.Kind, n *yaml.Node, text string, value bool) (*expr, error) {
	type part struct {
		lit string
		ref string
	}
	var parts []part
	rest := text
	for {
		loc := refPattern.FindStringSubmatchIndex(rest)
		if loc == nil {
			break
		}
		parts = append(parts, part{lit: rest[:loc[0]]}, part{ref: strings.TrimSpace(rest[loc[2]:loc[3]])})
		rest = rest[loc[1]:]
	}
	if strings.ContainsAny(rest, "{}") || slices.ContainsFunc(parts, func(p part) bool { return strings.ContainsAny(p.lit, "{}") }) {
		return nil, c.errf(n, "unbalanced braces in %q (use {const: …} for literal braces)", text)
	}
	parts = append(parts, part{lit: rest})
	for _, p := range parts {
		if p.ref == "" {
			continue
		}
		if err := c.checkRef(from, n, p.ref, value); err != nil {
			return nil, err
		}
	}
	refs := slices.ContainsFunc(parts, func(p part) bool { return p.ref != "" })
	return &expr{desc: fmt.Sprintf("%q", text), eval: func(ctx *evalCtx) (string, error) {
		var b strings.Builder
		blank := true
		for _, p := range parts {
			if p.ref == "" {
				b.WriteString(p.lit)
				continue
			}
			v := ctx.ref(p.ref)
			blank = blank && v == ""
			b.WriteString(v)
		}
		// A template whose references are all blank is blank: "{a} {b}"
		// of two blank cells is not worth a " ".
		if refs && blank {
			return "", nil
		}
		return b.String(), nil
	}}, nil
}

func (c *compiler) checkRef(from *schemas.Kind, n *yaml.Node, ref string, value bool) error {
	if p, ok := strings.CutPrefix(ref, "param."); ok {
		if !c.param(p) {
			return c.errf(n, "no parameter %q under params:", p)
		}
		return nil
	}
	if ref == "value" && value {
		return nil
	}
	if from == nil {
		if value {
			return c.errf(n, "a rename reads only {value} and {param.…}, not {%s}", ref)
		}
		return c.errf(n, "{%s}: constant rows read only {param.…}", ref)
	}
	if from.Field(ref) == nil {
		return c.errf(n, "%s has no field %q", from.Name, ref)
	}
	return nil
}

func (c *compiler) join(from *schemas.Kind, n *yaml.Node, m map[string]*yaml.Node, value bool, allowed func(...string) error) (*expr, error) {
	if err := allowed("join", "sep"); err != nil {
		return nil, err
	}
	if m["join"].Kind != yaml.SequenceNode {
		return nil, c.errf(m["join"], "join: takes a list of expressions")
	}
	sep := " "
	if s := m["sep"]; s != nil {
		sep = s.Value
	}
	var items []*expr
	var descs []string
	for _, in := range m["join"].Content {
		e, err := c.exprWith(from, in, value)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
		descs = append(descs, e.desc)
	}
	return &expr{desc: fmt.Sprintf("join(%s)", strings.Join(descs, ", ")), eval: func(c *evalCtx) (string, error) {
		var out []string
		for _, e := range items {
			v, err := e.eval(c)
			if err != nil {
				return "", err
			}
			if v != "" {
				out = append(out, v)
			}
		}
		return strings.Join(out, sep), nil
	}}, nil
}

func (c *compiler) table(n *yaml.Node, m map[string]*yaml.Node, sub func(string) (*expr, error), allowed func(...string) error) (*expr, error) {
	if err := allowed("table", "of"); err != nil {
		return nil, err
	}
	if m["of"] == nil {
		return nil, c.errf(n, "table: needs of: (the value to look up)")
	}
	of, err := sub("of")
	if err != nil {
		return nil, err
	}
	ps, err := c.pairs(m["table"], "table")
	if err != nil {
		return nil, err
	}
	tab := map[string]string{}
	for _, kv := range ps {
		tab[kv[0].Value] = kv[1].Value
	}
	line := n.Line
	return &expr{desc: fmt.Sprintf("table(%s, %d entries)", of.desc, len(tab)), eval: func(c *evalCtx) (string, error) {
		v, err := of.eval(c)
		if err != nil || v == "" {
			return "", err
		}
		var out []string
		for item := range strings.SplitSeq(v, ";") {
			to, ok := tab[item]
			if !ok {
				return "", fmt.Errorf("%w for %q in the value table at profile line %d: add it to the table, or give the table a default", errNoEntry, item, line)
			}
			if to != "" && !slices.Contains(out, to) {
				out = append(out, to)
			}
		}
		return strings.Join(out, ";"), nil
	}}, nil
}

func (c *compiler) rewrite(n *yaml.Node, m map[string]*yaml.Node, sub func(string) (*expr, error), allowed func(...string) error) (*expr, error) {
	if err := allowed("rewrite", "match", "to", "case", "else"); err != nil {
		return nil, err
	}
	of, err := sub("rewrite")
	if err != nil {
		return nil, err
	}
	if m["match"] == nil {
		return nil, c.errf(n, "rewrite: needs match: (a regular expression)")
	}
	re, err := regexp.Compile(m["match"].Value)
	if err != nil {
		return nil, c.errf(m["match"], "match: %v", err)
	}
	to := "${0}"
	if m["to"] != nil {
		to = m["to"].Value
		for _, ref := range paramRef.FindAllStringSubmatch(to, -1) {
			if !c.param(ref[1]) {
				return nil, c.errf(m["to"], "no parameter %q under params:", ref[1])
			}
		}
	}
	cs := ""
	if m["case"] != nil {
		if cs = m["case"].Value; cs != "lower" && cs != "upper" {
			return nil, c.errf(m["case"], "case: is lower or upper")
		}
	}
	var els *expr
	if m["else"] != nil {
		if els, err = sub("else"); err != nil {
			return nil, err
		}
	}
	line := n.Line
	return &expr{desc: fmt.Sprintf("rewrite(%s, /%s/ → %q)", of.desc, re, to), eval: func(c *evalCtx) (string, error) {
		v, err := of.eval(c)
		if err != nil || v == "" {
			return "", err
		}
		if !re.MatchString(v) {
			if els != nil {
				return els.eval(c)
			}
			return "", fmt.Errorf("%q does not match /%s/ of the rewrite at profile line %d: fix the value, or give the rewrite an else", v, re, line)
		}
		out := re.ReplaceAllString(v, paramRef.ReplaceAllStringFunc(to, func(r string) string {
			return c.m.params[paramRef.FindStringSubmatch(r)[1]]
		}))
		switch cs {
		case "lower":
			out = strings.ToLower(out)
		case "upper":
			out = strings.ToUpper(out)
		}
		return out, nil
	}}, nil
}

func (c *compiler) ifExpr(from *schemas.Kind, n *yaml.Node, m map[string]*yaml.Node, sub func(string) (*expr, error), allowed func(...string) error) (*expr, error) {
	if err := allowed("if", "then", "else"); err != nil {
		return nil, err
	}
	if from == nil {
		return nil, c.errf(n, "if: needs a from: kind to test")
	}
	cd, err := c.cond(from, m["if"])
	if err != nil {
		return nil, err
	}
	if m["then"] == nil {
		return nil, c.errf(n, "if: needs then:")
	}
	then, err := sub("then")
	if err != nil {
		return nil, err
	}
	els := &expr{desc: `""`, eval: func(*evalCtx) (string, error) { return "", nil }}
	if m["else"] != nil {
		if els, err = sub("else"); err != nil {
			return nil, err
		}
	}
	return &expr{desc: fmt.Sprintf("if %s then %s else %s", cd.desc, then.desc, els.desc), eval: func(c *evalCtx) (string, error) {
		if cd.test(c) {
			return then.eval(c)
		}
		return els.eval(c)
	}}, nil
}

func (c *compiler) lookup(from *schemas.Kind, n *yaml.Node, m map[string]*yaml.Node, value bool, allowed func(...string) error) (*expr, error) {
	if err := allowed("lookup", "key", "field"); err != nil {
		return nil, err
	}
	k := c.p.Source.Kind(m["lookup"].Value)
	if k == nil {
		return nil, c.errf(m["lookup"], "%s has no kind %q", c.p.Source.Adapter, m["lookup"].Value)
	}
	if m["key"] == nil || m["field"] == nil {
		return nil, c.errf(n, "lookup: needs key: (an expression giving a %s key) and field:", k.Name)
	}
	key, err := c.exprWith(from, m["key"], value)
	if err != nil {
		return nil, err
	}
	field := m["field"].Value
	if k.Field(field) == nil {
		return nil, c.errf(m["field"], "%s has no field %q", k.Name, field)
	}
	return &expr{desc: fmt.Sprintf("%s[%s].%s", k.Name, key.desc, field), eval: func(c *evalCtx) (string, error) {
		kv, err := key.eval(c)
		if err != nil || kv == "" {
			return "", err
		}
		r := c.m.index[k.Name][kv]
		if r == nil {
			return "", nil
		}
		r.used = true
		for _, f := range k.Key {
			r.consumed[f] = true // the key found the row
		}
		c.cell = nil // the value is the looked-up row's, not the key's
		return c.read(r, field), nil
	}}, nil
}

// cond is a row test. In YAML, a mapping of field: test, all of which must
// hold; a test is a value (equals), or one of {not: v}, {in: [v, …]},
// {matches: re}, {present: true|false}. any: [cond, …] holds when one does.
type cond struct {
	desc string
	test func(c *evalCtx) bool
}

func (c *compiler) cond(from *schemas.Kind, n *yaml.Node) (*cond, error) {
	ps, err := c.pairs(n, "a condition")
	if err != nil {
		return nil, err
	}
	var tests []*cond
	for _, kv := range ps {
		name := kv[0].Value
		if name == "any" {
			t, err := c.anyCond(from, kv[1])
			if err != nil {
				return nil, err
			}
			tests = append(tests, t)
			continue
		}
		if err := c.checkRef(from, kv[0], name, false); err != nil {
			return nil, err
		}
		t, err := c.fieldTest(kv[1], name)
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	var descs []string
	for _, t := range tests {
		descs = append(descs, t.desc)
	}
	return &cond{desc: strings.Join(descs, " and "), test: func(c *evalCtx) bool {
		for _, t := range tests {
			if !t.test(c) {
				return false
			}
		}
		return true
	}}, nil
}

func (c *compiler) anyCond(from *schemas.Kind, n *yaml.Node) (*cond, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, c.errf(n, "any: takes a list of conditions")
	}
	var alts []*cond
	var descs []string
	for _, cn := range n.Content {
		a, err := c.cond(from, cn)
		if err != nil {
			return nil, err
		}
		alts = append(alts, a)
		descs = append(descs, a.desc)
	}
	return &cond{desc: "(" + strings.Join(descs, " or ") + ")", test: func(c *evalCtx) bool {
		for _, a := range alts {
			if a.test(c) {
				return true
			}
		}
		return false
	}}, nil
}

func (c *compiler) fieldTest(n *yaml.Node, field string) (*cond, error) {
	get := func(ctx *evalCtx) string { return ctx.ref(field) }
	if n.Kind == yaml.ScalarNode {
		want := n.Value
		return &cond{desc: fmt.Sprintf("%s is %q", field, want), test: func(c *evalCtx) bool { return get(c) == want }}, nil
	}
	ps, err := c.pairs(n, "a test")
	if err != nil || len(ps) != 1 {
		return nil, c.errf(n, "a test is a value, or one of {not: v}, {in: [v, …]}, {matches: re}, {present: true}")
	}
	op, arg := ps[0][0].Value, ps[0][1]
	switch op {
	case "not":
		want := arg.Value
		return &cond{desc: fmt.Sprintf("%s is not %q", field, want), test: func(c *evalCtx) bool { return get(c) != want }}, nil
	case "in":
		var set []string
		if err := arg.Decode(&set); err != nil {
			return nil, c.errf(arg, "in: takes a list of values")
		}
		return &cond{desc: fmt.Sprintf("%s in %q", field, set), test: func(c *evalCtx) bool { return slices.Contains(set, get(c)) }}, nil
	case "matches":
		re, err := regexp.Compile(arg.Value)
		if err != nil {
			return nil, c.errf(arg, "matches: %v", err)
		}
		return &cond{desc: fmt.Sprintf("%s matches /%s/", field, re), test: func(c *evalCtx) bool { return re.MatchString(get(c)) }}, nil
	case "present":
		want := arg.Value == "true"
		if arg.Value != "true" && arg.Value != "false" {
			return nil, c.errf(arg, "present: is true or false")
		}
		return &cond{desc: fmt.Sprintf("%s present: %v", field, want), test: func(c *evalCtx) bool { return (get(c) != "") == want }}, nil
	}
	return nil, c.errf(ps[0][0], "unknown test %q (not, in, matches, present)", op)
}
