package sampledata

import (
	"fmt"
	"os"
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
	make func(set *schemas.Set) ([]Sheet, error)
	post func(path string) error // edits an xlsx after writing (formulas, merges)
	csv  CSVOptions
}

// File is the case's file name.
func (c Case) File() string { return c.Name + c.Ext }

// Write writes the case's input to path.
func (c Case) Write(path string, set *schemas.Set) error {
	sheets, err := c.make(set)
	if err != nil {
		return err
	}
	if c.Ext == ".csv" {
		return WriteCSVFile(path, sheets[0], c.csv)
	}
	if err := WriteXLSX(path, sheets); err != nil {
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
	return func(set *schemas.Set) ([]Sheet, error) {
		sheets, err := small().Sheets(set)
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
	for _, c := range Broken() {
		if err := c.Write(dir+"/broken/"+c.File(), set); err != nil {
			return fmt.Errorf("broken case %s: %w", c.Name, err)
		}
	}
	return nil
}
