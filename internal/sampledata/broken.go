package sampledata

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// Case is a deliberately broken input: a small valid rollout with one kind
// of damage. Want lists diagnostic codes the validator must report for it
// (the golden file holds the full list).
type Case struct {
	Name string
	Ext  string // ".xlsx" or ".csv"
	Kind string // the kind of a CSV case (its file name is the case name)
	Want []string
	// Err, when set, is what the validation's error must say: the input
	// cannot be read to its end (a damaged sheet).
	Err  string
	make func(set *schemas.Set) ([]Sheet, error)
	post func(path string) error // edits an xlsx after writing (formulas, merges)
	csv  CSVOptions
	// customer, when set, writes the workbook as a spreadsheet saves
	// what a customer typed or pasted (customer.go).
	customer *customer
}

// File is the case's file name.
func (c Case) File() string { return c.Name + c.Ext }

// Write writes the case's input to path.
func (c Case) Write(path string, set *schemas.Set) error {
	sheets, err := c.make(set)
	if err != nil {
		return err
	}
	switch {
	case c.Ext == ".csv":
		return WriteCSVFile(path, sheets[0], c.csv)
	case c.customer != nil:
		err = WriteCustomerXLSX(path, sheets, c.customer.numbers, c.customer.numFmt)
	default:
		err = WriteXLSX(path, sheets)
	}
	if err != nil {
		return err
	}
	if c.post != nil {
		return c.post(path)
	}
	return nil
}

// small is the base of every xlsx case: one location, six users (one of
// each extension type, ip twice) and eight extensions.
func small() *Rollout { return New(Config{Locations: 1, Users: 6, Extensions: 8}) }

// edit returns a case builder that changes one sheet of the small rollout.
func edit(kind string, fn func(h []string, rows [][]string) ([]string, [][]string)) func(*schemas.Set) ([]Sheet, error) {
	return editOf(small(), kind, fn)
}

// editOf is edit on another rollout.
func editOf(r *Rollout, kind string, fn func(h []string, rows [][]string) ([]string, [][]string)) func(*schemas.Set) ([]Sheet, error) {
	return func(set *schemas.Set) ([]Sheet, error) {
		sheets, err := r.Sheets(set)
		if err != nil {
			return nil, err
		}
		for i, s := range sheets {
			if s.Kind == kind {
				h, rows := fn(slices.Clone(s.Header), Collect(s))
				sheets[i].Header, sheets[i].Rows = h, Rows(rows)
			}
		}
		return sheets, nil
	}
}

// setCell changes the cell of column col in data row i (0-based).
func setCell(col string, i int, v string) func(h []string, rows [][]string) ([]string, [][]string) {
	return func(h []string, rows [][]string) ([]string, [][]string) {
		j := slices.Index(h, col)
		if j < 0 {
			panic(fmt.Sprintf("sample data: no column %q in %v", col, h))
		}
		rows[i][j] = v
		return h, rows
	}
}

// firstOfType returns the index of the first extension row of a type.
func firstOfType(typ string) int {
	r := small()
	for i := range r.Len("extension") {
		if r.Record("extension", i).String("extensionType") == typ {
			return i
		}
	}
	panic("sample data: no extension of type " + typ)
}

// locationsCSV is the base of the CSV cases: locations have no references,
// so a lone file reports only its own damage.
func locationsCSV(set *schemas.Set) ([]Sheet, error) {
	k := set.Kind("location")
	if k == nil {
		return nil, fmt.Errorf("sample data: no location kind")
	}
	rows := [][]string{{"Göteborg", "Göteborg site – main office", ""}, {"Malmö", "Malmö site", "CG2"}, {"Luleå", "Luleå – north", ""}}
	return []Sheet{{Name: "Locations", Kind: "location", Header: []string{"locationName", "description", "cmgCustomerGroup"}, Rows: Rows(rows)}}, nil
}

// Broken lists the broken cases of testdata/mxone/broken.
func Broken() []Case {
	ip, virtual, multi := firstOfType("ip"), firstOfType("virtual"), firstOfType("multi_terminal")
	return []Case{
		{Name: "missing_required_column", Ext: ".xlsx", Want: []string{"header.missing_column"},
			make: edit("user", func(h []string, rows [][]string) ([]string, [][]string) {
				j := slices.Index(h, "lastName")
				for i := range rows {
					rows[i] = slices.Delete(rows[i], j, j+1)
				}
				return slices.Delete(h, j, j+1), rows
			})},
		{Name: "unknown_column", Ext: ".xlsx", Want: []string{"header.unknown_column"},
			make: edit("user", func(h []string, rows [][]string) ([]string, [][]string) {
				h[slices.Index(h, "emailAddress")] = "emial"
				return h, rows
			})},
		{Name: "duplicate_key", Ext: ".xlsx", Want: []string{"key.duplicate"}, make: edit("user", setCell("userId", 3, userID(1)))},
		{Name: "ref_to_nothing", Ext: ".xlsx", Want: []string{"ref.not_in_workbook"}, make: edit("user", setCell("departments", 2, "Stockholm Marketing"))},
		{Name: "department_own_ancestor", Ext: ".xlsx", Want: []string{"ref.cycle"}, make: edit("department", setCell("parentDepartment", 0, "Stockholm Sales Nordic"))},
		{Name: "bad_enum", Ext: ".xlsx", Want: []string{"schema.enum"}, make: edit("extension", setCell("extensionType", virtual, "analog"))},
		{Name: "bad_integer", Ext: ".xlsx", Want: []string{"schema.type"}, make: edit("extension", setCell("ipExtension.maximumTerminals", multi, "two"))},
		{Name: "lost_plus_phone", Ext: ".xlsx", Want: []string{"read.lost_plus"}, make: edit("user", setCell("mobileNumber", 1, "46701234567"))},
		{Name: "scientific_notation", Ext: ".xlsx", Want: []string{"read.scientific"}, make: edit("user", setCell("mobileNumber", 2, "4.67012E+10"))},
		{Name: "float_tail", Ext: ".xlsx", Want: []string{"read.float_tail"}, make: edit("extension", setCell("extensionNumber", 0, "1000.0"))},
		{Name: "bad_mac", Ext: ".xlsx", Want: []string{"domain.mac"}, make: edit("extension", setCell("macAddress", ip, "00:1A:2B:GG:00:01"))},
		{Name: "bad_email", Ext: ".xlsx", Want: []string{"domain.email"}, make: edit("user", setCell("emailAddress", 0, "anna.berg@example"))},
		{Name: "extension_number_too_long", Ext: ".xlsx", Want: []string{"domain.digits"}, make: edit("extension", setCell("extensionNumber", 1, "10012345678"))},
		{Name: "wrong_type_field", Ext: ".xlsx", Want: []string{"schema.not_allowed"}, make: edit("extension", setCell("macAddress", virtual, "001A2B000099"))},
		{Name: "semicolon_csv", Ext: ".csv", Kind: "location", Want: []string{"read.delimiter"}, make: locationsCSV, csv: CSVOptions{Comma: ';'}},
		{Name: "bom_csv", Ext: ".csv", Kind: "location", Want: []string{"read.bom"}, make: locationsCSV, csv: CSVOptions{BOM: true}},
		{Name: "cp1252_csv", Ext: ".csv", Kind: "location", Want: []string{"read.encoding"}, make: locationsCSV, csv: CSVOptions{CP1252: true}},
		{Name: "formula_cell", Ext: ".xlsx", Want: []string{"read.formula"},
			make: func(set *schemas.Set) ([]Sheet, error) {
				sheets, err := edit("user", setCell("lastName", 1, "BERG"))(set)
				for i := range sheets {
					if sheets[i].Kind == "user" {
						sheets[i].Formulas = map[string]string{"C3": `UPPER("berg")`}
					}
				}
				return sheets, err
			}},
		{Name: "merged_cells", Ext: ".xlsx", Want: []string{"read.merged_cells"}, make: edit("department", unchanged),
			post: func(path string) error {
				return editXLSX(path, func(f *excelize.File) error { return f.MergeCell("Departments", "B3", "B4") })
			}},
		{Name: "blank_row_middle", Ext: ".xlsx", Want: []string{"read.blank_row"},
			make: edit("user", func(h []string, rows [][]string) ([]string, [][]string) {
				return h, slices.Insert(rows, 3, make([]string, len(h)))
			})},
	}
}

// Customer lists the cases of workbooks made the way customers make them
// (issue 15): numbers stored as numbers, shared strings, LibreOffice's
// number format, a template's rows kept, names slightly off. They live in
// testdata/<adapter>/broken beside the others.
func Customer() []Case {
	cordless, ip := firstOfType("cordless"), firstOfType("ip")
	return []Case{
		// The whole column converted: every extension number, the DECT key
		// 00001237 and the IPEI 03071234567 are numbers, zeros gone.
		{Name: "number_cells", Ext: ".xlsx", Want: []string{"read.number_cell"},
			customer: &customer{numbers: []string{"extensionNumber", "authenticationKey", "internationalPortableEquipmentIdentity"}},
			make:     edit("extension", chain(setCell("authenticationKey", cordless, "1237"), setCell("internationalPortableEquipmentIdentity", cordless, "3071234567")))},
		// Mobile numbers typed or pasted as numbers: the + is gone.
		{Name: "lost_plus_number", Ext: ".xlsx", Want: []string{"read.number_cell"},
			customer: &customer{numbers: []string{"mobileNumber"}}, make: edit("user", unchanged)},
		// A 10-digit Stockholm number without its + in a column of +46….
		{Name: "lost_plus_national", Ext: ".xlsx", Want: []string{"read.lost_plus"},
			customer: &customer{}, make: edit("user", setCell("mobileNumber", 1, "4681234000"))},
		// LibreOffice's "General" shows 4915112345678 as 4.915112346E+12;
		// the stored value is exact. A 17-digit IPEI has really lost digits.
		{Name: "display_format", Ext: ".xlsx", Want: []string{"read.number_cell", "read.scientific"},
			customer: &customer{numbers: []string{"mobileNumber", "internationalPortableEquipmentIdentity"}, numFmt: "General"},
			make:     chain2(edit("user", setCell("mobileNumber", 2, "4915112345678")), "extension", setCell("internationalPortableEquipmentIdentity", cordless, "12345678901234567"))},
		{Name: "misspelled_sheet", Ext: ".xlsx", Want: []string{"read.unknown_sheet"}, customer: &customer{},
			make: rename("Extensions", "Extentions")},
		{Name: "template_example_row", Ext: ".xlsx", Want: []string{"template.example_row"}, customer: &customer{},
			make: withExamples("location", "user")},
		{Name: "read_only_column", Ext: ".xlsx", Want: []string{"schema.read_only"}, customer: &customer{},
			make: edit("user", addColumn("securityProfile", "Helpdesk"))},
		{Name: "suggestions", Ext: ".xlsx", Want: []string{"schema.enum", "schema.action", "ref.not_in_workbook", "schema.list_separator"}, customer: &customer{},
			make: chain2(chain2(editOf(New(Config{Locations: 2, Users: 6, Extensions: 8}), "department", setCell("location", 1, "Goteborg")), "extension", setCell("extensionType", firstOfType("virtual"), "sip")),
				"user", chain(addColumn("action", ""), setCell("action", 0, "delte"), setCell("departments", 2, "Stockholm Sales, Stockholm Office")))},
		{Name: "numeric_mac", Ext: ".xlsx", Want: []string{"domain.mac"}, customer: &customer{numbers: []string{"macAddress"}},
			make: edit("extension", setCell("macAddress", ip, "123456789"))},
		// Issue 17: an "&nbsp;" in row 21 of 50 cut the sheet silently.
		{Name: "xml_damaged", Ext: ".xlsx", Err: "Users!21: the sheet's XML is damaged in row 21",
			make: func(set *schemas.Set) ([]Sheet, error) {
				sheets, err := New(Config{Locations: 1, Users: 49, Extensions: 49}).Sheets(set)
				return sheets, err
			},
			post: damageRow("user", 21)},
	}
}

// chain applies several edits to one sheet.
func chain(fns ...func(h []string, rows [][]string) ([]string, [][]string)) func(h []string, rows [][]string) ([]string, [][]string) {
	return func(h []string, rows [][]string) ([]string, [][]string) {
		for _, fn := range fns {
			h, rows = fn(h, rows)
		}
		return h, rows
	}
}

// chain2 applies an edit to another sheet after a case builder.
func chain2(first func(*schemas.Set) ([]Sheet, error), kind string, fn func(h []string, rows [][]string) ([]string, [][]string)) func(*schemas.Set) ([]Sheet, error) {
	return func(set *schemas.Set) ([]Sheet, error) {
		sheets, err := first(set)
		if err != nil {
			return nil, err
		}
		for i, s := range sheets {
			if s.Kind == kind {
				h, rows := fn(slices.Clone(s.Header), Collect(s))
				sheets[i].Header, sheets[i].Rows = h, Rows(rows)
			}
		}
		return sheets, nil
	}
}

// addColumn adds a column, every row holding v.
func addColumn(name, v string) func(h []string, rows [][]string) ([]string, [][]string) {
	return func(h []string, rows [][]string) ([]string, [][]string) {
		for i := range rows {
			rows[i] = append(rows[i], v)
		}
		return append(h, name), rows
	}
}

// rename renames a sheet of the small rollout.
func rename(from, to string) func(*schemas.Set) ([]Sheet, error) {
	return func(set *schemas.Set) ([]Sheet, error) {
		sheets, err := small().Sheets(set)
		for i := range sheets {
			if sheets[i].Name == from {
				sheets[i].Name = to
			}
		}
		return sheets, err
	}
}

// withExamples puts each kind's template example row (the schema's
// examples, as templates write row 2) first on its sheet.
func withExamples(kinds ...string) func(*schemas.Set) ([]Sheet, error) {
	return func(set *schemas.Set) ([]Sheet, error) {
		sheets, err := small().Sheets(set)
		if err != nil {
			return nil, err
		}
		return prependExamples(set, sheets, kinds)
	}
}

func prependExamples(set *schemas.Set, sheets []Sheet, kinds []string) ([]Sheet, error) {
	for i, s := range sheets {
		if !slices.Contains(kinds, s.Kind) {
			continue
		}
		k := set.Kind(s.Kind)
		ex := make([]string, len(s.Header))
		for _, f := range k.Fields {
			if len(f.Examples) == 0 || f.ReadOnly || f.Secret {
				continue
			}
			j := slices.Index(s.Header, f.Path)
			if j < 0 {
				return nil, fmt.Errorf("sample data: %s has no column %s for its example", s.Name, f.Path)
			}
			ex[j] = f.Examples[0]
		}
		sheets[i].Rows = Rows(append([][]string{ex}, Collect(s)...))
	}
	return sheets, nil
}

// damageRow puts, after saving, an "&nbsp;" (an HTML entity XML does not
// know, as tools that make xlsx from HTML write it) into cell B of a row
// of a kind's sheet.
func damageRow(kind string, row int) func(path string) error {
	return func(path string) error {
		// The stream writer numbers sheet parts in the order of Kinds().
		part := fmt.Sprintf("xl/worksheets/sheet%d.xml", slices.Index(Kinds(), kind)+1)
		cell := regexp.MustCompile(fmt.Sprintf(`<c r="B%d"[^>]*>.*?</c>`, row))
		return editZipPart(path, part, func(b []byte) ([]byte, error) {
			if !cell.Match(b) {
				return nil, fmt.Errorf("sample data: %s has no cell B%d", part, row)
			}
			return cell.ReplaceAll(b, []byte(fmt.Sprintf(`<c r="B%d" t="inlineStr"><is><t>Anna&nbsp;Berg</t></is></c>`, row))), nil
		})
	}
}

// editZipPart rewrites one part of a zip archive in place.
func editZipPart(path, part string, fn func([]byte) ([]byte, error)) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			zr.Close()
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err == nil && zf.Name == part {
			b, err = fn(b)
		}
		if err != nil {
			zr.Close()
			return err
		}
		hdr := zf.FileHeader
		w, err := zw.CreateHeader(&hdr)
		if err == nil {
			_, err = w.Write(b)
		}
		if err != nil {
			zr.Close()
			return err
		}
	}
	zr.Close()
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// unchanged keeps a sheet as generated (the damage comes in post).
func unchanged(h []string, rows [][]string) ([]string, [][]string) { return h, rows }

// editXLSX applies a change that the stream writer cannot make (formulas,
// merged cells) with excelize's normal API; the files are small.
func editXLSX(path string, fn func(*excelize.File) error) error {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fn(f); err != nil {
		return err
	}
	return f.Save()
}

// WriteTestdata writes the sample rollout (xlsx and its CSV twin) and the
// broken cases under dir (testdata/mxone).
func WriteTestdata(dir string, set *schemas.Set) error {
	sheets, err := New(Default()).Sheets(set)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir+"/broken", 0o755); err != nil {
		return err
	}
	if err := WriteXLSX(dir+"/rollout.xlsx", sheets); err != nil {
		return err
	}
	if err := WriteCSVDir(dir+"/rollout-csv", sheets); err != nil {
		return err
	}
	return WriteBroken(dir+"/broken", set, append(Broken(), Customer()...))
}

// WriteBroken writes each case's workbook into dir.
func WriteBroken(dir string, set *schemas.Set, cases []Case) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range cases {
		if err := c.Write(dir+"/"+c.File(), set); err != nil {
			return fmt.Errorf("broken case %s: %w", c.Name, err)
		}
	}
	return nil
}
