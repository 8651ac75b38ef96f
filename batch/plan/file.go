package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/atomicfile"
)

// Marshal renders a plan as plan.json: indented, keys sorted (encoding/json
// sorts map keys), one trailing newline. The same plan always gives the same
// bytes.
func Marshal(p *batch.Plan) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Save writes the plan to path atomically (a reader never sees half a plan)
// and durably (it survives a crash right after Save returns).
func Save(path string, p *batch.Plan) error {
	b, err := Marshal(p)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(path, 0o644, b); err != nil {
		return fmt.Errorf("saving plan: %w", err)
	}
	return nil
}

// Load reads a plan written by Save and checks that it is one this version
// can execute: numbers stay json.Number (as in records read from targets),
// op ids match their positions and every Needs names an op of the plan.
func Load(path string) (*batch.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading plan: %w", err)
	}
	p, err := Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return p, nil
}

// Unmarshal parses and checks plan.json content; see Load.
func Unmarshal(b []byte) (*batch.Plan, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var p batch.Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a plan file: %w", err)
	}
	if p.Version != Version {
		return nil, fmt.Errorf("plan format version %d; this pbxbatch reads version %d: plan again with this version", p.Version, Version)
	}
	for i, op := range p.Ops {
		if op == nil || op.ID != i {
			return nil, fmt.Errorf("op %d is missing or out of place: the file is damaged; plan again", i)
		}
		for _, n := range op.Needs {
			if n < 0 || n >= len(p.Ops) || n == i {
				return nil, fmt.Errorf("op %d needs op %d, which the plan does not have: the file is damaged; plan again", i, n)
			}
		}
		switch op.Action {
		case batch.OpCreate, batch.OpUpdate, batch.OpDelete, batch.OpNoop, batch.OpBlocked:
		default:
			return nil, fmt.Errorf("op %d has unknown action %q: the file is damaged; plan again", i, op.Action)
		}
	}
	return &p, nil
}

// HashInput returns the hex SHA-256 of an input: a file's bytes, or for a
// directory of CSV files, each regular file's name and bytes in name order
// (hidden files skipped, as the reader skips them).
func HashInput(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if !fi.IsDir() {
		if err := hashFile(h, path); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00", n)
		if err := hashFile(h, filepath.Join(path, n)); err != nil {
			return "", err
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
