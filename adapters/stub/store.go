// Package stub is an in-memory PBX used by engine tests, benchmarks and the
// conformance suite's self-test. It never touches a network unless a test
// asks for it: Handler serves the same state over HTTP (loopback) so that a
// subprocess can apply against state that survives the subprocess being
// killed.
//
// Its kinds (schemas/stub) mirror a real PBX in miniature: site ← group
// (self-referencing parent) ← person (a list of groups, a secret PIN) ←
// phone (compound key number+site, owner → person) ← voicemail (a reference
// to that compound key); vuser creates go out in batches, a vuser row may be
// a range, and an end-of-run step publishes vusers and voicemails (batch.go).
// It behaves like a strict PBX: a create of an existing key is a Conflict, an
// update of a missing one is NotFound, a dangling reference is refused, a
// referenced record cannot be deleted, and secrets are never read back.
//
// Tests inject behaviour at run time: latency (fixed or per call), faults by
// rule (see Fault) including writes that land but are reported as Unknown,
// Retry-After, expired or revoked credentials. Counters (Stats) and the call
// log (Calls) let tests assert what the target saw.
package stub

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pbxbatch/pbxbatch/internal/wait"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Name is the registry name of the stub adapter.
const Name = "stub"

// Adapter is the stub platform and its state. The zero value is not usable:
// call New.
type Adapter struct {
	kinds *schemas.Set

	mu       sync.Mutex
	recs     map[string]map[string]*stored // kind → key → record
	nextID   int
	pageSize int
	latency  func(Call) time.Duration
	faults   []*faultState
	rng      *rand.Rand
	password string
	servers  []string
	tokenGen int
	revoked  bool
	stats    Stats
	active   int
	locks    map[string]int
	seq      int64
	log      []CallRecord
}

type stored struct {
	id  string
	rec schemas.Record // secrets included
}

// New returns an empty stub with no latency, no faults and pages of 50.
func New() *Adapter {
	return &Adapter{
		kinds:    schemas.MustLoad(Name),
		recs:     map[string]map[string]*stored{},
		pageSize: 50,
		servers:  []string{"pbx-1"},
		rng:      rand.New(rand.NewPCG(1, 2)),
		stats:    Stats{Calls: map[string]int{}},
		locks:    map[string]int{},
	}
}

func (a *Adapter) Name() string                { return Name }
func (a *Adapter) Kinds() *schemas.Set         { return a.kinds }
func (a *Adapter) kind(n string) *schemas.Kind { return a.kinds.Kind(n) }

func (a *Adapter) table(kind string) map[string]*stored {
	t := a.recs[kind]
	if t == nil {
		t = map[string]*stored{}
		a.recs[kind] = t
	}
	return t
}

func sortedKeys(t map[string]*stored) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func normalize(r schemas.Record) schemas.Record {
	return schemas.Record(schemas.Normalize(map[string]any(r.Clone())).(map[string]any))
}

// login checks the password and returns the current session generation.
func (a *Adapter) login(password string) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.Logins++
	if a.revoked {
		return 0, &adapters.Error{Class: adapters.Auth, Status: 401, Message: "credentials refused (revoked on the stub)"}
	}
	if a.password != "" && password != a.password {
		return 0, &adapters.Error{Class: adapters.Auth, Status: 401, Message: "wrong password for the stub"}
	}
	return a.tokenGen, nil
}

// errExpired says a session token is stale; clients log in again once.
var errExpired = &adapters.Error{Class: adapters.Auth, Status: 401, Message: "session expired"}

func (a *Adapter) checkSession(gen int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.revoked {
		return &adapters.Error{Class: adapters.Auth, Status: 401, Message: "credentials refused (revoked on the stub)"}
	}
	if gen != a.tokenGen {
		return errExpired
	}
	return nil
}

// begin brackets one request: counts it, tracks concurrency, applies the
// latency before the effect (all of it for reads, half for writes) and
// decides an injected fault. It returns the fault (nil for none) and a
// finish function that spends the rest of the latency and logs the call.
func (a *Adapter) begin(ctx context.Context, c Call, locks []string) (fault *Fault, finish func(landed bool, err error) error, err error) {
	a.mu.Lock()
	a.stats.Calls[c.Kind+"/"+c.Op]++
	a.active++
	a.stats.MaxConcurrency = max(a.stats.MaxConcurrency, a.active)
	for _, l := range locks {
		a.locks[l]++
		a.stats.MaxPerLock = max(a.stats.MaxPerLock, a.locks[l])
	}
	a.seq++
	idx := len(a.log)
	a.log = append(a.log, CallRecord{Call: c, Start: a.seq, Class: -1})
	var lat time.Duration
	if a.latency != nil {
		lat = a.latency(c)
	}
	fault = a.matchFault(c)
	a.mu.Unlock()

	before, after := lat, time.Duration(0)
	if c.Op == "create" || c.Op == "update" || c.Op == "delete" {
		before, after = lat/2, lat-lat/2
	}
	finish = func(landed bool, err error) error {
		if serr := wait.Sleep(ctx, after); serr != nil && landed {
			// The write landed but the caller gave up: it cannot know.
			err = &adapters.Error{Class: adapters.Unknown, Message: "gave up waiting for the answer", Err: serr}
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.active--
		for _, l := range locks {
			a.locks[l]--
		}
		a.seq++
		a.log[idx].End = a.seq
		a.log[idx].Landed = landed
		if err != nil {
			a.log[idx].Class = adapters.ClassOf(err)
		}
		return err
	}
	if serr := wait.Sleep(ctx, before); serr != nil {
		return nil, nil, finish(false, &adapters.Error{Class: adapters.Retryable, Message: "cancelled before sending", Err: serr})
	}
	return fault, finish, nil
}

func (a *Adapter) get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	k := a.kind(kind)
	if k == nil {
		return nil, adapters.Errorf(adapters.Permanent, "unknown kind %q", kind)
	}
	keyStr := k.KeyOf(key)
	fault, finish, err := a.begin(ctx, Call{Op: "get", Kind: k.Name, Key: keyStr}, nil)
	if err != nil {
		return nil, err
	}
	if fault != nil {
		return nil, finish(false, fault.err())
	}
	a.mu.Lock()
	s := a.recs[k.Name][keyStr]
	var out schemas.Record
	if s != nil {
		out = readBack(k, s.rec)
	}
	a.mu.Unlock()
	if s == nil {
		return nil, finish(false, &adapters.Error{Class: adapters.NotFound, Status: 404, Message: fmt.Sprintf("%s %q not found", k.Name, keyStr)})
	}
	return out, finish(false, nil)
}

// readBack is what a read returns: a copy without secrets, which a PBX never
// sends back.
func readBack(k *schemas.Kind, r schemas.Record) schemas.Record {
	out := r.Clone()
	for _, p := range k.SecretPaths() {
		out.Delete(p)
	}
	return out
}

// listPage returns up to one page of records with keys after `after`, and
// the cursor of the next page ("" at the end).
func (a *Adapter) listPage(ctx context.Context, kind, after string) ([]schemas.Record, string, error) {
	k := a.kind(kind)
	if k == nil {
		return nil, "", adapters.Errorf(adapters.Permanent, "unknown kind %q", kind)
	}
	fault, finish, err := a.begin(ctx, Call{Op: "list", Kind: k.Name}, nil)
	if err != nil {
		return nil, "", err
	}
	if fault != nil {
		return nil, "", finish(false, fault.err())
	}
	a.mu.Lock()
	t := a.recs[k.Name]
	keys := sortedKeys(t)
	i, _ := slices.BinarySearch(keys, after)
	if i < len(keys) && keys[i] == after {
		i++
	}
	end := min(len(keys), i+a.pageSize)
	page := make([]schemas.Record, 0, end-i)
	for _, key := range keys[i:end] {
		page = append(page, readBack(k, t[key].rec))
	}
	next := ""
	if end < len(keys) {
		next = keys[end-1]
	}
	a.mu.Unlock()
	return page, next, finish(false, nil)
}

func (a *Adapter) list(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	after := ""
	for {
		page, next, err := a.listPage(ctx, kind, after)
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

func (a *Adapter) apply(ctx context.Context, c adapters.Change) (adapters.Result, error) {
	k := a.kind(c.Kind)
	if k == nil {
		return adapters.Result{}, adapters.Errorf(adapters.Permanent, "unknown kind %q", c.Kind)
	}
	if c.Action != adapters.Create && c.Action != adapters.Update && c.Action != adapters.Delete {
		return adapters.Result{}, adapters.Errorf(adapters.Permanent, "unknown action %q", c.Action)
	}
	key := k.KeyOf(c.Record)
	fault, finish, err := a.begin(ctx, Call{Op: string(c.Action), Kind: k.Name, Key: key}, a.Locks(c))
	if err != nil {
		return adapters.Result{}, err
	}
	if fault != nil && !fault.Applied {
		return adapters.Result{}, finish(false, fault.err())
	}
	a.mu.Lock()
	id, err := a.write(k, key, c)
	if err == nil && k.Name == "phone" && c.Action != adapters.Delete && c.Record.String("owner") != "" {
		// The owner is written to make the link (see Locks), as on MX-ONE.
		a.stats.Calls["person/link"]++
	}
	a.mu.Unlock()
	landed := err == nil
	if fault != nil && landed {
		err = fault.err()
	}
	if err = finish(landed, err); err != nil {
		return adapters.Result{}, err
	}
	return adapters.Result{ID: id}, nil
}

// write performs one change on the state; a.mu is held.
func (a *Adapter) write(k *schemas.Kind, key string, c adapters.Change) (string, error) {
	for _, f := range k.Key {
		if c.Record.String(f) == "" {
			return "", &adapters.Error{Class: adapters.Permanent, Status: 400, Message: fmt.Sprintf("%s: key field %s is missing", k.Name, f)}
		}
	}
	t := a.table(k.Name)
	cur := t[key]
	switch c.Action {
	case adapters.Create:
		if cur != nil {
			a.stats.DuplicateCreates++
			return "", &adapters.Error{Class: adapters.Conflict, Status: 409, Message: fmt.Sprintf("%s %q already exists", k.Name, key)}
		}
		if err := a.checkRefs(k, key, c.Record); err != nil {
			return "", err
		}
		a.nextID++
		cur = &stored{id: k.Name + "-" + strconv.Itoa(a.nextID), rec: normalize(c.Record)}
		t[key] = cur
		a.stats.Creates++
	case adapters.Update:
		if cur == nil {
			return "", &adapters.Error{Class: adapters.NotFound, Status: 404, Message: fmt.Sprintf("%s %q not found", k.Name, key)}
		}
		if err := a.checkRefs(k, key, c.Record); err != nil {
			return "", err
		}
		next := normalize(c.Record)
		for _, p := range k.SecretPaths() { // an absent secret keeps its value
			if _, ok := next.Get(p); !ok {
				if v, ok := cur.rec.Get(p); ok {
					next.Set(p, v)
				}
			}
		}
		cur.rec = next
		a.stats.Updates++
	case adapters.Delete:
		if cur == nil {
			return "", &adapters.Error{Class: adapters.NotFound, Status: 404, Message: fmt.Sprintf("%s %q not found", k.Name, key)}
		}
		if by := a.referrer(k, key); by != "" {
			return "", &adapters.Error{Class: adapters.Permanent, Status: 409, Message: fmt.Sprintf("%s %q is still referenced by %s; delete or relink that first", k.Name, key, by)}
		}
		delete(t, key)
		a.stats.Deletes++
	}
	return cur.id, nil
}

// checkRefs refuses a record that names a record that does not exist, like
// a PBX that resolves names to ids.
func (a *Adapter) checkRefs(k *schemas.Kind, key string, r schemas.Record) error {
	for _, ref := range k.Refs {
		for _, n := range a.refKeys(r, ref) {
			if ref.Kind == k.Name && n == key {
				return &adapters.Error{Class: adapters.Permanent, Status: 400, Message: fmt.Sprintf("%s %q: %s cannot refer to itself", k.Name, key, ref.Field)}
			}
			if a.recs[ref.Kind][n] == nil {
				return &adapters.Error{Class: adapters.Permanent, Status: 400, Message: fmt.Sprintf("%s %q: %s %q does not exist (field %s)", k.Name, key, ref.Kind, n, ref.Field)}
			}
		}
	}
	return nil
}

// referrer returns a record that references kind/key ("phone 1001 / HQ"),
// or "".
func (a *Adapter) referrer(target *schemas.Kind, key string) string {
	for _, k := range a.kinds.Kinds {
		for _, ref := range k.Refs {
			if ref.Kind != target.Name {
				continue
			}
			t := a.recs[k.Name]
			for _, rk := range sortedKeys(t) {
				if slices.Contains(a.refKeys(t[rk].rec, ref), key) {
					return k.Name + " " + rk
				}
			}
		}
	}
	return ""
}

// refKeys returns the keys (as the referenced kind renders them) that r
// names through ref.
func (a *Adapter) refKeys(r schemas.Record, ref schemas.Ref) []string {
	t := a.kind(ref.Kind)
	var out []string
	for _, key := range ref.Keys(r) {
		out = append(out, t.KeyOf(key))
	}
	return out
}
