package mapping

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/atomicfile"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
)

// OriginColumn is the column of the mapped workbook that names each row's
// source ("site-a.xlsx users!14"). Its header starts with #, so import
// reads it as a note; results.xlsx and failed.xlsx copy it with the row,
// and pbxbatch plan and apply show it (Sources).
const OriginColumn = "#origin"

// ReportSheet is the mapping report's sheet in the mapped workbook (a
// sheet starting with _ holds no records).
const ReportSheet = "_mapping"

// filePerm keeps the mapped workbook, like an export, to its owner; the
// secrets file must be.
const filePerm = 0o600

// Paths are the files a map writes, derived from the mapped workbook's path.
type Paths struct {
	Workbook   string // site-a-mxone.xlsx
	Secrets    string // site-a-mxone.secrets.xlsx: generated secrets only, 0600
	ReportText string // site-a-mxone.mapping.txt
	ReportJSON string // site-a-mxone.mapping.json
}

// PathsFor returns the files of a mapped workbook at out (a .xlsx path).
func PathsFor(out string) Paths {
	base := strings.TrimSuffix(out, filepath.Ext(out))
	return Paths{Workbook: out, Secrets: base + ".secrets.xlsx", ReportText: base + ".mapping.txt", ReportJSON: base + ".mapping.json"}
}

// Write validates the mapped rows against the target's schemas (the three
// layers of validate) and, when they hold no error, writes the mapped
// workbook and the secrets file. The reports are written either way. Every
// validation message is moved to the source cell the value came from; it
// joins res.Diags.
func Write(ctx context.Context, res *Result, paths Paths) error {
	if filepath.Ext(paths.Workbook) != ".xlsx" {
		return fmt.Errorf("the mapped workbook is a .xlsx file, not %s", paths.Workbook)
	}
	if !res.Diags.HasErrors() {
		if err := res.writeChecked(ctx, paths.Workbook); err != nil {
			return err
		}
	}
	res.Report.Errors, _ = res.Diags.Count()
	res.Report.Messages = res.Diags
	if !res.Diags.HasErrors() {
		if err := res.writeSecrets(paths.Secrets); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(paths.ReportText, filePerm, res.WriteText); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res.Report, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(paths.ReportJSON, filePerm, append(b, '\n'))
}

// WriteText writes the report and then every message.
func (res *Result) WriteText(w io.Writer) error {
	if err := res.Report.WriteText(w); err != nil {
		return err
	}
	return res.WriteDiags(w)
}

// WriteDiags writes every message, at the source cells.
func (res *Result) WriteDiags(w io.Writer) error {
	if len(res.Diags) == 0 {
		return nil
	}
	errs, warns := res.Diags.Count()
	fmt.Fprintf(w, "\n%d %s, %d %s:\n", errs, plural(errs, "error", "errors"), warns, plural(warns, "warning", "warnings"))
	for _, d := range res.Diags {
		at := where(d.Origin)
		if d.Field != "" {
			at += " (" + d.Field + ")"
		}
		if _, err := fmt.Fprintf(w, "  %s: %s: %s [%s]\n", d.Severity, at, d.Message, d.Code); err != nil {
			return err
		}
	}
	return nil
}

// writeChecked writes the workbook beside out, validates it, and renames
// it into place only when it holds no error.
func (res *Result) writeChecked(ctx context.Context, out string) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.xlsx")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := res.writeWorkbook(tmp.Name()); err != nil {
		return err
	}
	v, err := validate.New(res.Profile.Target, validate.Options{})
	if err != nil {
		return err
	}
	vr, err := v.File(ctx, tmp.Name(), nil)
	if err != nil {
		return err
	}
	for _, d := range vr.Diags {
		if d.Code == "ref.not_in_workbook" {
			continue // the planner settles these against the target
		}
		res.Diags.Add(res.toSource(d, filepath.Base(out)))
	}
	res.Diags.Sort()
	if res.Diags.HasErrors() {
		return nil
	}
	if err := os.Chmod(tmp.Name(), filePerm); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func (res *Result) writeWorkbook(path string) error {
	x, err := workbook.NewXLSXWriter(workbook.XLSXOptions{})
	if err != nil {
		return err
	}
	defer x.Close()
	for _, t := range res.Tables {
		header := t.header()
		st, err := x.NewTable(t.Kind.Plural, append(slices.Clone(header), OriginColumn), workbook.TableOptions{})
		if err != nil {
			return err
		}
		for _, row := range t.Rows {
			cells := make([]string, 0, len(header)+1)
			for _, h := range header {
				cells = append(cells, row.Values[h])
			}
			if err := st.WriteRow(append(cells, row.source())); err != nil {
				return err
			}
		}
	}
	h, rows := res.Report.Rows()
	rt, err := x.NewTable(ReportSheet, h, workbook.TableOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := rt.WriteRow(r); err != nil {
			return err
		}
	}
	return x.Save(path)
}

// header is the table's columns: the target fields any row sets, in
// schema order (the key always).
func (t *Table) header() []string {
	var out []string
	for _, f := range t.Kind.Fields {
		if slices.Contains(t.Kind.Key, f.Path) || slices.ContainsFunc(t.Rows, func(r *Row) bool { _, ok := r.Values[f.Path]; return ok }) {
			out = append(out, f.Path)
		}
	}
	return out
}

// source is the #origin cell: the first source row, and how many more
// merged into this one.
func (r *Row) source() string {
	s := where(r.Origins[0])
	if n := len(r.Origins) - 1; n > 0 {
		s += fmt.Sprintf(" (+%d merged)", n)
	}
	return s
}

// toSource moves a message about a mapped cell to the source cell its
// value came from, keeping the mapped cell and the profile line in the
// message.
func (res *Result) toSource(d diag.Diagnostic, mapped string) diag.Diagnostic {
	var t *Table
	for _, x := range res.Tables {
		if strings.EqualFold(x.Kind.Plural, d.Sheet) {
			t = x
		}
	}
	at, n := fmt.Sprintf("%s %s", mapped, d.Origin), d.Row
	d.Origin = diag.Origin{File: mapped, Sheet: d.Sheet}
	if t == nil || n < 2 || n-2 >= len(t.Rows) {
		d.Message += fmt.Sprintf(" (mapped workbook: %s)", at)
		return d
	}
	row := t.Rows[n-2]
	field := d.Field
	if c, ok := row.meta[field]; ok && field != "" {
		d.Origin = c.src.origin
		d.Message += fmt.Sprintf(" (mapped to %s by profile line %d)", at, c.line)
	} else {
		d.Origin = row.Origins[0]
		d.Message += fmt.Sprintf(" (mapped to %s)", at)
	}
	return d
}

// writeSecrets writes the generated secrets, and only those, to a
// workbook only its owner can read: per kind the key columns, the secret
// columns and action "update", so that it is also an input that sets them
// ("pbxbatch apply --target T FILE" after the mapped workbook). Nothing is
// written when nothing was generated.
func (res *Result) writeSecrets(path string) error {
	var gen []Secret
	for _, s := range res.Secrets {
		if s.Generated {
			gen = append(gen, s)
		}
	}
	if len(gen) == 0 {
		return nil
	}
	x, err := workbook.NewXLSXWriter(workbook.XLSXOptions{})
	if err != nil {
		return err
	}
	defer x.Close()
	for _, t := range res.Tables {
		k := t.Kind
		var fields []string
		byKey := map[string]map[string]string{}
		var keys []string
		for _, s := range gen {
			if s.Kind != k.Name {
				continue
			}
			if !slices.Contains(fields, s.Field) {
				fields = append(fields, s.Field)
			}
			if byKey[s.Key] == nil {
				byKey[s.Key] = map[string]string{}
				keys = append(keys, s.Key)
				for f, v := range s.KeyFields {
					byKey[s.Key][f] = v
				}
			}
			byKey[s.Key][s.Field] = s.Value
		}
		if len(keys) == 0 {
			continue
		}
		header := append(append([]string{"action"}, k.Key...), fields...)
		st, err := x.NewTable(k.Plural, header, workbook.TableOptions{})
		if err != nil {
			return err
		}
		for _, key := range keys {
			row := []string{"update"}
			for _, h := range header[1:] {
				row = append(row, byKey[key][h])
			}
			if err := st.WriteRow(row); err != nil {
				return err
			}
		}
	}
	return atomicfile.Write(path, filePerm, func(w io.Writer) error {
		_, err := x.WriteTo(w)
		return err
	})
}

// Sources reads the #origin column of a mapped workbook: per sheet and
// physical row, the source row it came from. Any other input gives nil at
// the cost of a look at the xlsx's sheet list, not a second read of it.
func Sources(path string) (map[diag.Origin]string, error) {
	if !isMapped(path) {
		return nil, nil
	}
	book, err := workbook.Open(path, workbook.Options{})
	if err != nil {
		return nil, err
	}
	defer book.Close()
	var out map[diag.Origin]string
	for _, t := range book.Tables {
		col := t.Column(OriginColumn)
		if col < 0 {
			continue
		}
		it, err := t.Rows()
		if err != nil {
			return nil, err
		}
		for it.Next() {
			r := it.Row()
			if v := r.Cells[col]; v != "" {
				if out == nil {
					out = map[diag.Origin]string{}
				}
				o := t.Origin(r.Num, -1)
				o.Col = ""
				out[o] = v
			}
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isMapped reports whether path is an xlsx with the report sheet a map
// writes.
func isMapped(path string) bool {
	if !strings.EqualFold(filepath.Ext(path), ".xlsx") {
		return false
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return false
	}
	defer zr.Close()
	f, err := zr.Open("xl/workbook.xml")
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	return err == nil && bytes.Contains(b, []byte(`name="`+ReportSheet+`"`))
}
