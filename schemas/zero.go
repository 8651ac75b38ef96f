package schemas

import "encoding/json"

// IsZero reports whether v is absent or a zero value: nil, "", false, 0 or
// an empty list. Platforms omit such values from what they return.
func IsZero(v any) bool {
	switch t := Normalize(v).(type) {
	case nil:
		return true
	case string:
		return t == ""
	case bool:
		return !t
	case json.Number:
		return t == "0"
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}
