package rollback

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/atomicfile"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// WriteInput writes the steps as an input the validator and planner read
// like any workbook: a directory of CSV files, one per kind
// (<plural>.csv), each row an action and the fields to set (blank keeps,
// <clear> clears). Secret, write-only and read-only fields have no column.
// The directory must not exist; it is made 0700, its files 0600 (the
// records are the target's, as in a run's reports).
func (inv *Inverse) WriteInput(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("writing the rollback's input: %w", err)
	}
	var kinds []*schemas.Kind
	byKind := map[*schemas.Kind][]Step{}
	for _, s := range inv.Steps {
		if byKind[s.Kind] == nil {
			kinds = append(kinds, s.Kind)
		}
		byKind[s.Kind] = append(byKind[s.Kind], s)
	}
	for _, k := range kinds {
		if err := writeKind(filepath.Join(dir, k.Plural+".csv"), k, byKind[k]); err != nil {
			return fmt.Errorf("writing the rollback's input: %w", err)
		}
	}
	return nil
}

func writeKind(path string, k *schemas.Kind, steps []Step) error {
	header := []string{"action"}
	for _, f := range k.Fields {
		if settable(f) {
			header = append(header, f.Path)
		}
	}
	return atomicfile.Write(path, 0o600, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		c, err := workbook.NewCSVWriter(bw, false)
		if err != nil {
			return err
		}
		err = c.WriteRow(header)
		for _, s := range steps {
			row := []string{string(s.Action)}
			for _, p := range header[1:] {
				cell := ""
				switch {
				case s.Action == batch.DeleteRow && !slices.Contains(k.Key, p):
				case slices.Contains(s.Clear, p):
					cell = batch.ClearToken
				default:
					cell = s.Record.String(p)
				}
				row = append(row, cell)
			}
			err = errors.Join(err, c.WriteRow(row))
		}
		return errors.Join(err, c.Flush(), bw.Flush())
	})
}

// Notes is what a rollback leaves undone, for the file beside its input.
type Notes struct {
	Run     string    `json:"run"` // the run rolled back
	Refused []Refusal `json:"refused"`
	// NotRestorable lists, per record put back, the fields that could not
	// be (secrets and write-only fields).
	NotRestorable []Lost `json:"not_restorable"`
}

// Lost is a record's fields that a step cannot restore.
type Lost struct {
	Kind   string   `json:"kind"`
	Key    string   `json:"key"`
	Fields []string `json:"fields"`
}

// WriteNotes writes what the rollback of run leaves undone as JSON to
// path (0600, atomically).
func (inv *Inverse) WriteNotes(path, run string) error {
	n := Notes{Run: run, Refused: inv.Refused, NotRestorable: []Lost{}}
	if n.Refused == nil {
		n.Refused = []Refusal{}
	}
	for _, s := range inv.Steps {
		if len(s.Lost) > 0 {
			n.NotRestorable = append(n.NotRestorable, Lost{Kind: s.Kind.Name, Key: s.Key, Fields: s.Lost})
		}
	}
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, 0o600, append(b, '\n'))
}
