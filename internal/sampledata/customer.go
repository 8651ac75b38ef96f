package sampledata

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// Workbooks as customers make them: a CSV opened in a spreadsheet and
// saved, or values pasted into cells that are not formatted as Text. Text
// goes into the shared-strings table, as Excel and LibreOffice write it,
// and the cells of the damaged columns become numbers: "0040" is stored as
// 40 and "+46701234567" as 46701234567, exactly what the spreadsheet keeps.
// numFmt, when set, is the number format of those cells; LibreOffice
// writes its default as a custom format whose code is "General" (id 164),
// which excelize displays as 4.915112346E+12 for 4915112345678.

// customer says how a case's workbook is damaged.
type customer struct {
	numbers []string // headers whose cells are stored as numbers
	numFmt  string   // custom number format of those cells, or ""
}

// WriteCustomerXLSX writes sheets the way a spreadsheet saves typed or
// pasted values: shared strings, and numbers for the cells of the columns
// named in numbers that hold one.
func WriteCustomerXLSX(path string, sheets []Sheet, numbers []string, numFmt string) error {
	f := excelize.NewFile()
	defer f.Close()
	style := 0
	if numFmt != "" {
		var err error
		if style, err = f.NewStyle(&excelize.Style{CustomNumFmt: &numFmt}); err != nil {
			return err
		}
	}
	for i, s := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", s.Name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(s.Name); err != nil {
			return err
		}
		row := 1
		write := func(cells []string, header bool) error {
			for j, c := range cells {
				if c == "" {
					continue
				}
				name, err := excelize.CoordinatesToCellName(j+1, row)
				if err != nil {
					return err
				}
				n, isNumber := asNumber(c)
				if header || !isNumber || !slices.Contains(numbers, s.Header[j]) {
					err = f.SetCellStr(s.Name, name, c)
				} else if err = f.SetCellValue(s.Name, name, n); err == nil && style != 0 {
					err = f.SetCellStyle(s.Name, name, name, style)
				}
				if err != nil {
					return err
				}
			}
			row++
			return nil
		}
		if err := write(s.Header, true); err != nil {
			return err
		}
		for cells := range s.Rows {
			if err := write(cells, false); err != nil {
				return err
			}
		}
	}
	if err := f.SaveAs(path); err != nil {
		return err
	}
	return os.Chmod(path, 0o644)
}

// asNumber is what a spreadsheet makes of typed text that looks like a
// number: digits with an optional sign become that number.
func asNumber(s string) (any, bool) {
	t := strings.TrimPrefix(s, "+")
	if t == "" || strings.TrimLeft(t, "0123456789") != "" {
		return nil, false
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil && n < 1e15 {
		return n, true
	}
	f, err := strconv.ParseFloat(t, 64)
	return f, err == nil
}

// SipxCustomer lists the customer-made cases of the sipx rollout (its
// sample generator lives in adapters/sipx/sample, which passes small: 12
// users, the first 6 with a desk phone, and the hunt groups, orbits and
// permissions they use).
func SipxCustomer(small func(*schemas.Set) ([]Sheet, error)) []Case {
	sipxEdit := func(kind string, fn func(h []string, rows [][]string) ([]string, [][]string)) func(*schemas.Set) ([]Sheet, error) {
		return chain2(small, kind, fn)
	}
	return []Case{
		// A users CSV opened in a spreadsheet: user names and PINs become
		// numbers (PIN 0042 is now 42), and so do hunt-group extensions
		// (0310 is now 310).
		{Name: "number_cells", Ext: ".xlsx", Want: []string{"read.number_cell"},
			customer: &customer{numbers: []string{"userName", "pin", "extension"}},
			make:     chain2(sipxEdit("user", setCell("pin", 0, "42")), "call_group", setCell("extension", 0, "310"))},
		// The same problem worded as for MX-ONE.
		{Name: "bad_mac", Ext: ".xlsx", Want: []string{"domain.mac"}, customer: &customer{},
			make: sipxEdit("phone", setCell("serialNumber", 1, "0004f2zz0001"))},
		{Name: "template_example_row", Ext: ".xlsx", Want: []string{"template.example_row"}, customer: &customer{},
			make: func(set *schemas.Set) ([]Sheet, error) {
				sheets, err := small(set)
				if err != nil {
					return nil, err
				}
				return prependExamples(set, sheets, []string{"permission", "user"})
			}},
	}
}
