package plan

import (
	"fmt"
	"path/filepath"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// FillSecrets puts the secret values that the plan holds masked back into
// its records, from rows freshly read from the plan's input (p.Input), so
// that apply can send them. The plan file never holds a secret; the input
// does, and the plan keeps the input's SHA-256 and each op's row origin to
// find them again.
//
// It first checks that the input still hashes to p.InputSHA256: rows read
// from a changed input could put a value in the wrong record. Read the rows
// before calling (a change between the read and the check is then caught
// too, unless the file changes back).
func FillSecrets(p *batch.Plan, rows []batch.Row) error {
	if !NeedsSecrets(p) {
		return nil
	}
	if p.InputSHA256 == "" || p.Input == "" {
		return fmt.Errorf("the plan does not record its input, so its secrets cannot be filled in: plan again from the input")
	}
	sum, err := HashInput(p.Input)
	if err != nil {
		return fmt.Errorf("reading the plan's input for its secrets: %w", err)
	}
	if sum != p.InputSHA256 {
		return fmt.Errorf("input %s changed since the plan was made (sha256 was %.12s…, now %.12s…): plan again", p.Input, p.InputSHA256, sum)
	}
	byOrigin := make(map[rowRef]*batch.Row, len(rows))
	for i := range rows {
		byOrigin[refOf(rows[i].Origin)] = &rows[i]
	}
	for _, op := range p.Ops {
		if op.Record == nil || !writes(op.Action) {
			continue
		}
		for _, path := range op.Record.Paths() {
			if v, _ := op.Record.Get(path); v != schemas.Mask {
				continue
			}
			row := byOrigin[refOf(op.Origin)]
			if row == nil {
				return fmt.Errorf("%s: %s %s: the row is not in the input any more: plan again", op.Origin, op.Kind, op.Key)
			}
			v, ok := row.Set.Get(path)
			if !ok {
				return fmt.Errorf("%s: %s %s: the input row has no %s any more: plan again", op.Origin, op.Kind, op.Key, path)
			}
			op.Record.Set(path, v)
		}
	}
	return nil
}

// NeedsSecrets reports whether any write of the plan has a masked value.
func NeedsSecrets(p *batch.Plan) bool {
	for _, op := range p.Ops {
		if op.Record == nil || !writes(op.Action) {
			continue
		}
		for _, path := range op.Record.Paths() {
			if v, _ := op.Record.Get(path); v == schemas.Mask {
				return true
			}
		}
	}
	return false
}

func writes(a batch.OpAction) bool {
	_, ok := a.Write()
	return ok
}

// rowRef identifies an input row independently of the directory apply runs
// from: the file's base name, the sheet and the row.
type rowRef struct {
	file, sheet string
	row         int
}

func refOf(o diag.Origin) rowRef {
	return rowRef{file: filepath.Base(o.File), sheet: o.Sheet, row: o.Row}
}
