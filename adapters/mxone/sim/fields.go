package sim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// fieldType is the JSON type a body field must have. Bodies are checked
// field by field like Jackson would: unknown fields are ignored, a field of
// the wrong type is a 400 naming it.
type fieldType int

const (
	tStr fieldType = iota
	tBool
	tInt
	tObj
	tList
)

type fieldSpec map[string]fieldType

func specWith(base fieldSpec, more map[string]fieldType) fieldSpec {
	out := fieldSpec{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

func udfSpec(n int) fieldSpec {
	s := fieldSpec{}
	for i := 1; i <= n; i++ {
		s["udf"+strconv.Itoa(i)] = tStr
	}
	return s
}

// pick returns the fields of body that spec knows, converted to their
// canonical Go type (string, bool, int, map[string]any, []any). A JSON null
// is kept as nil: it clears the field on merge.
func pick(what string, body map[string]any, spec fieldSpec) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range body {
		t, ok := spec[k]
		if !ok {
			continue
		}
		if v == nil {
			out[k] = nil
			continue
		}
		cv, err := convert(v, t)
		if err != nil {
			return nil, errBadRequest("%s: field %s: %v", what, k, err)
		}
		out[k] = cv
	}
	return out, nil
}

func convert(v any, t fieldType) (any, error) {
	switch t {
	case tStr:
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return x.String(), nil // Jackson coerces scalars to String
		case bool:
			return strconv.FormatBool(x), nil
		}
		return nil, fmt.Errorf("expected a string")
	case tBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("expected true or false")
	case tInt:
		var s string
		switch x := v.(type) {
		case int:
			return x, nil
		case json.Number:
			s = x.String()
		case string:
			s = strings.TrimSpace(x)
		default:
			return nil, fmt.Errorf("expected an integer")
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("expected a 32-bit integer, got %q", s)
		}
		return int(n), nil
	case tObj:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
		return nil, fmt.Errorf("expected an object")
	case tList:
		if l, ok := v.([]any); ok {
			return l, nil
		}
		return nil, fmt.Errorf("expected an array")
	}
	return nil, fmt.Errorf("unsupported field type")
}

// merge applies picked fields onto attrs: present replaces; null and zero
// values ("", false, 0, [], {}) delete, since the preface rule makes a
// stored zero and an absent field the same to every reader.
func merge(attrs, picked map[string]any) {
	for k, v := range picked {
		if isZero(v) {
			delete(attrs, k)
		} else {
			attrs[k] = v
		}
	}
}

// str returns a string field of a picked body ("" when absent).
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// integer returns an int field of a picked body and whether it was set.
func integer(m map[string]any, k string) (int, bool) {
	n, ok := m[k].(int)
	return n, ok
}

// prune applies the preface rule to a response value: zero numbers, false,
// empty strings, empty lists and objects left empty are omitted.
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if p := prune(e); !isZero(p) {
				out[k] = p
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			out = append(out, prune(e))
		}
		return out
	}
	return v
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case int:
		return x == 0
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
	case float64:
		return x == 0
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// cloneMap deep-copies a JSON-shaped map.
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

// stringList converts a list of JSON scalars to strings.
func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		switch x := e.(type) {
		case string:
			out = append(out, x)
		case json.Number:
			out = append(out, x.String())
		}
	}
	return out
}
