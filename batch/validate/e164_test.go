package validate

import (
	"slices"
	"testing"
	"testing/fstest"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// TestE164RuleNormalisesPhoneNumbers: what people type becomes one form,
// in single cells and in the values of a range; a national number is an
// error at its cell.
func TestE164RuleNormalisesPhoneNumbers(t *testing.T) {
	set, err := schemas.LoadFS(fstest.MapFS{"x/dial.json": {Data: []byte(`{
	  "x-kind": "dial", "x-key": ["number"], "x-expand": ["number"], "type": "object",
	  "properties": {"number": {"type": "string", "pattern": "^\\+[1-9][0-9]{2,14}$", "x-rule": "e164", "x-text": "phone", "title": "Number", "description": "A number."}}}`)}}, "x", "x")
	if err != nil {
		t.Fatal(err)
	}
	res, rows := runWith(t, set, Options{}, sheet("dials", "number",
		"+32 2 123 45 67", "0032-3-123.45.67", "+3240000..+3240001", "02 123 45 67"))
	wantDiags(t, res.Diags, "error dials!A5 number domain.e164")
	var got []string
	for _, r := range rows {
		got = append(got, r.Set.String("number"))
	}
	if want := []string{"+3221234567", "+3231234567", "+3240000", "+3240001"}; !slices.Equal(got, want) {
		t.Errorf("numbers %v, want %v", got, want)
	}
}
