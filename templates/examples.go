package templates

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// Examples returns the example record of every kind of set (by kind name),
// as the template's example rows show them: the first of each field's
// schema "examples" (secrets never have one). The schemas are the single
// source: the validator recognises a kept example row by the same values.
// Every example must validate against its kind's schema, and a reference
// must name the example of the kind it points at, so that the example rows
// of a template form a rollout that applies to an empty target.
func Examples(set *schemas.Set) (map[string]schemas.Record, error) {
	out := map[string]schemas.Record{}
	for _, k := range set.Kinds {
		if k.ReadOnly {
			continue // a catalogue has no template sheet
		}
		rec := Example(k)
		if err := k.Schema.Validate(schemas.Normalize(map[string]any(rec))); err != nil {
			return nil, fmt.Errorf("kind %s: the schema's examples do not make a valid record (%v); fix the fields' \"examples\"", k.Name, err)
		}
		out[k.Name] = rec
	}
	for _, k := range set.Kinds {
		for _, r := range k.Refs {
			target := set.Kind(r.Kind)
			v, ok := out[k.Name].Get(r.Field)
			if !ok || target == nil || target.ReadOnly || target == k {
				continue // a catalogue is the platform's own; a parent is optional
			}
			key := out[target.Name].String(r.KeyField) // the key field the reference holds (one of a compound key)
			for _, item := range strings.Split(schemas.Text(v), ";") {
				if item != key {
					return nil, fmt.Errorf("kind %s: the example of %s is %q, but the example %s is %q; make them equal so that the example rows apply together", k.Name, r.Field, item, target.Name, key)
				}
			}
		}
	}
	return out, nil
}

// Example returns the example record of one kind.
func Example(k *schemas.Kind) schemas.Record {
	rec := schemas.Record{}
	for _, f := range k.Fields {
		if len(f.Examples) == 0 || f.ReadOnly || f.Secret {
			continue
		}
		text := f.Examples[0]
		if f.Type != "array" {
			rec.Set(f.Path, typed(f.Type, text))
			continue
		}
		var items []any
		for item := range strings.SplitSeq(text, ";") {
			items = append(items, typed(f.Items, item))
		}
		rec.Set(f.Path, items)
	}
	return rec
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
