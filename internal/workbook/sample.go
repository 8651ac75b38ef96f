package workbook

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"

	"github.com/xuri/excelize/v2"
)

// Sample data for benchmarks: the reader's "bare read" baselines and the
// validator's benchmarks generate identical files with these, so their
// figures compare like with like.

// SampleUserHeader is the header of SampleUserRow: twelve columns of an
// MX-ONE user sheet.
var SampleUserHeader = []string{
	"action", "userId", "firstName", "lastName", "emailAddress", "sms",
	"departments", "language", "mobileNumber", "secretMobile", "alternativeNumber", "udf1",
}

var (
	sampleFirst = []string{"Anna", "Björn", "Carla", "David", "Eva", "Fredrik", "Greta", "Hugo", "Ines", "Jonas", "Karin", "Lars"}
	sampleLast  = []string{"Berg", "Lindqvist", "Nilsson", "Åström", "Svensson", "Karlsson", "Olsson", "Persson", "Holm", "Sandberg", "Ek", "Dahl"}
	sampleDept  = []string{"Sales", "Support", "Finance", "Engineering", "Logistics"}
)

// SampleUserRow returns the i-th (0-based) sample user, valid against the
// mxone user schema; rows are deterministic and user ids unique.
func SampleUserRow(i int) []string {
	first, last := sampleFirst[i%len(sampleFirst)], sampleLast[(i/len(sampleFirst))%len(sampleLast)]
	dept := sampleDept[i%len(sampleDept)]
	if i%7 == 0 {
		dept += ";" + sampleDept[(i+1)%len(sampleDept)]
	}
	secret := "false"
	if i%3 == 0 {
		secret = "true"
	}
	return []string{
		"upsert",
		fmt.Sprintf("u%07d", i),
		first,
		last,
		fmt.Sprintf("user%07d@example.com", i),
		fmt.Sprintf("+4670%07d", i),
		dept,
		"en",
		fmt.Sprintf("07%08d", i),
		secret,
		fmt.Sprintf("+46855%06d", i%1000000),
		fmt.Sprintf("cost centre %d", i%40),
	}
}

// WriteSampleCSV writes a header and n rows from row(i) as a UTF-8 CSV
// file.
func WriteSampleCSV(path string, n int, header []string, row func(i int) []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	w := csv.NewWriter(bw)
	if err := w.Write(header); err != nil {
		f.Close()
		return err
	}
	for i := range n {
		if err := w.Write(row(i)); err != nil {
			f.Close()
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteSampleXLSX writes a header and n rows from row(i) to one sheet of a
// new workbook with excelize's StreamWriter (inline strings, as our own
// exports are written).
func WriteSampleXLSX(path, sheet string, n int, header []string, row func(i int) []string) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	vals := make([]any, len(header))
	write := func(r int, cells []string) error {
		for i, c := range cells {
			vals[i] = c
		}
		cell, err := excelize.CoordinatesToCellName(1, r)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, vals[:len(cells)])
	}
	if err := write(1, header); err != nil {
		return err
	}
	for i := range n {
		if err := write(i+2, row(i)); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}
