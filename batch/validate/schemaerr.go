package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// mapped is one schema error placed on one field, in words.
type mapped struct {
	path string // dotted field path ("" for the whole row)
	code string
	msg  string
}

// leaves returns the innermost errors: the ones that say what is wrong,
// not which branch of the schema noticed.
func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	var out []*jsonschema.ValidationError
	for _, c := range ve.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

var quotedRE = regexp.MustCompile(`'([^']*)'`)
var numRE = regexp.MustCompile(`-?\d+(\.\d+)?`)

// explain turns a leaf error into messages about fields. v5 reports
// "missing properties: 'a', 'b'" at the parent object, so that one is split
// into one message per missing field, each pointing at its own column.
func (sp *spec) explain(le *jsonschema.ValidationError) []mapped {
	k := sp.kind
	base := sp.fieldOf(le.InstanceLocation)
	kw := le.KeywordLocation[strings.LastIndexByte(le.KeywordLocation, '/')+1:]
	f := k.Field(base)
	title := base
	if f != nil && f.Title != "" {
		title = fmt.Sprintf("%s (%s)", base, f.Title)
	}
	cond := sp.condition(le.KeywordLocation)
	switch kw {
	case "required":
		var out []mapped
		for _, m := range quotedRE.FindAllStringSubmatch(le.Message, -1) {
			p := m[1]
			if base != "" {
				p = base + "." + p
			}
			name := p
			if g := k.Field(p); g != nil {
				name = fmt.Sprintf("%s (%s)", p, g.Title)
			}
			msg := fmt.Sprintf("%s is required for a row that may create a %s (action create or upsert, the default); fill in the cell, or set the row's action to update to change only some fields", name, k.Name)
			if cond != "" {
				msg = fmt.Sprintf("%s is required when %s; fill in the cell", name, cond)
			}
			out = append(out, mapped{p, "schema.required", msg})
		}
		return out
	case "enum", "const":
		allowed := ""
		if f != nil && len(f.Enum) > 0 {
			allowed = strings.Join(f.Enum, ", ")
		} else {
			allowed = strings.TrimPrefix(strings.TrimPrefix(le.Message, "value must be one of "), "value must be ")
		}
		msg := fmt.Sprintf("%s must be one of: %s", title, allowed)
		if cond != "" {
			msg += " when " + cond
		}
		return []mapped{{base, "schema.enum", msg}}
	case "pattern":
		// The expression means nothing to the person fixing the cell; the
		// field's description says what it holds.
		what := "check the value against the column's description in the template"
		if f != nil {
			what = f.Description
		}
		return []mapped{{base, "schema.pattern", fmt.Sprintf("%s does not have the expected form: %s", title, what)}}
	case "format":
		format := ""
		if ms := quotedRE.FindAllStringSubmatch(le.Message, -1); len(ms) > 0 {
			format = ms[len(ms)-1][1]
		}
		return []mapped{{base, "schema.format", fmt.Sprintf("%s is not a valid %s", title, format)}}
	case "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "multipleOf":
		limit := ""
		if n := numRE.FindString(le.Message); n != "" {
			limit = n
		}
		words := map[string]string{
			"minLength": "must be at least %s characters long", "maxLength": "must be at most %s characters long",
			"minimum": "must be at least %s", "maximum": "must be at most %s",
			"exclusiveMinimum": "must be more than %s", "exclusiveMaximum": "must be less than %s",
			"minItems": "needs at least %s items (separate items with ;)", "maxItems": "takes at most %s items",
			"multipleOf": "must be a multiple of %s",
		}[kw]
		if kw == "multipleOf" {
			limit = numRE.FindAllString(le.Message, -1)[len(numRE.FindAllString(le.Message, -1))-1]
		}
		return []mapped{{base, "schema." + kw, title + " " + fmt.Sprintf(words, limit)}}
	case "uniqueItems":
		return []mapped{{base, "schema.uniqueItems", title + " lists the same item twice; remove the repeat"}}
	case "type":
		return []mapped{{base, "schema.type", fmt.Sprintf("%s has the wrong type: %s", title, le.Message)}}
	case "additionalProperties", "unevaluatedProperties":
		var out []mapped
		for _, m := range quotedRE.FindAllStringSubmatch(le.Message, -1) {
			p := m[1]
			if base != "" {
				p = base + "." + p
			}
			out = append(out, mapped{p, "schema.not_allowed", notAllowed(p, cond)})
		}
		return out
	}
	if le.Message == "not allowed" || strings.HasSuffix(le.KeywordLocation, "/not") {
		return []mapped{{base, "schema.not_allowed", notAllowed(title, cond)}}
	}
	return []mapped{{base, "schema." + kw, fmt.Sprintf("%s: %s", title, le.Message)}}
}

func notAllowed(name, cond string) string {
	if cond != "" {
		return fmt.Sprintf("%s is not allowed when %s; leave the cell blank (it belongs to another type)", name, cond)
	}
	return fmt.Sprintf("%s is not allowed in this row; leave the cell blank", name)
}

// fieldOf turns a JSON pointer into the dotted path of the field it is in:
// "/nameIdentity/firstName" -> "nameIdentity.firstName", "/departments/2"
// -> "departments".
func (sp *spec) fieldOf(ptr string) string {
	if ptr == "" {
		return ""
	}
	var parts []string
	for seg := range strings.SplitSeq(strings.TrimPrefix(ptr, "/"), "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(seg); err == nil && len(parts) > 0 && sp.kind.Field(strings.Join(parts, ".")) != nil {
			break // an index into a list field
		}
		parts = append(parts, seg)
	}
	return strings.Join(parts, ".")
}

// condition explains the "if" of an if/then/else whose branch failed, so a
// type-specific field reads "is not allowed when extensionType is virtual"
// instead of naming a schema branch. It understands conditions made of
// const/enum properties, the form schemas here use; otherwise it is "".
func (sp *spec) condition(kwLoc string) string {
	i := max(strings.LastIndex(kwLoc, "/then/"), strings.LastIndex(kwLoc, "/else/"))
	if i < 0 {
		return ""
	}
	negate := strings.HasPrefix(kwLoc[i:], "/else/")
	node := lookupPointer(sp.raw, kwLoc[:i]+"/if")
	m, _ := node.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	var parts []string
	for name, p := range props {
		pm, _ := p.(map[string]any)
		if not, ok := pm["not"].(map[string]any); ok { // {"not": {"const": x}} reads as "is not x"
			pm, negate = not, !negate
		}
		var vals []string
		if c, ok := pm["const"]; ok {
			vals = append(vals, schemas.Text(schemas.Normalize(c)))
		}
		if e, ok := pm["enum"].([]any); ok {
			for _, x := range e {
				vals = append(vals, schemas.Text(schemas.Normalize(x)))
			}
		}
		if len(vals) == 0 {
			return ""
		}
		verb := "is"
		if negate {
			verb = "is not"
		}
		if len(vals) > 1 {
			verb += " one of"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", name, verb, strings.Join(vals, ", ")))
	}
	return strings.Join(parts, " and ")
}

// decodeRaw decodes a kind's schema file for condition lookups.
func decodeRaw(k *schemas.Kind) any {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(k.Raw))
	dec.UseNumber()
	_ = dec.Decode(&doc) // the schema compiled, so it decodes
	return doc
}

func lookupPointer(doc any, ptr string) any {
	cur := doc
	for seg := range strings.SplitSeq(strings.TrimPrefix(ptr, "/"), "/") {
		if seg == "" {
			continue
		}
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			cur = c[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}
