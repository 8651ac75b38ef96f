// Package workbook reads the user's input cell-exactly and streaming: an
// .xlsx workbook (one sheet per kind), one .csv file, or a directory of .csv
// files. Every cell is text exactly as the user sees it, and every value keeps
// its origin for the messages that follow.
package workbook

import (
	"errors"

	"github.com/pbxbatch/pbxbatch/internal/diag"
)

// Options tune reading. Zero values are sensible defaults.
type Options struct {
	Kind        string // kind of a single CSV file when its name does not say
	MaxFileSize int64  // bytes; larger input is refused before opening
	MaxCellSize int    // bytes; a larger cell is an error on that cell
	TmpDir      string // where excelize spills large parts
}

// Book is an opened input.
type Book struct {
	Path   string
	Tables []*Table
	Diags  diag.List // file-level findings (BOM, delimiter, merged cells, …)
}

// Table is one sheet or one CSV file.
type Table struct {
	Name      string // sheet name, or CSV file name without extension
	File      string
	Sheet     string   // empty for CSV
	Header    []string // header cells, trimmed
	HeaderRow int      // physical row of the header (1 unless leading blank rows)
}

// Row is one physical data row. Cells has exactly len(Header) entries.
type Row struct {
	Num   int
	Cells []string
	Diags diag.List // cell-level findings: formulas, non-breaking spaces, …
}

// ErrNotImplemented marks the reader not yet written.
var ErrNotImplemented = errors.New("workbook: reader not implemented yet")

// Open opens an input file or directory.
func Open(path string, opts Options) (*Book, error) { return nil, ErrNotImplemented }

// Close releases temp files.
func (b *Book) Close() error { return nil }

// Rows iterates the data rows of a table, streaming.
func (t *Table) Rows() (*Rows, error) { return nil, ErrNotImplemented }

// Rows is a streaming iterator.
type Rows struct{ cur Row }

func (r *Rows) Next() bool   { return false }
func (r *Rows) Row() Row     { return r.cur }
func (r *Rows) Err() error   { return ErrNotImplemented }
func (r *Rows) Close() error { return nil }

// Origin returns the origin of a cell (col is the 0-based header index; -1
// for the whole row).
func (t *Table) Origin(row, col int) diag.Origin { return diag.Origin{File: t.File, Sheet: t.Sheet, Row: row} }
