package plan

import (
	"context"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// check asks the adapter's Checker about every create and update of the
// plan, so that a row the target would refuse (an MX-ONE extension number
// outside its subsystem's series) is blocked at its cell now, with its
// dependents, instead of failing at apply time. A check that cannot be
// made is said once per reason and the rows are planned as they are.
func (p *planner) check(ctx context.Context, c adapters.Checker) error {
	if c == nil {
		return nil
	}
	planned := func(kind, key string) schemas.Record {
		if e := p.byKey[kind][key]; e != nil && !e.blocked && (e.op.Action == batch.OpCreate || e.op.Action == batch.OpUpdate) {
			return e.op.Record
		}
		return nil
	}
	unchecked := map[string]bool{}
	for _, e := range p.entries {
		var a adapters.Action
		switch e.op.Action {
		case batch.OpCreate:
			a = adapters.Create
		case batch.OpUpdate:
			a = adapters.Update
		default:
			continue
		}
		field, why, err := c.Check(ctx, adapters.Change{Kind: e.kind.Name, Action: a, Record: e.op.Record, Before: e.op.Before}, planned)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			if msg := err.Error(); !unchecked[msg] {
				unchecked[msg] = true
				p.diags.Warnf(e.row.Origin, "", CodeUnchecked, "%s %q and rows like it could not be checked against %s (%s); apply will say if it refuses them", e.kind.Name, e.key, p.where(), msg)
			}
		case why != "":
			p.block(e, p.cell(e, field), field, CodeRefused, "%s %q: %s", e.kind.Name, e.key, why)
		}
	}
	return nil
}
