package schemas

import (
	"encoding/json"
	"slices"
)

// Write-only fields: "x-writeonly": true on a property marks a value the
// platform accepts but never returns (MX-ONE's user mobileNumber, for
// example). Like a secret it cannot be compared with the target, so a plan
// does not count it as a change merely because the target shows nothing;
// unlike a secret it may be printed.

// WriteOnlyPaths returns the dotted paths of the kind's write-only fields,
// in column order.
func (k *Kind) WriteOnlyPaths() []string {
	out := []string{}
	for _, f := range k.Fields {
		if f.WriteOnly {
			out = append(out, f.Path)
		}
	}
	return out
}

// IsWriteOnly reports whether the field at path is write-only.
func (k *Kind) IsWriteOnly(path string) bool {
	return slices.Contains(k.WriteOnlyPaths(), path)
}

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
