package workbook

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// ole2 returns a minimal OLE2 compound file: the magic, padding, and the
// directory entry names given (UTF-16LE, as the format stores them).
func ole2(names ...string) []byte {
	b := append([]byte{}, oleMagic...)
	b = append(b, make([]byte, 504)...)
	for _, n := range names {
		for _, r := range n {
			b = append(b, byte(r), 0)
		}
		b = append(b, make([]byte, 64)...)
	}
	return b
}

func TestBadFiles(t *testing.T) {
	goodXLSX := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"userId"}))
		must(t, f.SetSheetRow("Users", "A2", &[]any{strings.Repeat("padding ", 2000)}))
	})
	good, err := os.ReadFile(goodXLSX)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		file    string
		content []byte
		opts    Options
		want    []string
	}{
		{"empty file", "users.csv", nil, Options{}, []string{"users.csv is empty"}},
		{"empty xlsx", "rollout.xlsx", nil, Options{}, []string{"rollout.xlsx is empty"}},
		{"text named xlsx", "rollout.xlsx", []byte("userId,firstName\na,b\n"), Options{}, []string{"not an xlsx workbook", "save it as .xlsx or export CSV"}},
		{"html named xlsx", "report.xlsx", []byte("<html><table><tr><td>1</td></tr></table></html>"), Options{}, []string{"not an xlsx workbook", "HTML"}},
		{"binary named xlsx", "rollout.xlsx", []byte{1, 2, 0, 4, 5}, Options{}, []string{"not an xlsx workbook"}},
		{"password-protected", "rollout.xlsx", ole2("Root Entry", "EncryptionInfo", "EncryptedPackage"), Options{}, []string{"password-protected", "remove the password"}},
		{"legacy xls", "rollout.xls", ole2("Root Entry", "Workbook"), Options{}, []string{"Excel 97-2003", "save it as .xlsx"}},
		{"utf-16 csv", "users.csv", []byte{0xFF, 0xFE, 'u', 0, 's', 0}, Options{}, []string{"UTF-16", "CSV UTF-8"}},
		{"binary csv", "users.csv", []byte("userId\x00\x01\x02"), Options{}, []string{"not a text file"}},
		{"only blank lines", "users.csv", []byte("\n\n,,\n"), Options{}, []string{"no header row"}},
		{"too large", "users.csv", []byte("userId\n" + strings.Repeat("a\n", 100)), Options{MaxFileSize: 50}, []string{"more than the 50 bytes allowed", "split"}},
		{"zip bomb", "rollout.xlsx", good, Options{UnzipSizeLimit: 8 << 10}, []string{"unpacks to more than 8.0 KiB", "zip bombs"}},
		{"truncated zip", "rollout.xlsx", good[:len(good)/2], Options{}, []string{"rollout.xlsx", "save it again"}},
		{"zip that is no workbook", "rollout.xlsx", zipOf(t, map[string]string{"hello.txt": "hi"}), Options{}, []string{"rollout.xlsx", "xlsx"}},
		{"quote broken header", "users.csv", []byte("user\"Id,x\na,b\n"), Options{}, []string{"header row cannot be read"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, c.file, c.content)
			b, err := Open(p, c.opts)
			if err == nil {
				b.Close()
				t.Fatalf("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func zipOf(t testing.TB, parts map[string]string) []byte {
	t.Helper()
	p := writeFile(t, "x.xlsx", nil)
	f := excelize.NewFile() // any valid zip to start from
	must(t, f.SaveAs(p))
	f.Close()
	repl := map[string]string{}
	for k, v := range parts {
		repl[k] = v
	}
	// Replace every part of the excelize file with nothing useful.
	zr := readPartNames(t, p)
	for _, n := range zr {
		if _, ok := repl[n]; !ok {
			repl[n] = ""
		}
	}
	rewriteZip(t, p, repl)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMissingInputs(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "nope.csv"), Options{}); err == nil || !strings.Contains(err.Error(), "nope.csv") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Open(t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "no .csv files") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestWorkbookSavedUnderCSVNameIsReadAsWorkbook(t *testing.T) {
	p := newXLSX(t, func(f *excelize.File) {
		must(t, f.SetSheetRow("Users", "A1", &[]any{"userId"}))
		must(t, f.SetSheetRow("Users", "A2", &[]any{"a"}))
	})
	content, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	_, rows := readAll(t, writeFile(t, "users.csv", content), Options{})
	if len(rows["Users"]) != 1 || rows["Users"][0].Cells[0] != "a" {
		t.Errorf("rows %+v", rows)
	}
}

func TestOLEMarkerAcrossChunks(t *testing.T) {
	// The marker straddles the scanner's 256 KiB chunk boundary.
	b := append([]byte{}, oleMagic...)
	b = append(b, bytes.Repeat([]byte{0}, 256<<10-len(oleMagic)-7)...)
	for _, r := range "EncryptionInfo" {
		b = append(b, byte(r), 0)
	}
	_, err := Open(writeFile(t, "x.xlsx", b), Options{})
	if err == nil || !strings.Contains(err.Error(), "password-protected") {
		t.Errorf("err %v", err)
	}
}
