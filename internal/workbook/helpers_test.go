package workbook

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/internal/diag"
)

// writeFile writes content to name in a fresh temp dir and returns the path.
func writeFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll opens path and returns the book and every row of every table,
// failing the test on an open or iteration error.
func readAll(t testing.TB, path string, opts Options) (*Book, map[string][]Row) {
	t.Helper()
	b, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", filepath.Base(path), err)
	}
	t.Cleanup(func() { b.Close() })
	out := map[string][]Row{}
	for _, tb := range b.Tables {
		rows, err := tb.Rows()
		if err != nil {
			t.Fatalf("%s: Rows: %v", tb.Name, err)
		}
		for rows.Next() {
			out[tb.Name] = append(out[tb.Name], rows.Row())
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: iterating: %v", tb.Name, err)
		}
		rows.Close()
	}
	return b, out
}

// allDiags is every diagnostic of a book and its rows.
func allDiags(b *Book, rows map[string][]Row) diag.List {
	out := slices.Clone(b.Diags)
	for _, rs := range rows {
		for _, r := range rs {
			out = append(out, r.Diags...)
		}
	}
	out.Sort()
	return out
}

// findDiag returns the diagnostics with a code.
func findDiag(l diag.List, code string) diag.List {
	var out diag.List
	for _, d := range l {
		if d.Code == code {
			out = append(out, d)
		}
	}
	return out
}

// wantDiag fails unless exactly one diagnostic with code exists, at origin
// where (rendered), with a message containing every fragment.
func wantDiag(t *testing.T, l diag.List, code string, sev diag.Severity, where string, fragments ...string) diag.Diagnostic {
	t.Helper()
	got := findDiag(l, code)
	if len(got) != 1 {
		t.Fatalf("want one %s diagnostic, got %d: %v", code, len(got), l)
	}
	d := got[0]
	if d.Severity != sev {
		t.Errorf("%s: severity %s, want %s", code, d.Severity, sev)
	}
	if d.Origin.String() != where {
		t.Errorf("%s: at %s, want %s", code, d.Origin, where)
	}
	for _, f := range fragments {
		if !strings.Contains(d.Message, f) {
			t.Errorf("%s: message %q lacks %q", code, d.Message, f)
		}
	}
	return d
}

// rewriteZip copies the zip at path, replacing the parts named in repl.
func rewriteZip(t testing.TB, path string, repl map[string]string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := repl[f.Name]; ok {
			io.WriteString(w, s)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(w, rc)
		rc.Close()
	}
	zr.Close()
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readPart returns one part of a zip file.
func readPart(t testing.TB, path, name string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == name {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			return string(b)
		}
	}
	t.Fatalf("%s has no part %s", path, name)
	return ""
}

func mkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

func writeAt(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readPartNames lists the parts of a zip file.
func readPartNames(t testing.TB, path string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []string
	for _, f := range zr.File {
		out = append(out, f.Name)
	}
	return out
}

// drainFirstTable reads the first table of the workbook at p to its end and
// returns how many rows it read and the error it ended with.
func drainFirstTable(t *testing.T, p string) (int, error) {
	t.Helper()
	b, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rows, err := b.Tables[0].Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}
