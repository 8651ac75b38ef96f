package plan

import (
	"context"
	"fmt"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Drift is a record that moved on the target since the plan was made.
type Drift struct {
	Op     int         `json:"op"`
	Kind   string      `json:"kind"`
	Key    string      `json:"key"`
	Origin diag.Origin `json:"origin"`
	// Was and Now say whether the record existed at plan time and now.
	Was bool `json:"was"`
	Now bool `json:"now"`
	// Fields that differ when it existed both times, in column order.
	Fields []string `json:"fields,omitempty"`
}

func (d Drift) String() string {
	what := fmt.Sprintf("%s %q (%s)", d.Kind, d.Key, d.Origin)
	switch {
	case !d.Was && d.Now:
		return what + " was created on the target since the plan was made"
	case d.Was && !d.Now:
		return what + " was deleted from the target since the plan was made"
	}
	return what + " changed on the target since the plan was made: " + strings.Join(d.Fields, ", ")
}

// CheckStale re-reads every record the plan writes and reports those that
// are not as the plan saw them (Op.Before, absence included). Apply must
// refuse a plan with any drift: its diffs were computed against a state
// that no longer exists. The kinds come from the embedded schemas of the
// plan's adapter; use CheckStaleWith for others or to pace the reads.
func CheckStale(ctx context.Context, conn adapters.Conn, p *batch.Plan) ([]Drift, error) {
	kinds, err := schemas.Load(p.Adapter)
	if err != nil {
		return nil, fmt.Errorf("checking the plan against the target: %w", err)
	}
	return CheckStaleWith(ctx, conn, kinds, p, Reads{})
}

// CheckStaleWith is CheckStale with the adapter's kinds and read options.
//
// Read-only fields (counters, timestamps the platform maintains) and
// secrets (never read back) are not compared; every other field is, not only
// those the plan changes, because an update sends the whole record.
func CheckStaleWith(ctx context.Context, conn adapters.Conn, kinds *schemas.Set, p *batch.Plan, reads Reads) ([]Drift, error) {
	type check struct {
		op   *batch.Op
		kind *schemas.Kind
	}
	var checks []check
	want := map[*schemas.Kind]map[string]schemas.Record{}
	for _, op := range p.Ops {
		if !writes(op.Action) {
			continue
		}
		k := kinds.Kind(op.Kind)
		if k == nil {
			return nil, fmt.Errorf("op %d: %s is not a kind of %s: the plan was made for another adapter", op.ID, op.Kind, kinds.Adapter)
		}
		src := op.Record
		if src == nil {
			src = op.Before
		}
		if want[k] == nil {
			want[k] = map[string]schemas.Record{}
		}
		want[k][op.Key] = k.KeyRecord(src)
		checks = append(checks, check{op, k})
	}
	state, err := readState(ctx, conn, reads, p.Target, want)
	if err != nil {
		return nil, fmt.Errorf("checking the plan against the target: %w", err)
	}
	var out []Drift
	for _, c := range checks {
		now, present := state.lookup(c.kind.Name, c.op.Key)
		d := Drift{Op: c.op.ID, Kind: c.op.Kind, Key: c.op.Key, Origin: c.op.Origin, Was: c.op.Before != nil, Now: present}
		if d.Was && d.Now {
			d.Fields = changedFields(c.kind, normalized(c.op.Before), now)
			if len(d.Fields) == 0 {
				continue
			}
		} else if d.Was == d.Now {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// changedFields lists the writable, non-secret fields whose values differ.
func changedFields(k *schemas.Kind, before, now schemas.Record) []string {
	var out []string
	for _, f := range k.Fields {
		if f.Secret || f.ReadOnly {
			continue
		}
		a, _ := before.Get(f.Path)
		b, _ := now.Get(f.Path)
		if !same(a, b, f) {
			out = append(out, f.Path)
		}
	}
	return out
}
