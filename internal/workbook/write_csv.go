package workbook

import (
	"encoding/csv"
	"io"
)

// BOM is the UTF-8 byte order mark. Excel needs it to read a CSV file as
// UTF-8 (without it, "Åsa Öberg" shows as mojibake); scripts and the
// canonical hashes of an export do without it. CSV writers add it only when
// asked (export --bom).
const BOM = "\uFEFF"

// CSVWriter writes one table as RFC 4180 CSVWriter in UTF-8: comma-separated, fields
// quoted only when needed, "\n" line ends, and every field escaped with
// EscapeCSV. The same bytes, without the BOM, are an export's canonical
// content of a kind.
type CSVWriter struct {
	w   *csv.Writer
	rec []string
}

// NewCSVWriter starts a CSV table on w; bom writes the byte order mark first.
func NewCSVWriter(w io.Writer, bom bool) (*CSVWriter, error) {
	if bom {
		if _, err := io.WriteString(w, BOM); err != nil {
			return nil, err
		}
	}
	return &CSVWriter{w: csv.NewWriter(w)}, nil
}

// WriteRow writes one record (the header is a record like any other).
func (c *CSVWriter) WriteRow(values []string) error {
	c.rec = c.rec[:0]
	for _, v := range values {
		c.rec = append(c.rec, EscapeCSV(v))
	}
	return c.w.Write(c.rec)
}

// Flush writes buffered records to the underlying writer.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}
