package export

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// ManifestFile is the metadata file of a CSV export.
const ManifestFile = "manifest.json"

// Canonical describes how the per-kind hashes are computed; it is written
// into every manifest so that an auditor needs no other document.
const Canonical = "sha256 of the kind's rows as CSV: header row first, RFC 4180, UTF-8 without BOM, LF line ends, " +
	"values starting with = + - @ tab CR (other than plain numbers) prefixed with ' ; " +
	"identical to the bytes of <plural>.csv in a CSV export (after the BOM, if --bom)"

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
func writeMetadata(t *workbook.TableWriter, m *Manifest) error {
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
	heading := make([]workbook.Cell, len(kindColumns))
	for i, c := range kindColumns {
		heading[i] = workbook.Cell{Value: c, Style: workbook.Heading}
	}
	if err := t.Write(heading, workbook.Plain); err != nil {
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
