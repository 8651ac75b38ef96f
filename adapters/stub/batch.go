package stub

import (
	"context"
	"fmt"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
)

// The stub's batched creates and its end-of-run step, shaped after APIO
// and the platforms that publish at the end of a run:
//
//   - vuser creates go out in batches (up to maxBatch in one request,
//     logged as one call "batch" of kind vuser). A batch is all-or-nothing
//     like APIO's list POST: one member that cannot be created refuses the
//     whole batch (400) and nothing lands.
//   - Finish "publishes" the vusers and voicemail boxes to every server of
//     SetServers (one call "finish" per server, key = the server's name, so
//     a Fault can fail one of them) and reports a part per server.

const maxBatch = 100

// finishKinds are the kinds whose changes Finish publishes.
var finishKinds = []string{"vuser", "voicemail"}

func batchSize(kind string, a adapters.Action) int {
	if kind == "vuser" && a == adapters.Create {
		return maxBatch
	}
	return 0
}

// applyBatch creates every change or none.
func (a *Adapter) applyBatch(ctx context.Context, cs []adapters.Change) ([]adapters.Result, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	k := a.kind(cs[0].Kind)
	keys := make([]string, len(cs))
	var locks []string
	for i, c := range cs {
		if a.kind(c.Kind) != k || c.Action != adapters.Create || batchSize(c.Kind, c.Action) == 0 {
			return nil, adapters.Errorf(adapters.Permanent, "a batch holds creates of one batched kind; got %s of %s", c.Action, c.Kind)
		}
		keys[i] = k.KeyOf(c.Record)
		locks = append(locks, a.Locks(c)...)
	}
	fault, finish, err := a.begin(ctx, Call{Op: "batch", Kind: k.Name, Key: strings.Join(keys, ",")}, locks)
	if err != nil {
		return nil, err
	}
	if fault != nil && !fault.Applied {
		return nil, finish(false, fault.err())
	}
	a.mu.Lock()
	ids, err := a.writeAll(cs, keys)
	a.mu.Unlock()
	landed := err == nil
	if fault != nil && landed {
		err = fault.err()
	}
	if err = finish(landed, err); err != nil {
		return nil, err
	}
	out := make([]adapters.Result, len(ids))
	for i, id := range ids {
		out[i] = adapters.Result{ID: id}
	}
	return out, nil
}

// writeAll creates every change, or refuses them all naming the first
// that cannot be created; a.mu is held.
func (a *Adapter) writeAll(cs []adapters.Change, keys []string) ([]string, error) {
	k := a.kind(cs[0].Kind)
	seen := map[string]bool{}
	for i, c := range cs {
		if a.recs[k.Name][keys[i]] != nil {
			a.stats.DuplicateCreates++
		}
		var err error
		switch {
		case seen[keys[i]]:
			err = fmt.Errorf("%s %q is twice in the batch", k.Name, keys[i])
		case a.recs[k.Name][keys[i]] != nil:
			err = fmt.Errorf("%s %q already exists", k.Name, keys[i])
		default:
			err = a.checkRefs(k, keys[i], c.Record)
		}
		if err != nil {
			return nil, &adapters.Error{Class: adapters.Permanent, Status: 400, Message: "batch refused, nothing created: " + err.Error()}
		}
		seen[keys[i]] = true
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		id, err := a.write(k, keys[i], c)
		if err != nil { // checked above: a bug
			panic(err)
		}
		ids[i] = id
	}
	return ids, nil
}

// finish publishes to every server, one call each, and reports a part per
// server; the error names the servers that failed.
func (a *Adapter) finish(ctx context.Context, changed []string) (adapters.StepResult, error) {
	a.mu.Lock()
	a.stats.Finishes++
	servers := a.servers
	a.mu.Unlock()
	res := adapters.StepResult{Summary: "published " + strings.Join(changed, ", ") + " to " + fmt.Sprint(len(servers)) + " server(s)"}
	var failed []string
	class := adapters.Retryable
	for _, s := range servers {
		part := adapters.StepPart{Name: s, OK: true, Message: "published"}
		fault, done, err := a.begin(ctx, Call{Op: "finish", Key: s}, nil)
		if err == nil && fault != nil {
			err = done(false, fault.err())
		} else if err == nil {
			err = done(true, nil)
		}
		if err != nil {
			part.OK, part.Message = false, err.Error()
			if len(failed) == 0 {
				class = adapters.ClassOf(err)
			}
			failed = append(failed, s)
		}
		res.Parts = append(res.Parts, part)
	}
	if len(failed) > 0 {
		return res, &adapters.Error{Class: class, Message: "publishing failed on " + strings.Join(failed, ", ")}
	}
	return res, nil
}

func (c *memConn) MaxBatch(kind string, a adapters.Action) int { return batchSize(kind, a) }

func (c *memConn) ApplyBatch(ctx context.Context, cs []adapters.Change) ([]adapters.Result, []error, error) {
	if err := c.session(); err != nil {
		return nil, nil, err
	}
	res, err := c.a.applyBatch(ctx, cs)
	if err != nil {
		return nil, nil, err
	}
	return res, make([]error, len(res)), nil
}

func (c *memConn) FinishKinds() []string { return finishKinds }

func (c *memConn) Finish(ctx context.Context, changed []string) (adapters.StepResult, error) {
	if err := c.session(); err != nil {
		return adapters.StepResult{}, err
	}
	return c.a.finish(ctx, changed)
}

// HTTP: the in-memory connection sends no HTTP request, so a pacer must
// wrap its operations.
func (c *memConn) HTTP() bool { return false }
