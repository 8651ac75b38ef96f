package mxone

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// Helpers that build records in schema shape: PM omits zero and empty
// fields, so a record carries a field only when it holds something, and an
// absent field in the workbook's "keep" sense compares equal.

func putString(r schemas.Record, path string, v flexString) {
	if s := strings.TrimSpace(string(v)); s != "" {
		r.Set(path, s)
	}
}

func putBool(r schemas.Record, path string, v bool) {
	if v {
		r.Set(path, true)
	}
}

// putBoolText stores a VO boolean ("true"/"false", or a real bool that
// flexString kept as its JSON text).
func putBoolText(r schemas.Record, path string, v flexString) {
	s := strings.ToLower(strings.TrimSpace(string(v)))
	putBool(r, path, s == "true" || s == "1" || s == "yes")
}

func putInt(r schemas.Record, path string, v int64) {
	if v != 0 {
		r.Set(path, json.Number(strconv.FormatInt(v, 10)))
	}
}

// putIntText stores a VO integer held as text ("12").
func putIntText(r schemas.Record, path string, v flexString) {
	n, err := strconv.ParseFloat(strings.TrimSpace(string(v)), 64)
	if err == nil {
		putInt(r, path, int64(n))
	}
}

func putList(r schemas.Record, path string, vals []string) {
	var out []any
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	if len(out) > 0 {
		r.Set(path, out)
	}
}

// recString reads a record field as text.
func recString(r schemas.Record, path string) string { return r.String(path) }

// recBool reads a record field as a boolean (true, "true").
func recBool(r schemas.Record, path string) bool {
	v, ok := r.Get(path)
	if !ok {
		return false
	}
	switch t := v.(type) {
	case bool:
		return t
	default:
		s := strings.ToLower(schemas.Text(v))
		return s == "true" || s == "1" || s == "yes"
	}
}

// recInt reads a record field as an integer (json.Number, "12").
func recInt(r schemas.Record, path string) int64 {
	s := r.String(path)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return int64(n)
}

// recList reads a list field ([]any or a ";"-joined string).
func recList(r schemas.Record, path string) []string {
	v, ok := r.Get(path)
	if !ok || v == nil {
		return nil
	}
	var out []string
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			if s := strings.TrimSpace(schemas.Text(x)); s != "" {
				out = append(out, s)
			}
		}
	case []string:
		for _, s := range t {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	default:
		for s := range strings.SplitSeq(schemas.Text(v), ";") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// decodeItem decodes one raw list item into a wire type.
func decodeItem(raw json.RawMessage, v any) error { return json.Unmarshal(raw, v) }
