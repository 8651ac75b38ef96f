// Package export writes the full inventory of a target as a workbook in the
// format import reads: one sheet (xlsx) or one <plural>.csv file per kind,
// the schema's column order, references by name, lists joined with ";",
// secrets withheld. Output is deterministic (rows sorted by natural key,
// whatever order the platform lists them in) and streaming: listing the
// next kind overlaps writing the previous one, and rows are sorted with
// bounded memory (internal/sheet/rowsort).
//
// Every export carries its metadata (a _metadata sheet, or manifest.json):
// adapter, target, time, tool and schema versions, and per kind the row
// count and the SHA-256 of its canonical content, which is the kind's rows
// as CSV exactly as a CSV export writes them (header first, UTF-8 without a
// BOM, "\n" line ends, formula-escaped with sheet.EscapeCSV). So
// `sha256sum people.csv` proves a CSV export unchanged, and Verify
// recomputes the same hashes from an xlsx export.
package export

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/atomicfile"
	"github.com/pbxbatch/pbxbatch/internal/sheet"
	"github.com/pbxbatch/pbxbatch/internal/sheet/rowsort"
	"github.com/pbxbatch/pbxbatch/schemas"
	"golang.org/x/sync/errgroup"
)

// Format is the output format.
type Format string

const (
	XLSX Format = "xlsx"
	CSV  Format = "csv"
)

// ManifestFile is the metadata file of a CSV export.
const ManifestFile = "manifest.json"

// Canonical describes how the per-kind hashes are computed; it is written
// into every manifest so that an auditor needs no other document.
const Canonical = "sha256 of the kind's rows as CSV: header row first, RFC 4180, UTF-8 without BOM, LF line ends, " +
	"values starting with = + - @ tab CR (other than plain numbers) prefixed with ' ; " +
	"identical to the bytes of <plural>.csv in a CSV export (after the BOM, if --bom)"

// Options say what to export and where.
type Options struct {
	Format Format
	// Out is the .xlsx file, or the directory for CSV (created if missing).
	Out string
	// Kinds limits the export to these kinds (names or plurals); empty
	// exports every kind.
	Kinds []string

	Adapter     string
	Target      string // target name in pbxbatch.yaml
	TargetURL   string
	ToolVersion string
	Now         time.Time // exported_at; zero = time.Now()

	// BOM starts each CSV file with a UTF-8 byte order mark, for Excel.
	BOM bool
	// TmpDir holds sort runs and excelize spill files; "" = os.TempDir.
	TmpDir string
	// SortMemBytes bounds the rows of one kind held in memory before they
	// spill to sorted temp files; 0 = 32 MiB.
	SortMemBytes int

	// Progress, when set, is called from the listing goroutine every
	// ProgressEvery rows of a kind and once when the kind is fully listed
	// (done = true).
	Progress func(kind string, rows int, done bool)
}

// exportPerm keeps an inventory (names, numbers, e-mail addresses) to its
// owner, as the run directory's files are.
const exportPerm = 0o600

// ProgressEvery is how many rows pass between Progress calls.
const ProgressEvery = 1000

// Manifest describes an export; it is the _metadata sheet of an xlsx export
// and the manifest.json of a CSV export.
type Manifest struct {
	Format        Format     `json:"format"`
	Adapter       string     `json:"adapter"`
	Target        string     `json:"target"`
	TargetURL     string     `json:"target_url"`
	ExportedAt    time.Time  `json:"exported_at"`
	ToolVersion   string     `json:"tool_version"`
	SchemaVersion string     `json:"schema_version"`
	Canonical     string     `json:"canonical"`
	Kinds         []KindInfo `json:"kinds"`
}

// KindInfo is one kind of an export.
type KindInfo struct {
	Kind     string   `json:"kind"`
	Sheets   []string `json:"sheets,omitempty"` // xlsx: its sheet, and continuation sheets
	File     string   `json:"file,omitempty"`   // CSV: its file name
	Rows     int      `json:"rows"`
	SHA256   string   `json:"sha256"`
	ReadOnly bool     `json:"read_only,omitempty"` // a catalogue: ignored by import
	// Withheld lists the secret columns, left blank: a platform never
	// reveals them and an export never holds them in clear.
	Withheld []string `json:"withheld,omitempty"`
	// DuplicateKeys counts rows whose natural key equals the previous row's:
	// the platform holds records import could not tell apart.
	DuplicateKeys int `json:"duplicate_keys,omitempty"`
}

// Kind returns the info of a kind, or nil.
func (m *Manifest) Kind(name string) *KindInfo {
	for i := range m.Kinds {
		if m.Kinds[i].Kind == name {
			return &m.Kinds[i]
		}
	}
	return nil
}

// Kinds resolves names (or plurals) to kinds in export order: importable
// kinds in dependency order, then read-only catalogues. Empty names select
// every kind.
func Kinds(set *schemas.Set, names []string) ([]*schemas.Kind, error) {
	ordered, err := set.Order()
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ordered, func(a, b *schemas.Kind) int {
		return cmpBool(a.ReadOnly, b.ReadOnly)
	})
	if len(names) == 0 {
		return ordered, nil
	}
	want := map[*schemas.Kind]bool{}
	for _, n := range names {
		k := set.Kind(strings.TrimSpace(n))
		if k == nil {
			var known []string
			for _, k := range ordered {
				known = append(known, k.Name)
			}
			return nil, fmt.Errorf("adapter %s has no kind %q (kinds: %s)", set.Adapter, n, strings.Join(known, ", "))
		}
		want[k] = true
	}
	return slices.DeleteFunc(ordered, func(k *schemas.Kind) bool { return !want[k] }), nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// SchemaVersion identifies the schema files of an adapter: the SHA-256 of
// their names and contents, in file order.
func SchemaVersion(set *schemas.Set) string {
	h := sha256.New()
	for _, k := range set.Kinds {
		fmt.Fprintf(h, "%s\n%d\n", k.Name, len(k.Raw))
		h.Write(k.Raw)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Header returns a kind's columns: its fields in schema order.
func Header(k *schemas.Kind) []string {
	out := make([]string, len(k.Fields))
	for i, f := range k.Fields {
		out[i] = f.Path
	}
	return out
}

// Row renders a record as the cells of its kind's columns. Secret fields
// are blank.
func Row(k *schemas.Kind, r schemas.Record) []string {
	out := make([]string, len(k.Fields))
	for i, f := range k.Fields {
		if !f.Secret {
			out[i] = r.String(f.Path)
		}
	}
	return out
}

// KeyColumns returns the indexes of a kind's natural key among its columns.
func KeyColumns(k *schemas.Kind, header []string) []int {
	idx := make([]int, 0, len(k.Key))
	for _, key := range k.Key {
		idx = append(idx, slices.Index(header, key))
	}
	return idx
}

// CompareKeys orders rows by the given key columns (a missing column, -1,
// compares as blank).
func CompareKeys(keyCols []int) func(a, b []string) int {
	return func(a, b []string) int {
		for _, i := range keyCols {
			if c := cmp.Compare(cell(a, i), cell(b, i)); c != 0 {
				return c
			}
		}
		return 0
	}
}

func cell(row []string, i int) string {
	if i < 0 || i >= len(row) {
		return ""
	}
	return row[i]
}

// rowOrder is the total order of an export: natural key, then the whole
// row, so that even duplicate keys come out the same every time.
func rowOrder(keyCols []int) rowsort.Compare {
	byKey := CompareKeys(keyCols)
	return func(a, b []string) int {
		if c := byKey(a, b); c != 0 {
			return c
		}
		return slices.Compare(a, b)
	}
}

// listed is one kind, fully listed and ready to write in order.
type listed struct {
	kind *schemas.Kind
	rows *rowsort.Sorter
}

// Run exports the kinds of set from conn. On error nothing is left at
// o.Out: files are written under temporary names and renamed at the end.
func Run(ctx context.Context, conn adapters.Conn, set *schemas.Set, o Options) (*Manifest, error) {
	kinds, err := Kinds(set, o.Kinds)
	if err != nil {
		return nil, err
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	m := &Manifest{
		Format: o.Format, Adapter: cmp.Or(o.Adapter, set.Adapter), Target: o.Target, TargetURL: o.TargetURL,
		ExportedAt: o.Now.UTC().Truncate(time.Second), ToolVersion: o.ToolVersion,
		SchemaVersion: SchemaVersion(set), Canonical: Canonical,
	}
	var out output
	switch o.Format {
	case XLSX, "":
		m.Format = XLSX
		out, err = newXLSXOutput(o)
	case CSV:
		out, err = newCSVOutput(o)
	default:
		return nil, fmt.Errorf("unknown export format %q (xlsx or csv)", o.Format)
	}
	if err != nil {
		return nil, err
	}
	defer out.abort()

	g, gctx := errgroup.WithContext(ctx)
	ready := make(chan listed, 1) // one kind waits while the next is listed
	g.Go(func() error {
		defer close(ready)
		for _, k := range kinds {
			s, err := list(gctx, conn, k, o)
			if err != nil {
				return err
			}
			select {
			case ready <- listed{k, s}:
			case <-gctx.Done():
				s.Close()
				return gctx.Err()
			}
		}
		return nil
	})
	g.Go(func() error {
		for l := range ready {
			info, err := writeKind(out, l)
			if err != nil {
				return err
			}
			m.Kinds = append(m.Kinds, info)
		}
		return nil
	})
	err = g.Wait()
	for l := range ready { // a kind listed but not written after a failure
		l.rows.Close()
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := out.finish(m); err != nil {
		return nil, err
	}
	return m, nil
}

// list reads every record of a kind into a sorter.
func list(ctx context.Context, conn adapters.Conn, k *schemas.Kind, o Options) (*rowsort.Sorter, error) {
	s := rowsort.New(rowOrder(KeyColumns(k, Header(k))), rowsort.Options{MaxBytes: o.SortMemBytes, TmpDir: o.TmpDir})
	n := 0
	err := conn.List(ctx, k.Name, func(r schemas.Record) error {
		n++
		if o.Progress != nil && n%ProgressEvery == 0 {
			o.Progress(k.Name, n, false)
		}
		return s.Add(Row(k, r))
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("listing %s: %w", k.Plural, err)
	}
	if o.Progress != nil {
		o.Progress(k.Name, n, true)
	}
	return s, nil
}

// rowWriter is where one kind's rows go.
type rowWriter interface{ WriteRow([]string) error }

// output is an export being written: xlsx or a CSV directory.
type output interface {
	// begin starts a kind and returns where its rows go; end finishes it.
	begin(k *schemas.Kind, info *KindInfo) (rowWriter, error)
	end(info *KindInfo) error
	finish(m *Manifest) error
	abort()
}

// writeKind writes one listed kind and returns its metadata.
func writeKind(out output, l listed) (KindInfo, error) {
	k := l.kind
	defer l.rows.Close()
	info := KindInfo{Kind: k.Name, ReadOnly: k.ReadOnly, Withheld: k.SecretPaths()}
	w, err := out.begin(k, &info)
	if err != nil {
		return info, err
	}
	h := sha256.New()
	canon, _ := sheet.NewCSV(h, false)
	header := Header(k)
	if err := canon.WriteRow(header); err != nil {
		return info, err
	}
	byKey := CompareKeys(KeyColumns(k, header))
	it, err := l.rows.Iter()
	if err != nil {
		return info, err
	}
	var prev []string
	for it.Next() {
		row := it.Row()
		if prev != nil && byKey(prev, row) == 0 {
			info.DuplicateKeys++
		}
		prev = row
		if err := w.WriteRow(row); err != nil {
			return info, fmt.Errorf("writing %s: %w", k.Plural, err)
		}
		if err := canon.WriteRow(row); err != nil {
			return info, err
		}
		info.Rows++
	}
	if err := it.Err(); err != nil {
		return info, err
	}
	if err := canon.Flush(); err != nil {
		return info, err
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return info, out.end(&info)
}

// xlsxOutput writes one workbook.
type xlsxOutput struct {
	o   Options
	x   *sheet.XLSX
	cur *sheet.Table
}

func newXLSXOutput(o Options) (*xlsxOutput, error) {
	if ext := strings.ToLower(filepath.Ext(o.Out)); ext != ".xlsx" {
		return nil, fmt.Errorf("export to %q: an xlsx export is written to a .xlsx file (use --format csv for a directory)", o.Out)
	}
	x, err := sheet.NewXLSX(sheet.XLSXOptions{TmpDir: o.TmpDir})
	if err != nil {
		return nil, err
	}
	return &xlsxOutput{o: o, x: x}, nil
}

func (x *xlsxOutput) begin(k *schemas.Kind, _ *KindInfo) (rowWriter, error) {
	t, err := x.x.NewTable(k.Plural, Header(k), sheet.TableOptions{ReadOnly: k.ReadOnly})
	x.cur = t
	return t, err
}

func (x *xlsxOutput) end(info *KindInfo) error {
	info.Sheets = x.cur.Sheets()
	return nil
}

func (x *xlsxOutput) finish(m *Manifest) error {
	t, err := x.x.NewTable(sheet.MetadataSheet, []string{"field", "value"}, sheet.TableOptions{NoFreeze: true})
	if err != nil {
		return err
	}
	if err := writeMetadata(t, m); err != nil {
		return err
	}
	return atomicfile.Write(x.o.Out, exportPerm, func(w io.Writer) error {
		_, err := x.x.WriteTo(w)
		return err
	})
}

func (x *xlsxOutput) abort() { x.x.Close() }

// Metadata field names on the _metadata sheet (the "field" column).
const (
	fieldFormat        = "format"
	fieldAdapter       = "adapter"
	fieldTarget        = "target"
	fieldTargetURL     = "target_url"
	fieldExportedAt    = "exported_at"
	fieldToolVersion   = "tool_version"
	fieldSchemaVersion = "schema_version"
	fieldCanonical     = "canonical"
)

// kindColumns is the header of the per-kind table on the _metadata sheet.
var kindColumns = []string{"kind", "sheets", "rows", "sha256", "read_only", "withheld_columns", "duplicate_keys"}

// writeMetadata writes the manifest as field/value rows, then a table of
// kinds under its own heading row.
func writeMetadata(t *sheet.Table, m *Manifest) error {
	for _, kv := range [][2]string{
		{fieldFormat, string(m.Format)},
		{fieldAdapter, m.Adapter},
		{fieldTarget, m.Target},
		{fieldTargetURL, m.TargetURL},
		{fieldExportedAt, m.ExportedAt.Format(time.RFC3339)},
		{fieldToolVersion, m.ToolVersion},
		{fieldSchemaVersion, m.SchemaVersion},
		{fieldCanonical, m.Canonical},
	} {
		if err := t.WriteRow(kv[:]); err != nil {
			return err
		}
	}
	if err := t.WriteRow(nil); err != nil {
		return err
	}
	heading := make([]sheet.Cell, len(kindColumns))
	for i, c := range kindColumns {
		heading[i] = sheet.Cell{Value: c, Style: sheet.Heading}
	}
	if err := t.Write(heading, sheet.Plain); err != nil {
		return err
	}
	for _, k := range m.Kinds {
		ro := ""
		if k.ReadOnly {
			ro = "read-only: ignored by import"
		}
		dup := ""
		if k.DuplicateKeys > 0 {
			dup = fmt.Sprint(k.DuplicateKeys)
		}
		if err := t.WriteRow([]string{k.Kind, strings.Join(k.Sheets, ";"), fmt.Sprint(k.Rows), k.SHA256, ro, strings.Join(k.Withheld, ";"), dup}); err != nil {
			return err
		}
	}
	return nil
}

// csvOutput writes a directory of <plural>.csv files and manifest.json.
type csvOutput struct {
	o       Options
	f       *os.File
	bw      *bufio.Writer
	c       *sheet.CSV
	renames [][2]string // temporary name → final name, renamed by finish
}

func newCSVOutput(o Options) (*csvOutput, error) {
	if strings.EqualFold(filepath.Ext(o.Out), ".xlsx") {
		return nil, fmt.Errorf("export to %q: a CSV export is written to a directory, not a .xlsx file", o.Out)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("export directory: %w", err)
	}
	return &csvOutput{o: o}, nil
}

func (c *csvOutput) begin(k *schemas.Kind, info *KindInfo) (rowWriter, error) {
	info.File = k.Plural + ".csv"
	final := filepath.Join(c.o.Out, info.File)
	f, err := os.CreateTemp(c.o.Out, "."+info.File+".*.tmp")
	if err != nil {
		return nil, err
	}
	c.renames = append(c.renames, [2]string{f.Name(), final})
	c.f, c.bw = f, bufio.NewWriterSize(f, 256<<10)
	if c.c, err = sheet.NewCSV(c.bw, c.o.BOM); err != nil {
		return nil, err
	}
	return c.c, c.c.WriteRow(Header(k))
}

func (c *csvOutput) end(*KindInfo) error {
	err := errors.Join(c.c.Flush(), c.bw.Flush(), c.f.Close())
	c.f = nil
	return err
}

func (c *csvOutput) finish(m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	err = atomicfile.Write(filepath.Join(c.o.Out, ManifestFile), exportPerm, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range c.renames {
		if err := os.Rename(r[0], r[1]); err != nil {
			return err
		}
	}
	c.renames = nil
	return nil
}

func (c *csvOutput) abort() {
	if c.f != nil {
		c.f.Close()
	}
	for _, r := range c.renames { // written under temporary names only
		os.Remove(r[0])
	}
}
