// Package export writes the full inventory of a target as a workbook in the
// format import reads: one sheet (xlsx) or one <plural>.csv file per kind,
// the schema's column order, references by name, lists joined with ";",
// secrets withheld. Output is deterministic (rows sorted by natural key,
// whatever order the platform lists them in) and streaming: listing the
// next kind overlaps writing the previous one, and rows are sorted with
// bounded memory (internal/extsort).
//
// Every export carries its metadata (a _metadata sheet, or manifest.json):
// adapter, target, time, tool and schema versions, and per kind the row
// count and the SHA-256 of its canonical content, which is the kind's rows
// as CSV exactly as a CSV export writes them (header first, UTF-8 without a
// BOM, "\n" line ends, formula-escaped with sheet.EscapeCSV). So
// `sha256sum people.csv` proves a CSV export unchanged, and Verify
// recomputes the same hashes from an xlsx export.
package export

// Format is the output format.
type Format string

const (
	XLSX Format = "xlsx"
	CSV  Format = "csv"
)

// exportPerm keeps an inventory (names, numbers, e-mail addresses) to its
// owner, as the run directory's files are.
const exportPerm = 0o600
