package rollback

import (
	"fmt"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Loss is what a rollback of a plan's run could not undo, for the writes
// of one kind and action that share the reason.
type Loss struct {
	Kind   string         `json:"kind"`
	Action batch.OpAction `json:"action"`
	Reason string         `json:"reason"`
	Count  int            `json:"count"`
}

// Losses says what a rollback of p, once run, could not undo, as far as
// the plan shows: inverses the platform cannot do (asked of caps, the
// adapter's capabilities) and fields that cannot be put back (secrets and
// write-only fields are never read back). A record changed on the target
// after the run is refused too, but that only the rollback can tell.
func Losses(p *batch.Plan, kinds *schemas.Set, caps adapters.Capabilities) []Loss {
	var out []Loss
	at := map[Loss]int{}
	add := func(op *batch.Op, reason string) {
		key := Loss{Kind: op.Kind, Action: op.Action, Reason: reason}
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, key)
		}
		out[i].Count++
	}
	for _, op := range p.Ops {
		k := kinds.Kind(op.Kind)
		if k == nil {
			continue
		}
		var inverse adapters.Action
		var lost []string
		switch op.Action {
		case batch.OpCreate:
			inverse = adapters.Delete
		case batch.OpUpdate:
			inverse, lost = adapters.Update, unknowable(k, op.Record)
		case batch.OpDelete:
			inverse, lost = adapters.Create, unknowable(k, nil)
		default:
			continue
		}
		if caps != nil {
			if why := caps.Supports(k.Name, inverse); why != "" {
				add(op, fmt.Sprintf("cannot be undone (it needs a %s): %s", inverse, why))
				continue
			}
		}
		if len(lost) > 0 {
			add(op, "not restorable: "+strings.Join(lost, ", "))
		}
	}
	return out
}

// Summary is the line plan and apply print about the plan's
// reversibility.
func Summary(losses []Loss) string {
	if len(losses) == 0 {
		return "Reversible: fully (pbxbatch rollback RUN_ID undoes the run)."
	}
	parts := make([]string, len(losses))
	for i, l := range losses {
		what := "s"
		if l.Count == 1 {
			what = ""
		}
		parts[i] = fmt.Sprintf("%d %s %s%s %s", l.Count, l.Kind, l.Action, what, l.Reason)
	}
	return "Reversible: not fully: " + strings.Join(parts, "; ") + "."
}
