package schemas

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Record is one record of a kind in JSON shape: nested objects are
// map[string]any (a dotted path "nameIdentity.firstName" addresses them),
// lists are []any, and scalars are string, bool or json.Number. Numbers are
// always json.Number in canonical form (see Normalize) so that two records
// compare equal exactly when a user would call them equal.
//
// References to other kinds hold the other record's natural key (a name),
// never a platform id: adapters translate names to ids and back.
type Record map[string]any

// Get returns the value at a dotted path, and whether it is present.
func (r Record) Get(path string) (any, bool) {
	var cur any = map[string]any(r)
	for part := range strings.SplitSeq(path, ".") {
		m, ok := asMap(cur)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// String returns the value at path rendered as text ("" when absent).
func (r Record) String(path string) string {
	v, ok := r.Get(path)
	if !ok || v == nil {
		return ""
	}
	return Text(v)
}

// Set stores v at a dotted path, creating intermediate objects.
func (r Record) Set(path string, v any) {
	parts := strings.Split(path, ".")
	m := map[string]any(r)
	for _, p := range parts[:len(parts)-1] {
		next, ok := asMap(m[p])
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// Delete removes the value at a dotted path; emptied parent objects are
// removed too, so that "absent" has one representation.
func (r Record) Delete(path string) {
	parts := strings.Split(path, ".")
	var del func(m map[string]any, parts []string)
	del = func(m map[string]any, parts []string) {
		if len(parts) == 1 {
			delete(m, parts[0])
			return
		}
		child, ok := asMap(m[parts[0]])
		if !ok {
			return
		}
		del(child, parts[1:])
		if len(child) == 0 {
			delete(m, parts[0])
		}
	}
	del(r, parts)
}

// Clone returns a deep copy.
func (r Record) Clone() Record {
	if r == nil {
		return nil
	}
	return Record(cloneValue(map[string]any(r)).(map[string]any))
}

// Equal reports whether two records hold the same values.
func (r Record) Equal(o Record) bool {
	return reflect.DeepEqual(Normalize(map[string]any(r)), Normalize(map[string]any(o)))
}

// Paths returns the dotted paths of all leaf values (lists count as leaves).
func (r Record) Paths() []string {
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			if child, ok := asMap(m[k]); ok {
				walk(p, child)
				continue
			}
			out = append(out, p)
		}
	}
	walk("", r)
	return out
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case Record:
		return m, true
	}
	return nil, false
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = cloneValue(x)
		}
		return out
	case Record:
		return cloneValue(map[string]any(t))
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = cloneValue(x)
		}
		return out
	}
	return v
}

// Normalize converts a JSON-shaped value to the canonical form Record uses:
// every number becomes a json.Number without a needless fraction or exponent
// ("5", not "5.0" or "5e0"), Record becomes map[string]any, []string becomes
// []any. Values of other types are returned as they are.
func Normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = Normalize(x)
		}
		return out
	case Record:
		return Normalize(map[string]any(t))
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = Normalize(x)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = x
		}
		return out
	case json.Number:
		return canonicalNumber(string(t))
	case float64:
		return canonicalNumber(strconv.FormatFloat(t, 'f', -1, 64))
	case float32:
		return canonicalNumber(strconv.FormatFloat(float64(t), 'f', -1, 32))
	case int:
		return json.Number(strconv.FormatInt(int64(t), 10))
	case int32:
		return json.Number(strconv.FormatInt(int64(t), 10))
	case int64:
		return json.Number(strconv.FormatInt(t, 10))
	}
	return v
}

func canonicalNumber(s string) json.Number {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return json.Number(strconv.FormatInt(i, 10))
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return json.Number(s)
}

// Text renders a scalar or list value the way a workbook cell holds it:
// lists are joined with ";", booleans are "true"/"false".
func Text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return string(t)
	case bool:
		return strconv.FormatBool(t)
	case []any:
		parts := make([]string, len(t))
		for i, x := range t {
			parts[i] = Text(x)
		}
		return strings.Join(parts, ";")
	case []string:
		return strings.Join(t, ";")
	case float64, int, int64, int32:
		return string(Normalize(t).(json.Number))
	}
	return fmt.Sprint(v)
}
