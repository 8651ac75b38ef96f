package export

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/internal/workbook"
)

// ReadManifest reads the metadata of an export: manifest.json in a CSV
// export directory (or the file itself), the _metadata sheet of an xlsx
// export. It returns an error that says so when path is not an export.
func ReadManifest(path string) (*Manifest, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		path = filepath.Join(path, ManifestFile)
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s is not a pbxbatch CSV export: %w", filepath.Dir(path), err)
		}
		var m Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &m, nil
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	return readMetadataSheet(f, path)
}

func readMetadataSheet(f *excelize.File, path string) (*Manifest, error) {
	rows, err := f.GetRows(workbook.MetadataSheet)
	if err != nil {
		return nil, fmt.Errorf("%s has no %s sheet: it is not a pbxbatch export", path, workbook.MetadataSheet)
	}
	m := &Manifest{}
	inKinds := false
	for i, r := range rows {
		if i == 0 || len(r) == 0 {
			continue
		}
		if r[0] == kindColumns[0] {
			inKinds = true
			continue
		}
		get := func(j int) string {
			if j < len(r) {
				return r[j]
			}
			return ""
		}
		if inKinds {
			n, err := strconv.Atoi(get(2))
			if err != nil {
				return nil, fmt.Errorf("%s!C%d: row count %q is not a number", workbook.MetadataSheet, i+1, get(2))
			}
			dup, _ := strconv.Atoi(get(6))
			k := KindInfo{Kind: get(0), Rows: n, SHA256: get(3), ReadOnly: get(4) != "", DuplicateKeys: dup}
			k.Sheets = splitList(get(1))
			k.Withheld = splitList(get(5))
			m.Kinds = append(m.Kinds, k)
			continue
		}
		switch v := get(1); r[0] {
		case fieldFormat:
			m.Format = Format(v)
		case fieldAdapter:
			m.Adapter = v
		case fieldTarget:
			m.Target = v
		case fieldTargetURL:
			m.TargetURL = v
		case fieldExportedAt:
			m.ExportedAt, _ = time.Parse(time.RFC3339, v)
		case fieldToolVersion:
			m.ToolVersion = v
		case fieldSchemaVersion:
			m.SchemaVersion = v
		case fieldCanonical:
			m.Canonical = v
		}
	}
	if m.Adapter == "" {
		return nil, fmt.Errorf("%s!%s names no adapter: it is not a pbxbatch export", path, workbook.MetadataSheet)
	}
	return m, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ";")
}

// Verify recomputes the canonical hash and row count of every kind of an
// export (a .xlsx file or a CSV directory) and compares them with its
// metadata. The error lists every kind that differs.
func Verify(path string) (*Manifest, error) {
	m, err := ReadManifest(path)
	if err != nil {
		return nil, err
	}
	var errs []error
	if fi, _ := os.Stat(path); fi != nil && fi.IsDir() {
		for _, k := range m.Kinds {
			sum, err := fileSum(filepath.Join(path, k.File))
			if err != nil {
				errs = append(errs, err)
			} else if sum != k.SHA256 {
				errs = append(errs, fmt.Errorf("%s: sha256 %s, the manifest says %s: the file was changed after export", k.File, sum, k.SHA256))
			}
		}
		return m, errors.Join(errs...)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	for _, k := range m.Kinds {
		if len(k.Sheets) == 0 {
			errs = append(errs, fmt.Errorf("%s: the metadata names no sheet for it: the metadata was changed after export", k.Kind))
			continue
		}
		sum, n, err := sheetSum(f, k.Sheets)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", k.Kind, err))
		case n != k.Rows:
			errs = append(errs, fmt.Errorf("sheet %s: %d rows, the metadata says %d: rows were added or removed after export", k.Sheets[0], n, k.Rows))
		case sum != k.SHA256:
			errs = append(errs, fmt.Errorf("sheet %s: content hash %s, the metadata says %s: cells were changed after export", k.Sheets[0], sum, k.SHA256))
		}
	}
	return m, errors.Join(errs...)
}

// fileSum hashes a CSV file, skipping a leading BOM.
func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if head, _ := br.Peek(len(workbook.BOM)); bytes.Equal(head, []byte(workbook.BOM)) {
		br.Discard(len(workbook.BOM))
	}
	h := sha256.New()
	if _, err := io.Copy(h, br); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sheetSum hashes a kind's sheets as their canonical CSV: the header of the
// first sheet, then the data rows of every sheet.
func sheetSum(f *excelize.File, sheets []string) (string, int, error) {
	h := sha256.New()
	c, _ := workbook.NewCSVWriter(h, false)
	n, width := 0, 0
	for si, name := range sheets {
		rows, err := f.Rows(name)
		if err != nil {
			return "", 0, fmt.Errorf("sheet %s: %w", name, err)
		}
		for r := 0; rows.Next(); r++ {
			cells, err := rows.Columns()
			if err != nil {
				rows.Close()
				return "", 0, err
			}
			if r == 0 {
				if si == 0 {
					width = len(cells)
					c.WriteRow(cells)
				}
				continue
			}
			for len(cells) < width { // excelize drops trailing blank cells
				cells = append(cells, "")
			}
			c.WriteRow(cells)
			n++
		}
		if err := errors.Join(rows.Error(), rows.Close()); err != nil {
			return "", 0, err
		}
	}
	if err := c.Flush(); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
