package run

import (
	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
)

// readBackFirst says whether operation i is read back from the target
// before anything is sent for it. An operation an earlier attempt of the
// run sent may have landed whatever the journal says of it: a create can
// land and then fail (an MX-ONE extension whose user link runs out of
// retries, a read-back of an unknown outcome that runs out itself), so a
// recorded "failed" is no proof that nothing is there. FromTarget reads
// back everything.
func (r *runner) readBackFirst(i int) bool {
	return r.opts.FromTarget || r.opts.Prior[i].Attempt > 0
}

// sentAs is the action sent when it is not the planned one: a create found
// on the target in part is finished as an update (see readBack).
func (x *execution) sentAs() batch.OpAction {
	if x.op.Action == batch.OpCreate && x.change.Action == adapters.Update {
		return batch.OpUpdate
	}
	return ""
}

// Unsent returns the part of p that no attempt of the run has sent yet (no
// attempt recorded in prior), for re-checking those records on resume:
// what was sent is read back instead.
func Unsent(p *batch.Plan, prior map[int]journal.Entry) *batch.Plan {
	sub := *p
	sub.Ops = nil
	for _, op := range p.Ops {
		if e, seen := prior[op.ID]; !seen || e.Attempt == 0 && e.Status != batch.StatusSucceeded && e.Status != batch.StatusNoop {
			sub.Ops = append(sub.Ops, op)
		}
	}
	return &sub
}

// ResumeCounts is what a resume will do, for its first line.
type ResumeCounts struct {
	Done     int // recorded done (or nothing to do): skipped
	ReadBack int // sent before: read back first
	Rest     int // never sent: run as planned
}

// CountResume counts what resuming p with prior does (Options.Prior,
// Options.FromTarget).
func CountResume(p *batch.Plan, prior map[int]journal.Entry, fromTarget bool) ResumeCounts {
	var c ResumeCounts
	for _, op := range p.Ops {
		e := prior[op.ID]
		_, writes := op.Action.Write()
		switch {
		case !writes || !fromTarget && (e.Status == batch.StatusSucceeded || e.Status == batch.StatusNoop):
			c.Done++
		case fromTarget || e.Attempt > 0:
			c.ReadBack++
		default:
			c.Rest++
		}
	}
	return c
}
