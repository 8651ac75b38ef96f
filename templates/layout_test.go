package templates

import (
	"testing"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// The README's wrapped lines get rows as tall as their text (else they
// overlap the next line), and every sheet prints landscape, one page wide.
func TestTemplatePrintsReadably(t *testing.T) {
	f, err := Build(schemas.MustLoad("mxone"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows(ReadmeSheet)
	tall := 0
	for i, r := range rows {
		if len(r) == 0 || len(r[0]) < 150 {
			continue
		}
		h, err := f.GetRowHeight(ReadmeSheet, i+1)
		if err != nil || h < 30 {
			t.Errorf("README row %d (%d characters) is %v points tall: its wrapped lines overlap", i+1, len(r[0]), h)
		}
		tall++
	}
	if tall == 0 {
		t.Fatal("no long README line to check")
	}
	for _, sh := range f.GetSheetList() {
		lay, err := f.GetPageLayout(sh)
		if err != nil || lay.Orientation == nil || *lay.Orientation != "landscape" || lay.FitToWidth == nil || *lay.FitToWidth != 1 {
			t.Errorf("%s: page layout %+v (%v), want landscape, one page wide", sh, lay, err)
		}
	}
}
