package workbook

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"
)

// The workbook opens on its first sheet, and on that sheet alone (several
// selected tabs would group them, and typing would edit them all).
func TestFirstSheetIsTheOnlySelectedTab(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.xlsx")
	x, err := NewXLSXWriter(XLSXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Users", "Extensions", "Sites"} {
		tb, err := x.NewTable(n, []string{"a", "b"}, TableOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := tb.WriteRow([]string{"1", "2"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Save(path); err != nil {
		t.Fatal(err)
	}
	x.Close()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetActiveSheetIndex(); got != 0 {
		t.Errorf("active sheet %d, want 0", got)
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for i := range 3 {
		r, err := z.Open(fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		selected := bytes.Contains(b, []byte(`tabSelected="true"`)) || bytes.Contains(b, []byte(`tabSelected="1"`))
		if selected != (i == 0) {
			t.Errorf("sheet %d selected=%v", i+1, selected)
		}
	}
}
