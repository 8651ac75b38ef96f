package mxone

import (
	"strings"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// bodyFromRecord builds a request body from a record, field by field of the
// kind's schema (whose property names are the request's), into base.
// Secrets are sent only when the record holds one (PM never returns them,
// so "absent" means "keep"). With zeroFill, every other field the record
// lacks is sent as its zero value, because PUT replaces the whole object and
// a cleared cell must clear the field.
func bodyFromRecord(k *schemas.Kind, r schemas.Record, base map[string]any, zeroFill bool, skip func(*schemas.Field) bool) map[string]any {
	if base == nil {
		base = map[string]any{}
	}
	for _, f := range k.Fields {
		if f.ReadOnly || (skip != nil && skip(f)) {
			continue
		}
		_, present := r.Get(f.Path)
		if !present && (f.Secret || !zeroFill) {
			continue
		}
		var v any
		switch f.Type {
		case "boolean":
			v = recBool(r, f.Path)
		case "integer", "number":
			v = recInt(r, f.Path)
		case "array":
			l := recList(r, f.Path)
			if l == nil {
				l = []string{}
			}
			v = l
		default:
			v = recString(r, f.Path)
		}
		setPath(base, f.Path, v)
	}
	return base
}

// setPath stores v at a dotted path in a JSON object, creating (or copying,
// so that a caller's base is not shared) the nested objects on the way.
func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		child, _ := m[p].(map[string]any)
		cp := make(map[string]any, len(child)+1)
		for k, x := range child {
			cp[k] = x
		}
		m[p] = cp
		m = cp
	}
	m[parts[len(parts)-1]] = v
}
