package workbook

import (
	"os"
	"path/filepath"
	"testing"
)

// CSV cells escaped against formula injection by our exports read back as
// they were; a quote before anything else is the user's and stays.
func TestCSVFormulaEscapeIsUndone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sites.csv")
	body := "siteName,description\nStockholm,'=HQ\nMalmö,'@team\nLund,'0042\nUmeå,''=x\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rows, err := b.Tables[0].Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		got = append(got, rows.Row().Cells[1])
	}
	want := []string{"=HQ", "@team", "'0042", "'=x"}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %q, want %q", i+2, got[i], want[i])
		}
	}
}
