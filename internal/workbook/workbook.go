// Package workbook reads the user's input cell-exactly and streaming: an
// .xlsx workbook (one sheet per kind), one .csv file, or a directory of .csv
// files. Every cell is text exactly as the user sees it, and every value keeps
// its origin for the messages that follow.
//
// The reader knows files, not schemas: it reports structural damage (a BOM, a
// wrong delimiter, merged cells, formulas, stray spaces, blank rows, …) with a
// stable code prefixed "read." and leaves mapping headers to fields to the
// validator.
//
// Findings land in two places. Book.Diags holds findings about a file or a
// sheet as a whole (header problems, merged cells, a hidden sheet, ignored
// files), each with an origin naming its sheet or file, so a caller that
// ignores a sheet can drop them with Book.TableDiags. Row.Diags holds
// findings about the cells of that row, and findings about blank rows just
// before it.
//
// Writing is in one place too (write_xlsx.go, write_csv.go): streaming .xlsx
// (excelize StreamWriter) and CSV, with the same conventions everywhere:
// a frozen, styled header row; every value a text cell, so that "0042" and
// "+4670…" stay as typed; formula-injection safety (see EscapeCSV); long
// tables continued on "name (2)" sheets; highlights and cell comments for
// reports; every sheet filtered and set up to print (landscape, as wide as
// the page, the header repeated on every page).
package workbook

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/internal/diag"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxFileSize = 1 << 30 // 1 GiB: far beyond Excel's own row limit in CSV
	// DefaultMaxCellSize is above what Excel lets a cell hold (32,767
	// characters) in any common script, so only damage reaches it.
	DefaultMaxCellSize       = 128 << 10
	DefaultUnzipSizeLimit    = 256 << 20 // total unpacked size of an xlsx
	DefaultUnzipXMLSizeLimit = 16 << 20  // larger parts spill to TmpDir
	// MaxRows is the most rows a sheet can have in Excel; a CSV may have more.
	MaxRows = excelize.TotalRows
	// maxListedWarnings caps warnings of one code per table: past it, one
	// summary line stands for the rest, so a column of trailing spaces does
	// not bury the errors. Errors are never capped: each failing row keeps
	// its reason.
	maxListedWarnings = 100
)

// Options tune reading. Zero values are sensible defaults.
type Options struct {
	Kind        string // kind of a single CSV file when its name does not say
	MaxFileSize int64  // bytes; larger input is refused before opening
	MaxCellSize int    // bytes; a larger cell is an error on that cell
	TmpDir      string // where excelize spills large parts

	// UnzipSizeLimit and UnzipXMLSizeLimit bound what an xlsx may unpack to
	// (zip bombs); see the Default constants.
	UnzipSizeLimit    int64
	UnzipXMLSizeLimit int64

	// Secret, when set, says which columns hold secrets (the caller knows
	// the kinds): the reader then never copies their values into messages.
	Secret func(table, header string) bool
}

func (o Options) withDefaults() Options {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxCellSize <= 0 {
		o.MaxCellSize = DefaultMaxCellSize
	}
	if o.UnzipSizeLimit <= 0 {
		o.UnzipSizeLimit = DefaultUnzipSizeLimit
	}
	if o.UnzipXMLSizeLimit <= 0 {
		o.UnzipXMLSizeLimit = DefaultUnzipXMLSizeLimit
	}
	o.UnzipXMLSizeLimit = min(o.UnzipXMLSizeLimit, o.UnzipSizeLimit)
	return o
}

// Book is an opened input.
type Book struct {
	Path   string
	Tables []*Table
	Diags  diag.List // file-level findings (BOM, delimiter, merged cells, …)
	// Export is true for a pbxbatch export (it carries a manifest.json or
	// a _metadata sheet): what pbxbatch writes itself (a BOM, the
	// manifest, catalogue sheets, read-only columns) is not damage.
	Export bool

	xlsx *excelize.File
	zip  *zip.ReadCloser
}

// Table is one sheet or one CSV file.
type Table struct {
	Name      string // sheet name, or CSV file name without extension
	File      string
	Sheet     string   // empty for CSV
	Header    []string // header cells, trimmed
	HeaderRow int      // physical row of the header (1 unless leading blank rows)
	Hidden    bool     // a hidden sheet

	book   *Book
	opts   Options
	secret []bool // per header column
	// headerEnd is the last physical line of the header (a CSV header cell
	// may span lines).
	headerEnd int
	csv       *csvFormat
	scan      *sheetScan
}

// Row is one physical data row. Cells has exactly len(Header) entries.
type Row struct {
	Num   int
	Cells []string
	Diags diag.List // cell-level findings: formulas, non-breaking spaces, …
	// Numeric marks the cells an xlsx stores as numbers (nil when none
	// is): a spreadsheet has turned what was typed into a number, dropping
	// leading zeros and a leading +. Such a cell's text is the number as
	// shown, or as stored when a display format changed it.
	Numeric []bool
}

// Open opens an input file or directory. An error means nothing could be
// read (not a workbook, password-protected, too large, …) and says what to
// do; anything less is a diagnostic in the Book.
func Open(path string, opts Options) (*Book, error) {
	opts = opts.withDefaults()
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, errors.Unwrap(err))
	}
	b := &Book{Path: path}
	if fi.IsDir() {
		if err := b.openDir(path, opts); err != nil {
			return nil, err
		}
		return b, nil
	}
	if err := b.openFile(path, fi.Size(), opts); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Close releases the workbook and its temporary files.
func (b *Book) Close() error {
	var err error
	if b.zip != nil {
		err = b.zip.Close()
		b.zip = nil
	}
	if b.xlsx != nil {
		err = cmp.Or(b.xlsx.Close(), err)
		b.xlsx = nil
	}
	return err
}

// TableDiags returns the findings of Book.Diags that concern one table, so a
// caller that skips a sheet (a README, notes) can skip its findings too.
func (b *Book) TableDiags(t *Table) diag.List {
	var out diag.List
	for _, d := range b.Diags {
		if d.File == t.File && d.Sheet == t.Sheet {
			out = append(out, d)
		}
	}
	return out
}

// Table finds a table by name, case-insensitively.
func (b *Book) Table(name string) *Table {
	for _, t := range b.Tables {
		if strings.EqualFold(t.Name, name) {
			return t
		}
	}
	return nil
}

// Origin returns the origin of a cell (col is the 0-based header index; -1
// for the whole row; row 0 for the whole table).
func (t *Table) Origin(row, col int) diag.Origin {
	o := diag.Origin{File: t.File, Sheet: t.Sheet, Row: row}
	if col >= 0 && row > 0 {
		o.Col = ColumnName(col)
	}
	return o
}

// Column returns the index of a header, case-insensitively, or -1.
func (t *Table) Column(header string) int {
	return slices.IndexFunc(t.Header, func(h string) bool { return strings.EqualFold(h, header) })
}

// ColumnName turns a 0-based column index into its letters (0 → "A").
func ColumnName(col int) string {
	name, err := excelize.ColumnNumberToName(col + 1)
	if err != nil { // beyond XFD: CSV only; still say where
		return fmt.Sprintf("#%d", col+1)
	}
	return name
}

// fileKind is what a file's first bytes say it is.
type fileKind int

const (
	kindText fileKind = iota
	kindZip
	kindOLE
	kindUTF16
	kindBinary
	kindMarkup
)

var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

func sniff(head []byte) fileKind {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return kindZip
	case bytes.HasPrefix(head, oleMagic):
		return kindOLE
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return kindUTF16
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("<")) {
		return kindMarkup
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return kindBinary
	}
	return kindText
}

func (b *Book) openFile(path string, size int64, opts Options) error {
	name := filepath.Base(path)
	ext := strings.ToLower(filepath.Ext(path))
	if size == 0 {
		return fmt.Errorf("%s is empty (0 bytes); export the workbook again", name)
	}
	if size > opts.MaxFileSize {
		return fmt.Errorf("%s is %s, more than the %s allowed; split it into several files", name, byteSize(size), byteSize(opts.MaxFileSize))
	}
	head, err := readHead(path, 4096)
	if err != nil {
		return err
	}
	wantWorkbook := ext == ".xlsx" || ext == ".xlsm" || ext == ".xls"
	switch sniff(head) {
	case kindZip:
		return b.openXLSX(path, opts)
	case kindOLE:
		if encrypted, err := isEncryptedOOXML(path); err != nil {
			return err
		} else if encrypted {
			return fmt.Errorf("the workbook %s is password-protected; remove the password (File › Info › Protect Workbook › Encrypt with Password, clear it) and save again", name)
		}
		return fmt.Errorf("%s is an Excel 97-2003 (.xls) workbook; save it as .xlsx (Excel Workbook) or export CSV UTF-8", name)
	case kindUTF16:
		return fmt.Errorf("%s is UTF-16 text (Excel's \"Unicode Text\"); save it as \"CSV UTF-8 (Comma delimited)\" or .xlsx", name)
	case kindBinary:
		if wantWorkbook {
			return fmt.Errorf("%s is not an xlsx workbook (it is not a zip archive); save it as .xlsx or export CSV", name)
		}
		return fmt.Errorf("%s is not a text file (it holds binary data); save it as .xlsx or \"CSV UTF-8\"", name)
	case kindMarkup:
		if wantWorkbook {
			return fmt.Errorf("%s is not an xlsx workbook (it is HTML/XML, as some tools write under an Excel name); open it in Excel and save it as .xlsx or export CSV", name)
		}
	}
	if wantWorkbook {
		return fmt.Errorf("%s is not an xlsx workbook (it holds plain text); save it as .xlsx or export CSV, and name a CSV file .csv", name)
	}
	t, err := openCSV(b, path, opts.Kind, opts)
	if err != nil {
		return err
	}
	b.Tables = append(b.Tables, t)
	return nil
}

func (b *Book) openDir(dir string, opts Options) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cannot read directory %s: %w", dir, err)
	}
	b.Export = isManifest(filepath.Join(dir, manifestFile))
	for _, e := range entries {
		name := e.Name()
		full := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") || b.Export && name == manifestFile { // dotfiles, Excel lock files, an export's manifest
			continue
		}
		if e.IsDir() || !strings.EqualFold(filepath.Ext(name), ".csv") {
			b.Diags.Warnf(diag.Origin{File: full}, "", "read.ignored_file",
				"%s is not a .csv file and was ignored; a directory input reads only .csv files named after kinds (open a workbook by its own path)", name)
			continue
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", full, err)
		}
		if info.Size() == 0 {
			return fmt.Errorf("%s is empty (0 bytes); remove it or export it again", name)
		}
		if info.Size() > opts.MaxFileSize {
			return fmt.Errorf("%s is %s, more than the %s allowed; split it into several files", name, byteSize(info.Size()), byteSize(opts.MaxFileSize))
		}
		head, err := readHead(full, 4096)
		if err != nil {
			return err
		}
		if k := sniff(head); k != kindText && k != kindMarkup {
			return fmt.Errorf("%s is not CSV text (it looks like a %s); save it as \"CSV UTF-8 (Comma delimited)\"", name, describeKind(k))
		}
		t, err := openCSV(b, full, "", opts)
		if err != nil {
			return err
		}
		b.Tables = append(b.Tables, t)
	}
	if len(b.Tables) == 0 {
		return fmt.Errorf("directory %s holds no .csv files; put one CSV per kind in it (users.csv, extensions.csv, …)", dir)
	}
	return nil
}

// manifestFile is the metadata file of a pbxbatch CSV export
// (batch/export.ManifestFile; the reader does not import the engine).
const manifestFile = "manifest.json"

// isManifest reports whether path is a pbxbatch export manifest: a small
// JSON object naming its adapter and canonical form.
func isManifest(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var m struct {
		Adapter   string `json:"adapter"`
		Canonical string `json:"canonical"`
	}
	return json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&m) == nil && m.Canonical != "" && m.Adapter != ""
}

func describeKind(k fileKind) string {
	switch k {
	case kindZip:
		return "workbook or zip archive"
	case kindOLE:
		return "Excel 97-2003 or password-protected workbook"
	case kindUTF16:
		return "UTF-16 text file"
	}
	return "binary file"
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	head := make([]byte, n)
	k, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return head[:k], nil
}

// isEncryptedOOXML tells a password-protected xlsx (an OLE2 container with an
// "EncryptionInfo" stream) from a legacy .xls. The directory entry names are
// UTF-16LE and may sit anywhere in the container, so the whole file is
// scanned in chunks (its size is already bounded by MaxFileSize).
func isEncryptedOOXML(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var marker []byte
	for _, r := range "EncryptionInfo" {
		marker = append(marker, byte(r), 0)
	}
	buf := make([]byte, 256<<10)
	keep := 0
	for {
		n, err := f.Read(buf[keep:])
		if n > 0 {
			window := buf[:keep+n]
			if bytes.Contains(window, marker) {
				return true, nil
			}
			keep = min(len(marker)-1, len(window))
			copy(buf, window[len(window)-keep:])
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
