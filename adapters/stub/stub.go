// Package stub is an in-memory PBX used by engine tests, benchmarks and the
// conformance suite's self-test. It never touches a network unless a test
// asks for it: Handler serves the same state over HTTP (loopback) so that a
// subprocess can apply against state that survives the subprocess being
// killed.
//
// Its kinds (schemas/stub) mirror a real PBX in miniature: site ← group
// (self-referencing parent) ← person (a list of groups, a secret PIN) ←
// phone (compound key number+site, owner → person). It behaves like a strict
// PBX: a create of an existing key is a Conflict, an update of a missing one
// is NotFound, a dangling reference is refused, a referenced record cannot be
// deleted, and secrets are never read back.
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

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/pace"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Name is the registry name of the stub adapter.
const Name = "stub"

// Compile-time checks of the optional capabilities.
var (
	_ adapters.Adapter = (*Adapter)(nil)
	_ adapters.Locker  = (*Adapter)(nil)
)

// Call names one request as the target sees it.
type Call struct {
	Op   string // "list", "get", "create", "update" or "delete"
	Kind string
	Key  string // the natural key ("" for list)
}

// CallRecord is one entry of the call log. Start and End are positions on
// one counter shared by all calls, so "A ended before B started" is
// A.End < B.Start, without relying on clocks.
type CallRecord struct {
	Call
	Start, End int64
	Landed     bool           // a write that changed the state
	Class      adapters.Class // -1 when the call succeeded
}

// Stats are the target-side counters.
type Stats struct {
	Calls            map[string]int // "phone/create" → count, every call including faulted ones
	Creates          int            // creates that landed
	Updates          int
	Deletes          int
	DuplicateCreates int // creates sent for a key that already existed
	Faults           int // injected faults
	Logins           int
	MaxConcurrency   int // most calls in progress at once
	// MaxPerLock is the most writes in progress at once that shared one of
	// the adapter's lock names (Locks); 1 means they were serialised.
	MaxPerLock int
}

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
		rng:      rand.New(rand.NewPCG(1, 2)),
		stats:    Stats{Calls: map[string]int{}},
		locks:    map[string]int{},
	}
}

func (a *Adapter) Name() string                { return Name }
func (a *Adapter) Kinds() *schemas.Set         { return a.kinds }
func (a *Adapter) kind(n string) *schemas.Kind { return a.kinds.Kind(n) }

// Open returns a connection to the in-memory state, or, when t.URL is set, a
// client of a stub served by Handler at that URL. A password set with
// SetPassword must match t.Password.
func (a *Adapter) Open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	if t.URL != "" {
		return dialHTTP(ctx, t)
	}
	c := &memConn{a: a, password: t.Password.Reveal()}
	gen, err := a.login(t.Password.Reveal())
	if err != nil {
		return nil, err
	}
	c.gen = gen
	if t.Pacer != nil {
		return pace.Operations(c, t.Pacer), nil
	}
	return c, nil
}

// Locks serialises writes that touch one person: a phone is linked to its
// owner by writing the owner, so two phones of one person must not be
// written at once (as on MX-ONE). Every change also locks its own record.
func (a *Adapter) Locks(c adapters.Change) []string {
	k := a.kind(c.Kind)
	if k == nil {
		return nil
	}
	out := []string{k.Name + "/" + k.KeyOf(c.Record)}
	if k.Name == "phone" {
		if owner := c.Record.String("owner"); owner != "" {
			out = append(out, "person/"+owner)
		}
	}
	return out
}

// SetLatency makes every call take d: reads before answering, writes half
// before the write lands and half after, so that a client giving up
// mid-call may or may not have written (as with a real PBX).
func (a *Adapter) SetLatency(d time.Duration) {
	a.SetLatencyFunc(func(Call) time.Duration { return d })
}

// SetLatencyFunc sets the latency per call; nil means none.
func (a *Adapter) SetLatencyFunc(f func(Call) time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.latency = f
}

// SetPageSize sets how many records one list call returns.
func (a *Adapter) SetPageSize(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pageSize = max(1, n)
}

// SetSeed reseeds the random source of probabilistic faults.
func (a *Adapter) SetSeed(seed uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// SetPassword makes Open (and re-login) require this password.
func (a *Adapter) SetPassword(p string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.password = p
}

// ExpireTokens invalidates every session: the next call of each connection
// must log in again (which succeeds unless RevokeAuth was called).
func (a *Adapter) ExpireTokens() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokenGen++
}

// RevokeAuth makes every call and login fail with class Auth (true) or
// lifts that (false).
func (a *Adapter) RevokeAuth(revoked bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revoked = revoked
	a.tokenGen++
}

// Stats returns a copy of the counters.
func (a *Adapter) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Calls = make(map[string]int, len(a.stats.Calls))
	for k, v := range a.stats.Calls {
		s.Calls[k] = v
	}
	return s
}

// ResetStats zeroes the counters and the call log (not the records).
func (a *Adapter) ResetStats() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats = Stats{Calls: map[string]int{}}
	a.log = nil
}

// Calls returns a copy of the call log, in start order.
func (a *Adapter) Calls() []CallRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.log)
}

// Put stores a record directly (test set-up): no latency, faults, counters
// or reference checks.
func (a *Adapter) Put(kind string, r schemas.Record) {
	k := a.kind(kind)
	if k == nil {
		panic("stub: unknown kind " + kind)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextID++
	a.table(k.Name)[k.KeyOf(r)] = &stored{id: k.Name + "-" + strconv.Itoa(a.nextID), rec: normalize(r)}
}

// Records returns the records of a kind sorted by key, secrets included
// (tests compare states with it; the connection never reveals secrets).
func (a *Adapter) Records(kind string) []schemas.Record {
	k := a.kind(kind)
	if k == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.recs[k.Name]
	out := make([]schemas.Record, 0, len(t))
	for _, key := range sortedKeys(t) {
		out = append(out, t[key].rec.Clone())
	}
	return out
}

// Dump returns every kind's records (see Records), by kind name.
func (a *Adapter) Dump() map[string][]schemas.Record {
	out := map[string][]schemas.Record{}
	for _, k := range a.kinds.Kinds {
		out[k.Name] = a.Records(k.Name)
	}
	return out
}

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
		if serr := pace.Sleep(ctx, after); serr != nil && landed {
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
	if serr := pace.Sleep(ctx, before); serr != nil {
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
		v, ok := r.Get(ref.Field)
		if !ok || v == nil {
			continue
		}
		var names []string
		if l, isList := v.([]any); isList {
			for _, x := range l {
				names = append(names, schemas.Text(x))
			}
		} else {
			names = []string{schemas.Text(v)}
		}
		for _, n := range names {
			if n == "" {
				continue
			}
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
				v, _ := t[rk].rec.Get(ref.Field)
				if l, ok := v.([]any); ok {
					for _, x := range l {
						if schemas.Text(x) == key {
							return k.Name + " " + rk
						}
					}
				} else if v != nil && schemas.Text(v) == key {
					return k.Name + " " + rk
				}
			}
		}
	}
	return ""
}

// memConn is a connection to the in-memory state. It logs in again by
// itself when its session has expired, like a real client would.
type memConn struct {
	a        *Adapter
	password string
	mu       sync.Mutex
	gen      int
}

func (c *memConn) session() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.a.checkSession(c.gen)
	if err != errExpired {
		return err
	}
	c.gen, err = c.a.login(c.password)
	return err
}

func (c *memConn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	if err := c.session(); err != nil {
		return err
	}
	return c.a.list(ctx, kind, fn)
}

func (c *memConn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	if err := c.session(); err != nil {
		return nil, err
	}
	return c.a.get(ctx, kind, key)
}

func (c *memConn) Apply(ctx context.Context, ch adapters.Change) (adapters.Result, error) {
	if err := c.session(); err != nil {
		return adapters.Result{}, err
	}
	return c.a.apply(ctx, ch)
}

func (c *memConn) Close() error { return nil }
