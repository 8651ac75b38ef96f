package validate

import (
	"slices"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// runStub validates tables against the stub's kinds (vuser expands).
func runStub(t *testing.T, tables ...*table) (*Result, []batch.Row) {
	t.Helper()
	return runWith(t, schemas.MustLoad("stub"), Options{}, tables...)
}

func TestRangeRowExpandsIntoRecordsWithTheirOwnOrigins(t *testing.T) {
	res, rows := runStub(t, sheet("vusers", "number|ext|name",
		"123456700|0100|Single",
		"123456777..123456779|0000..0002|Range"))
	wantDiags(t, res.Diags)
	var got []string
	for _, r := range rows {
		got = append(got, r.Origin.String()+" "+r.Set.String("number")+" "+r.Set.String("ext")+" "+r.Set.String("name")+" "+r.Cells["ext"].String())
	}
	want := []string{
		"vusers!2 123456700 0100 Single vusers!B2",
		"vusers!3 [1/3] 123456777 0000 Range vusers!B3 [1/3]",
		"vusers!3 [2/3] 123456778 0001 Range vusers!B3 [2/3]",
		"vusers!3 [3/3] 123456779 0002 Range vusers!B3 [3/3]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestRangeProblemsAreErrorsAtTheCell(t *testing.T) {
	res, rows := runStub(t, sheet("vusers", "number|ext",
		"555000..555002|0000..0003",   // 3 numbers, 4 extensions
		"555100..555102|0100",         // a range beside a single value
		"555202..555200|0200..0202",   // backwards
		"555300..5553010|0300..0309",  // ends of different widths
		"555400..555401|0400..04x1",   // not digits
		"1000000..1999999|0000..9999", // too many
		"555500|0500",
		"555499..555501|0499..0501")) // its [2/3] is row 8's key
	var emitted []string
	for _, r := range rows {
		emitted = append(emitted, r.Origin.String())
	}
	// Each record stands on its own: row 9's others are fine.
	if want := []string{"vusers!8", "vusers!9 [1/3]", "vusers!9 [3/3]"}; !slices.Equal(emitted, want) {
		t.Errorf("emitted %v, want %v", emitted, want)
	}
	wantDiags(t, res.Diags,
		"error vusers!B2 ext schema.range",
		"error vusers!B3 ext schema.range",
		"error vusers!A4 number schema.range",
		"error vusers!A5 number schema.range",
		"error vusers!B6 ext schema.range",
		"error vusers!A7 number schema.range",
		"error vusers!A9 [2/3] number key.duplicate",
	)
	for _, d := range res.Diags {
		if d.Row == 9 && !strings.Contains(d.Message, "vusers!A8") {
			t.Errorf("duplicate message %q does not name the first row", d.Message)
		}
		if d.Row == 2 && !strings.Contains(d.Message, "4 values") {
			t.Errorf("size mismatch message %q does not give the sizes", d.Message)
		}
	}
}
