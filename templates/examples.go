package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/schemas"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Examples returns one example record per kind of set (by kind name), as
// the template's example rows show them. Every example validates against
// its kind's schema, and references name the examples of the kinds they
// point at, so the example rows of a template form a consistent rollout.
func Examples(set *schemas.Set) (map[string]schemas.Record, error) {
	order, err := set.Order()
	if err != nil {
		return nil, err
	}
	keys := map[string]string{} // kind name -> example key value
	out := map[string]schemas.Record{}
	for _, k := range order {
		rec, err := example(k, keys)
		if err != nil {
			return nil, err
		}
		out[k.Name] = rec
		if len(k.Key) == 1 {
			keys[k.Name] = rec.String(k.Key[0])
		}
	}
	return out, nil
}

// example builds a record field by field: required fields take the
// candidate that leaves the fewest schema errors, optional fields are kept
// only when the record stays valid with them. Conditional rules (a MAC
// address only for IP extensions) thereby shape the example without the
// generator knowing them.
func example(k *schemas.Kind, keys map[string]string) (schemas.Record, error) {
	rec := schemas.Record{}
	errs := schemaErrors(k, rec)
	for _, pass := range []bool{true, false} {
		for _, f := range k.Fields {
			if f.Required != pass || f.ReadOnly {
				continue
			}
			var best any
			bestErrs := errs
			for _, c := range candidates(k, f, keys) {
				rec.Set(f.Path, c)
				n := schemaErrors(k, rec)
				// One "missing properties" error covers every absent required
				// field, so a required field takes its best candidate even
				// when the count does not drop yet.
				better := n < bestErrs || best == nil && (f.Required || n == 0)
				if better {
					best, bestErrs = c, n
				}
				if n == 0 {
					break
				}
			}
			if best == nil {
				rec.Delete(f.Path)
				continue
			}
			rec.Set(f.Path, best)
			errs = bestErrs
		}
	}
	if errs != 0 {
		err := k.Schema.Validate(map[string]any(rec))
		return nil, fmt.Errorf("kind %s: no example validates against its schema (%v); give the failing field a pattern-matching example", k.Name, err)
	}
	return rec, nil
}

// schemaErrors counts the leaf errors of validating rec (0 when valid).
func schemaErrors(k *schemas.Kind, rec schemas.Record) int {
	err := k.Schema.Validate(map[string]any(schemas.Normalize(rec).(map[string]any)))
	if err == nil {
		return 0
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return 1 << 20
	}
	return max(1, len(ve.BasicOutput().Errors))
}

// Plausible values by field path, or by its last segment, lower-cased.
var byName = map[string][]string{
	"userid":                {"aberg"},
	"mxonesubsystem.userid": {"provisioning"},
	"firstname":             {"Anna"},
	"first":                 {"Anna"},
	"givenname":             {"Anna"},
	"lastname":              {"Berg"},
	"last":                  {"Berg"},
	"surname":               {"Berg"},
	"familyname":            {"Berg"},
	"displayname":           {"Anna Berg"},
	"emailaddress":          {"anna.berg@example.com"},
	"email":                 {"anna.berg@example.com"},
	"locationname":          {"Stockholm"},
	"departmentname":        {"Sales"},
	"subsystemname":         {"MX-ONE Stockholm"},
	"securityprofilename":   {"Standard user"},
	"description":           {"Example row: replace or delete it"},
	"extensionnumber":       {"1001"},
	"extension":             {"1001"},
	"port":                  {"443"},
	"iporfqdnaddress":       {"192.0.2.10"},
	"privilegename":         {"User Administration"},
	"macaddress":            {"00:1A:2B:3C:4D:5E"},
	"domainname":            {"example.com"},
	"name":                  {"Example"},
	"title":                 {"Sales manager"},
	"city":                  {"Stockholm"},
	"country":               {"SE"},
}

var byFormat = map[string][]string{
	"email":     {"anna.berg@example.com"},
	"date":      {"2026-12-31"},
	"date-time": {"2026-12-31T08:00:00Z"},
	"ipv4":      {"192.0.2.10"},
	"ipv6":      {"2001:db8::10"},
	"hostname":  {"pbx.example.com"},
	"uri":       {"https://example.com"},
}

var byText = map[string][]string{
	"digits": {"1001", "1", "0"},
	"phone":  {"+46855512345", "46855512345", "1001"},
}

// candidates lists typed values to try for a field, most plausible first.
// Optional fields with nothing specific to show get none, so the example
// row stays readable.
func candidates(k *schemas.Kind, f *schemas.Field, keys map[string]string) []any {
	if f.Secret && !f.Required {
		return nil // a sample password in a template is one that gets used
	}
	if f.Ref != nil {
		key, ok := keys[f.Ref.Kind]
		if !ok || f.Ref.Kind == k.Name && !f.Required { // a parent of itself: leave top-level
			return nil
		}
		if f.Ref.Many {
			return []any{[]any{key}}
		}
		return []any{key}
	}
	elem := f.Type
	if f.Type == "array" {
		elem = f.Items
	}
	var texts []string
	switch {
	case len(f.Enum) > 0:
		texts = f.Enum
	case elem == "boolean":
		texts = []string{"false", "true"}
	default:
		path := strings.ToLower(f.Path)
		texts = slices.Clone(f.Examples) // the schema's own first
		if named := byName[path]; named != nil {
			texts = append(texts, named...)
		} else {
			texts = append(texts, byName[path[strings.LastIndex(path, ".")+1:]]...)
		}
		texts = append(texts, byFormat[f.Format]...)
		// A phone number shows its format; an optional code of digits
		// (customer, area code) has no example worth guessing.
		if f.Required || f.Text == "phone" {
			texts = append(texts, byText[f.Text]...)
		}
		if len(texts) == 0 && !f.Required {
			return nil
		}
		switch elem {
		case "integer", "number":
			texts = append(texts, "1", "0", "10", "100", "1000")
		default:
			texts = append(texts, "Example", "example", "EXAMPLE1", "1")
		}
	}
	if f.Pattern != "" && elem == "string" {
		if re, err := regexp.Compile(f.Pattern); err == nil {
			var keep []string
			for _, t := range texts {
				if re.MatchString(t) {
					keep = append(keep, t)
				}
			}
			texts = keep
		}
	}
	var out []any
	for _, t := range texts {
		v := typed(elem, t)
		if f.Type == "array" {
			v = []any{v}
		}
		out = append(out, v)
	}
	return out
}

func typed(typ, text string) any {
	switch typ {
	case "integer", "number":
		return json.Number(text)
	case "boolean":
		return text == "true"
	}
	return text
}
