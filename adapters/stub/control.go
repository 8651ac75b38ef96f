package stub

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// The test-facing controls of the stub: latency, sessions, counters, the
// call log and direct access to the state.

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
	Finishes   int // end-of-run steps run (each publishes to every server)
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

// SetServers sets the servers the end-of-run step publishes to (default
// one, "pbx-1").
func (a *Adapter) SetServers(names ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.servers = names
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

// Written counts the writes the stub has taken per kind they changed:
// creates, updates, deletes, batches, and the owner a phone write links
// (adaptertest.Config.Written).
func (a *Adapter) Written() map[string]int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int64{}
	for call, n := range a.stats.Calls {
		kind, op, _ := strings.Cut(call, "/")
		switch op {
		case "create", "update", "delete", "batch", "link":
			out[kind] += int64(n)
		}
	}
	return out
}
