package validate

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// fastSchema accepts records that are certainly valid without running the
// general JSON Schema validator, which allocates heavily per record and is
// most of validation's cost. It understands a fixed subset of keywords,
// checked when the schema is loaded; a schema using anything else gets no
// fast path. It only ever says "valid": a record it does not accept goes
// through the full validator, which finds and words the errors, so the
// messages are the same with or without it.
type fastSchema struct {
	fields   map[string]*fastField // dotted path -> checks
	required []string              // dotted paths, when their parent object is present
	conds    []fastCond
}

type fastField struct {
	typ      string
	enum     []string
	pattern  *regexp.Regexp
	minLen   int
	maxLen   int // -1: none
	min, max *float64
	format   func(any) bool
	items    *fastField
	minItems int
	maxItems int // -1: none
	unique   bool
}

// fastCond is `if {properties: {F: {const|enum|not const}}, required: [F]}
// then/else {properties: {p: false}, required: [...]}`, the form
// type-specific fields take.
type fastCond struct {
	field     string
	values    []string
	negate    bool
	then, els fastBranch
	hasThen   bool
	hasElse   bool
}

type fastBranch struct {
	forbidden []string
	required  []string
}

// keywords the fast path understands (or that do not affect validity).
var fastKeywords = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true, "default": true, "examples": true,
	"type": true, "enum": true, "const": false, "pattern": true, "minLength": true, "maxLength": true,
	"minimum": true, "maximum": true, "format": true, "items": true, "minItems": true, "maxItems": true, "uniqueItems": true,
	"properties": true, "required": true, "additionalProperties": true, "allOf": true,
}

// compileFast returns nil when the schema uses anything the fast path does
// not understand.
func compileFast(raw any) *fastSchema {
	root, ok := raw.(map[string]any)
	if !ok {
		return nil
	}
	fs := &fastSchema{fields: map[string]*fastField{}}
	if !fs.object("", root) {
		return nil
	}
	if all, ok := root["allOf"].([]any); ok {
		for _, x := range all {
			c, ok := compileCond(x)
			if !ok {
				return nil
			}
			fs.conds = append(fs.conds, c)
		}
	}
	return fs
}

func (fs *fastSchema) object(prefix string, n map[string]any) bool {
	for k, v := range n {
		if strings.HasPrefix(k, "x-") {
			continue
		}
		if !fastKeywords[k] || (k == "allOf" && prefix != "") {
			return false
		}
		if k == "additionalProperties" && v != false {
			return false // records hold only schema fields, so false is always met; a schema here is not understood
		}
	}
	if t, _ := n["type"].(string); t != "" && t != "object" {
		return false
	}
	for _, r := range asList(n["required"]) {
		s, ok := r.(string)
		if !ok {
			return false
		}
		fs.required = append(fs.required, prefix+s)
	}
	props, _ := n["properties"].(map[string]any)
	for name, p := range props {
		pm, ok := p.(map[string]any)
		if !ok {
			return false
		}
		if t, _ := pm["type"].(string); t == "object" {
			if !fs.object(prefix+name+".", pm) {
				return false
			}
			continue
		}
		f, ok := compileField(pm)
		if !ok {
			return false
		}
		fs.fields[prefix+name] = f
	}
	return true
}

func compileField(n map[string]any) (*fastField, bool) {
	f := &fastField{maxLen: -1, maxItems: -1}
	for k := range n {
		if !strings.HasPrefix(k, "x-") && (!fastKeywords[k] || k == "properties" || k == "required" || k == "additionalProperties" || k == "allOf") {
			return nil, false
		}
	}
	var ok bool
	if f.typ, ok = n["type"].(string); !ok {
		return nil, false
	}
	for _, e := range asList(n["enum"]) {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		f.enum = append(f.enum, s)
	}
	if p, has := n["pattern"]; has {
		s, _ := p.(string)
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, false
		}
		f.pattern = re
	}
	f.minLen, ok = intKeyword(n, "minLength", 0)
	if !ok {
		return nil, false
	}
	if f.maxLen, ok = intKeyword(n, "maxLength", -1); !ok {
		return nil, false
	}
	if f.minItems, ok = intKeyword(n, "minItems", 0); !ok {
		return nil, false
	}
	if f.maxItems, ok = intKeyword(n, "maxItems", -1); !ok {
		return nil, false
	}
	f.unique, _ = n["uniqueItems"].(bool)
	for _, b := range []struct {
		key string
		dst **float64
	}{{"minimum", &f.min}, {"maximum", &f.max}} {
		if v, has := n[b.key]; has {
			num, ok := v.(json.Number)
			if !ok {
				return nil, false
			}
			x, err := num.Float64()
			if err != nil {
				return nil, false
			}
			*b.dst = &x
		}
	}
	if v, has := n["format"]; has {
		s, _ := v.(string)
		if f.format = jsonschema.Formats[s]; f.format == nil {
			return nil, false
		}
	}
	if it, has := n["items"]; has {
		im, ok := it.(map[string]any)
		if !ok {
			return nil, false
		}
		if f.items, ok = compileField(im); !ok {
			return nil, false
		}
	}
	return f, true
}

func compileCond(x any) (fastCond, bool) {
	var c fastCond
	m, ok := x.(map[string]any)
	if !ok {
		return c, false
	}
	for k := range m {
		if k != "if" && k != "then" && k != "else" {
			return c, false
		}
	}
	cond, _ := m["if"].(map[string]any)
	props, _ := cond["properties"].(map[string]any)
	req := asList(cond["required"])
	if len(props) != 1 || len(cond) != 2 || len(req) != 1 {
		return c, false
	}
	for name, p := range props {
		c.field = name
		pm, _ := p.(map[string]any)
		if not, ok := pm["not"].(map[string]any); ok && len(pm) == 1 {
			pm, c.negate = not, true
		}
		switch {
		case len(pm) == 1 && pm["const"] != nil:
			s, ok := pm["const"].(string)
			if !ok {
				return c, false
			}
			c.values = []string{s}
		case len(pm) == 1 && pm["enum"] != nil:
			for _, e := range asList(pm["enum"]) {
				s, ok := e.(string)
				if !ok {
					return c, false
				}
				c.values = append(c.values, s)
			}
		default:
			return c, false
		}
	}
	if req[0] != c.field {
		return c, false
	}
	if c.then, c.hasThen, ok = compileBranch(m["then"]); !ok {
		return c, false
	}
	if c.els, c.hasElse, ok = compileBranch(m["else"]); !ok {
		return c, false
	}
	return c, true
}

func compileBranch(x any) (fastBranch, bool, bool) {
	var b fastBranch
	if x == nil {
		return b, false, true
	}
	m, ok := x.(map[string]any)
	if !ok {
		return b, false, false
	}
	for k, v := range m {
		switch k {
		case "properties":
			props, _ := v.(map[string]any)
			for name, p := range props {
				if p != false {
					return b, false, false
				}
				b.forbidden = append(b.forbidden, name)
			}
		case "required":
			for _, r := range asList(v) {
				s, ok := r.(string)
				if !ok {
					return b, false, false
				}
				b.required = append(b.required, s)
			}
		default:
			return b, false, false
		}
	}
	return b, true, true
}

func asList(v any) []any { l, _ := v.([]any); return l }

func intKeyword(n map[string]any, key string, def int) (int, bool) {
	v, has := n[key]
	if !has {
		return def, true
	}
	num, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(string(num))
	return i, err == nil
}

// accept reports whether rec is certainly valid.
func (fs *fastSchema) accept(rec map[string]any) bool {
	for _, p := range fs.required {
		if !presentWithParent(rec, p) {
			return false
		}
	}
	if !fs.walk("", rec) {
		return false
	}
	for _, c := range fs.conds {
		v, has := rec[c.field]
		s, _ := v.(string)
		match := has && slices.Contains(c.values, s) != c.negate
		b, use := c.els, c.hasElse
		if match {
			b, use = c.then, c.hasThen
		}
		if !use {
			continue
		}
		for _, p := range b.forbidden {
			if _, has := rec[p]; has {
				return false
			}
		}
		for _, p := range b.required {
			if _, has := rec[p]; !has {
				return false
			}
		}
	}
	return true
}

// presentWithParent reports whether a required field is there: a nested
// field is required only when its parent object is present.
func presentWithParent(rec map[string]any, path string) bool {
	cur := rec
	parts := strings.Split(path, ".")
	for i, part := range parts {
		v, has := cur[part]
		if !has {
			return i < len(parts)-1 // a missing parent makes the requirement moot
		}
		if i == len(parts)-1 {
			return true
		}
		if cur, has = v.(map[string]any); !has {
			return false
		}
	}
	return true
}

func (fs *fastSchema) walk(prefix string, m map[string]any) bool {
	for k, v := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if child, ok := v.(map[string]any); ok {
			if !fs.walk(p, child) {
				return false
			}
			continue
		}
		f := fs.fields[p]
		if f == nil || !f.check(v) {
			return false
		}
	}
	return true
}

func (f *fastField) check(v any) bool {
	switch f.typ {
	case "string":
		s, ok := v.(string)
		if !ok {
			return false
		}
		if len(f.enum) > 0 && !slices.Contains(f.enum, s) {
			return false
		}
		if f.minLen > 0 || f.maxLen >= 0 {
			n := utf8.RuneCountInString(s)
			if n < f.minLen || f.maxLen >= 0 && n > f.maxLen {
				return false
			}
		}
		if f.pattern != nil && !f.pattern.MatchString(s) {
			return false
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		x, err := n.Float64()
		if err != nil || f.typ == "integer" && strings.ContainsAny(string(n), ".eE") {
			return false
		}
		if f.min != nil && x < *f.min || f.max != nil && x > *f.max {
			return false
		}
		if len(f.enum) > 0 {
			return false // numeric enums: leave to the full validator
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return false
		}
	case "array":
		l, ok := v.([]any)
		if !ok || len(l) < f.minItems || f.maxItems >= 0 && len(l) > f.maxItems {
			return false
		}
		if f.unique {
			for i := range l {
				for j := range i {
					if l[i] == l[j] {
						return false
					}
				}
			}
		}
		if f.items != nil {
			for _, x := range l {
				if !f.items.check(x) {
					return false
				}
			}
		}
		return f.format == nil
	default:
		return false
	}
	return f.format == nil || f.format(v)
}
