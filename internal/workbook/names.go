package workbook

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// MaxDataRows is the number of data rows that fit on one sheet under its
// header row (Excel's limit is 1,048,576 rows in all). A longer table
// continues on sheets named by PartName: "users", "users (2)", "users (3)".
const MaxDataRows = excelize.TotalRows - 1

// maxSheetName is Excel's limit on sheet name length.
const maxSheetName = 31

// MetadataSheet is the sheet of an export that describes the export
// (adapter, target, row counts, hashes). Sheets whose name starts with "_"
// are not data: the workbook reader and the validator skip them.
const MetadataSheet = "_metadata"

// PartName returns the name of the part'th sheet of a table (1-based):
// base itself for part 1, "base (N)" after that, shortened so that it fits
// Excel's 31-character limit.
func PartName(base string, part int) string {
	if part <= 1 {
		return truncateRunes(base, maxSheetName)
	}
	suffix := fmt.Sprintf(" (%d)", part)
	return truncateRunes(base, maxSheetName-len(suffix)) + suffix
}

// SplitName is the inverse of PartName: "users (2)" is part 2 of "users".
// The workbook reader uses it to map a continuation sheet to its kind.
func SplitName(name string) (base string, part int) {
	if !strings.HasSuffix(name, ")") {
		return name, 1
	}
	i := strings.LastIndex(name, " (")
	if i <= 0 {
		return name, 1
	}
	n, err := strconv.Atoi(name[i+2 : len(name)-1])
	if err != nil || n < 2 || strconv.Itoa(n) != name[i+2:len(name)-1] {
		return name, 1
	}
	return name[:i], n
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// Sheets of a rollout template that hold no records: its instructions and
// the lists behind drop-downs. Readers skip them like MetadataSheet.
const (
	ReadmeSheet = "README"
	ListsSheet  = "Lists"
)

// IsNotData reports whether a sheet holds no records by convention: an
// export's "_" sheets (MetadataSheet) and a template's README and Lists.
func IsNotData(name string) bool {
	return strings.HasPrefix(name, "_") || strings.EqualFold(name, ReadmeSheet) || strings.EqualFold(name, ListsSheet)
}
