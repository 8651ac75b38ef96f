package validate

import (
	"encoding/json"
	"testing"

	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// The fast path may only ever say "valid" when the full validator agrees.
// Feed both every sample record and many damaged variants of them.
func TestFastPathNeverAcceptsWhatTheSchemaRejects(t *testing.T) {
	set := schemas.MustLoad("mxone")
	r := sampledata.New(sampledata.Config{Locations: 3, Users: 60, Extensions: 90})
	damage := []any{"", "x", "analog", "not an e-mail", "12345678901234567890123", "00:11", json.Number("0"), json.Number("-5"),
		json.Number("1.5"), json.Number("100000"), true, []any{}, []any{"a", "a"}, []any{json.Number("1")},
		map[string]any{"x": "y"}, "Telephony", "+4670", string(make([]byte, 300))}
	for _, kind := range sampledata.Kinds() {
		k := set.Kind(kind)
		fast := compileFast(decodeRaw(k))
		if fast == nil {
			t.Errorf("%s: no fast path; validation of this kind runs at the full validator's speed", kind)
			continue
		}
		accepted, checked := 0, 0
		check := func(rec schemas.Record, what string) {
			checked++
			if !fast.accept(rec) {
				return
			}
			accepted++
			if err := k.Schema.Validate(map[string]any(rec)); err != nil {
				t.Errorf("%s %s: fast path accepted a record the schema rejects: %v\n%v", kind, what, err, rec)
			}
		}
		for i := range r.Len(kind) {
			rec := r.Record(kind, i)
			if !fast.accept(rec) && k.Schema.Validate(map[string]any(rec)) == nil {
				t.Errorf("%s: the fast path does not accept valid sample record %v", kind, rec)
			}
			check(rec, "sample")
			for _, f := range k.Fields {
				for _, bad := range damage {
					mut := rec.Clone()
					mut.Set(f.Path, bad)
					check(mut, f.Path)
				}
				mut := rec.Clone()
				mut.Delete(f.Path)
				check(mut, "without "+f.Path)
			}
		}
		if accepted == 0 {
			t.Errorf("%s: the fast path accepted none of %d records", kind, checked)
		}
	}
}
