// Package adaptertest is the conformance suite every adapter must pass
// against its simulator (see the checklist in package adapters):
//
//	func TestConformance(t *testing.T) {
//		sim := startSimulator(t)
//		adaptertest.Run(t, adaptertest.Config{
//			Adapter: mxone.New(), Target: sim.Target(),
//			Fixture: fixtures, ExpireAuth: sim.ExpireTokens,
//		})
//	}
//
// Per kind, in dependency order: create → Get → List contains it → update one
// field → Get sees it → duplicate create is Conflict → Get, update and
// delete of a missing key are NotFound → delete → gone. Then paging (more
// records than one page, each listed once), expired sessions (the adapter
// must log in again by itself), revoked credentials (class Auth), and
// finally the clean-up deletes everything in reverse dependency order.
// Throughout: references come back as names, secrets never come back in
// clear, every failure is an *adapters.Error of the right class, and the
// locks of a write (adapters.Locker) cover every referenced record it
// changes.
//
// With Config.Simulator, the fault mode follows, against fresh simulators:
// the pacer is waited on once per request and the transport hook sees each
// one; the suite passes through the standard retry and read-back harness
// (Retrying) under ReadFaults; and a create meeting each write fault sends
// one write request and fails with the class the runner needs (a dropped
// or timed-out write is Unknown).
package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Config describes the adapter under test.
type Config struct {
	Adapter adapters.Adapter
	Target  adapters.Target

	// Fixture returns a valid record of kind number i; distinct i give
	// distinct keys. References may only name Fixture(k, 0) of kinds that
	// come earlier in dependency order (or of the same kind, for i > 0):
	// the suite creates those first. Required.
	Fixture func(kind string, i int) schemas.Record
	// Update returns r with one field changed, for the update step. nil
	// picks the first plain text field (not key, reference, secret,
	// read-only, enum, pattern or format) and sets it to "conformance".
	Update func(kind string, r schemas.Record) schemas.Record
	// Kinds limits the suite to these kinds (default: every importable
	// kind). Kinds the adapter cannot create (Capabilities) are skipped.
	Kinds []string
	// Paging is how many records of PagingKind to create for the paging
	// check; pick more than one page of the simulator. 0 skips it.
	Paging     int
	PagingKind string // default: the first kind in dependency order
	// ExpireAuth ends the current session on the simulator; the adapter
	// must log in again by itself. nil skips the check.
	ExpireAuth func()
	// RevokeAuth makes the simulator refuse the credentials; every call
	// must then fail with class Auth. It runs last; RestoreAuth, when set,
	// is called after it. nil skips the check.
	RevokeAuth  func()
	RestoreAuth func()
	// Written, when set, reports how many writes the target has taken so
	// far per kind they changed (a simulator's request counters by route,
	// mapped to the kind each route writes). The suite then checks that a
	// write's locks name every other kind it wrote: MX-ONE links an
	// extension by writing its owner, which Get of the owner need not show.
	Written func() map[string]int64
	// Simulator, when set, starts fresh simulators for the fault mode
	// (see Simulator); every HTTP adapter sets it.
	Simulator Simulator
	// Timeout bounds the whole suite (default 2 minutes).
	Timeout time.Duration
}

// Run runs the suite as subtests of t.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	if cfg.Fixture == nil {
		t.Fatal("adaptertest: Config.Fixture is required")
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	kinds := selectKinds(t, cfg)
	conn, err := cfg.Adapter.Open(ctx, cfg.Target)
	if err != nil {
		t.Fatalf("Open(%s): %v", cfg.Target.URL, err)
	}
	defer conn.Close()
	s := &suite{cfg: cfg, conn: conn, ctx: ctx}

	var created []*schemas.Kind
	for _, k := range kinds {
		ok := t.Run(k.Name, func(t *testing.T) { s.kind(t, k) })
		if !ok {
			t.Fatalf("kind %s failed; later kinds depend on it", k.Name)
		}
		created = append(created, k)
	}
	if cfg.Paging > 0 {
		t.Run("paging", func(t *testing.T) { s.paging(t, kinds) })
	}
	if cfg.ExpireAuth != nil {
		t.Run("expired_session", func(t *testing.T) { s.expired(t, kinds[0]) })
	}
	t.Run("cleanup", func(t *testing.T) {
		for _, k := range slices.Backward(created) {
			s.mustDelete(t, k, cfg.Fixture(k.Name, 0))
		}
	})
	if cfg.RevokeAuth != nil {
		t.Run("revoked_credentials", func(t *testing.T) { s.revoked(t, kinds[0]) })
	}
	if cfg.Simulator != nil {
		t.Run("faults", func(t *testing.T) { s.faults(t, kinds) })
	}
}

type suite struct {
	cfg  Config
	conn adapters.Conn
	ctx  context.Context
}

func selectKinds(t *testing.T, cfg Config) []*schemas.Kind {
	t.Helper()
	order, err := cfg.Adapter.Kinds().Order()
	if err != nil {
		t.Fatalf("kinds of %s: %v", cfg.Adapter.Name(), err)
	}
	caps, _ := cfg.Adapter.(adapters.Capabilities)
	var out []*schemas.Kind
	for _, k := range order {
		if k.ReadOnly || (len(cfg.Kinds) > 0 && !slices.Contains(cfg.Kinds, k.Name)) {
			continue
		}
		if caps != nil && caps.Supports(k.Name, adapters.Create) != "" {
			continue
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		t.Fatalf("adaptertest: no importable kinds selected for %s", cfg.Adapter.Name())
	}
	return out
}

func (s *suite) supports(k *schemas.Kind, a adapters.Action) bool {
	caps, ok := s.cfg.Adapter.(adapters.Capabilities)
	return !ok || caps.Supports(k.Name, a) == ""
}

func (s *suite) kind(t *testing.T, k *schemas.Kind) {
	rec := s.cfg.Fixture(k.Name, 0)
	key := k.KeyRecord(rec)

	touched := s.referenced(t, k, rec)
	var written map[string]int64
	if s.cfg.Written != nil {
		written = s.cfg.Written()
	}
	s.mustApply(t, k, adapters.Create, rec, nil)
	create := adapters.Change{Kind: k.Name, Action: adapters.Create, Record: rec}
	s.locksCover(t, k, create, touched)
	if written != nil {
		s.locksCoverWrites(t, k, create, written)
	}
	got := s.mustGet(t, k, key)
	s.matches(t, k, "Get after create", rec, got)
	s.listed(t, k, rec)

	if s.supports(k, adapters.Update) {
		if upd := s.updated(k, rec); upd != nil {
			s.mustApply(t, k, adapters.Update, upd, got)
			s.matches(t, k, "Get after update", upd, s.mustGet(t, k, key))
			rec = upd
		} else {
			t.Logf("%s: no plain text field to update; set Config.Update", k.Name)
		}
	}

	_, err := s.conn.Apply(s.ctx, adapters.Change{Kind: k.Name, Action: adapters.Create, Record: rec})
	wantClass(t, err, adapters.Conflict, "duplicate create of %s %s", k.Name, k.KeyOf(rec))

	missing := s.cfg.Fixture(k.Name, 999_999)
	_, err = s.conn.Get(s.ctx, k.Name, k.KeyRecord(missing))
	wantClass(t, err, adapters.NotFound, "Get of missing %s %s", k.Name, k.KeyOf(missing))
	if s.supports(k, adapters.Update) {
		_, err = s.conn.Apply(s.ctx, adapters.Change{Kind: k.Name, Action: adapters.Update, Record: missing})
		wantClass(t, err, adapters.NotFound, "update of missing %s %s", k.Name, k.KeyOf(missing))
	}
	if s.supports(k, adapters.Delete) {
		_, err = s.conn.Apply(s.ctx, adapters.Change{Kind: k.Name, Action: adapters.Delete, Record: missing})
		wantClass(t, err, adapters.NotFound, "delete of missing %s %s", k.Name, k.KeyOf(missing))

		other := s.cfg.Fixture(k.Name, 1)
		s.mustApply(t, k, adapters.Create, other, nil)
		s.mustDelete(t, k, other)
		if _, err := s.conn.Get(s.ctx, k.Name, k.KeyRecord(rec)); err != nil {
			t.Errorf("deleting %s %s also removed %s: %v", k.Name, k.KeyOf(other), k.KeyOf(rec), err)
		}
	}
}

// referenced reads the records rec refers to, as they are before rec is
// written.
func (s *suite) referenced(t *testing.T, k *schemas.Kind, rec schemas.Record) map[string]schemas.Record {
	t.Helper()
	out := map[string]schemas.Record{}
	for _, ref := range k.Refs {
		target := s.cfg.Adapter.Kinds().Kind(ref.Kind)
		if target == nil || len(target.Key) != 1 {
			continue
		}
		for _, name := range listOf(rec, ref.Field) {
			key := schemas.Record{target.Key[0]: name}
			if r, err := s.conn.Get(s.ctx, target.Name, key); err == nil {
				out[target.Name+"/"+target.KeyOf(key)] = r
			}
		}
	}
	return out
}

// locksCover checks that the locks of a write name every referenced record
// the write changed (MX-ONE links an extension by updating its owner): the
// runner serialises writes on them. Its own record needs no lock: a plan
// holds one write per record.
func (s *suite) locksCover(t *testing.T, k *schemas.Kind, c adapters.Change, before map[string]schemas.Record) {
	t.Helper()
	var locks []string
	if l, ok := s.cfg.Adapter.(adapters.Locker); ok {
		locks = l.Locks(c)
	}
	for name, was := range before {
		kind, key, _ := strings.Cut(name, "/")
		now, err := s.conn.Get(s.ctx, kind, schemas.Record{s.cfg.Adapter.Kinds().Kind(kind).Key[0]: key})
		if err != nil || reflect.DeepEqual(schemas.Normalize(map[string]any(was)), schemas.Normalize(map[string]any(now))) {
			continue
		}
		if !slices.Contains(locks, name) {
			t.Errorf("%s %s %s changed %s, but its locks %q do not name it (implement adapters.Locker)", c.Action, k.Name, k.KeyOf(c.Record), name, locks)
		}
	}
}

// locksCoverWrites checks that the locks of a write name a record of every
// other kind the target counted a write of since before (Config.Written).
func (s *suite) locksCoverWrites(t *testing.T, k *schemas.Kind, c adapters.Change, before map[string]int64) {
	t.Helper()
	var locks []string
	if l, ok := s.cfg.Adapter.(adapters.Locker); ok {
		locks = l.Locks(c)
	}
	for kind, n := range s.cfg.Written() {
		if kind == k.Name || n <= before[kind] {
			continue
		}
		if !slices.ContainsFunc(locks, func(l string) bool { return strings.HasPrefix(l, kind+"/") }) {
			t.Errorf("%s %s %s also wrote a %s on the target, but its locks %q name none (implement adapters.Locker: two such writes must not interleave)", c.Action, k.Name, k.KeyOf(c.Record), kind, locks)
		}
	}
}

// listOf reads a field that holds one name or a list of them.
func listOf(r schemas.Record, path string) []string {
	v, ok := r.Get(path)
	if !ok {
		return nil
	}
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (s *suite) paging(t *testing.T, kinds []*schemas.Kind) {
	k := kinds[0]
	if s.cfg.PagingKind != "" {
		if k = s.cfg.Adapter.Kinds().Kind(s.cfg.PagingKind); k == nil {
			t.Fatalf("PagingKind %q is not a kind", s.cfg.PagingKind)
		}
	}
	want := map[string]bool{}
	var recs []schemas.Record
	for i := range s.cfg.Paging {
		r := s.cfg.Fixture(k.Name, 1000+i)
		s.mustApply(t, k, adapters.Create, r, nil)
		want[k.KeyOf(r)] = true
		recs = append(recs, r)
	}
	seen := map[string]int{}
	err := s.conn.List(s.ctx, k.Name, func(r schemas.Record) error {
		seen[k.KeyOf(r)]++
		return nil
	})
	if err != nil {
		t.Fatalf("List %s: %v", k.Name, err)
	}
	for key := range want {
		if seen[key] != 1 {
			t.Errorf("List %s returned %s %d times, want once", k.Name, key, seen[key])
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.conn.List(s.ctx, k.Name, func(schemas.Record) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List %s: fn's error must stop the listing and be returned; got %v after %d records", k.Name, err, calls)
	}
	if s.supports(k, adapters.Delete) {
		for _, r := range recs {
			s.mustDelete(t, k, r)
		}
	}
}

func (s *suite) expired(t *testing.T, k *schemas.Kind) {
	s.cfg.ExpireAuth()
	rec := s.cfg.Fixture(k.Name, 0)
	if _, err := s.conn.Get(s.ctx, k.Name, k.KeyRecord(rec)); err != nil {
		t.Errorf("Get after the session expired: %v (the adapter must log in again by itself)", err)
	}
}

func (s *suite) revoked(t *testing.T, k *schemas.Kind) {
	s.cfg.RevokeAuth()
	if s.cfg.RestoreAuth != nil {
		defer s.cfg.RestoreAuth()
	}
	rec := s.cfg.Fixture(k.Name, 0)
	_, err := s.conn.Get(s.ctx, k.Name, k.KeyRecord(rec))
	wantClass(t, err, adapters.Auth, "Get with revoked credentials")
	_, err = s.conn.Apply(s.ctx, adapters.Change{Kind: k.Name, Action: adapters.Create, Record: rec})
	wantClass(t, err, adapters.Auth, "create with revoked credentials")
}

func (s *suite) mustApply(t *testing.T, k *schemas.Kind, a adapters.Action, rec, before schemas.Record) {
	t.Helper()
	if _, err := s.conn.Apply(s.ctx, adapters.Change{Kind: k.Name, Action: a, Record: rec, Before: before}); err != nil {
		t.Fatalf("%s %s %s: %v", a, k.Name, k.KeyOf(rec), err)
	}
}

func (s *suite) mustGet(t *testing.T, k *schemas.Kind, key schemas.Record) schemas.Record {
	t.Helper()
	got, err := s.conn.Get(s.ctx, k.Name, key)
	if err != nil {
		t.Fatalf("Get %s %s: %v", k.Name, k.KeyOf(key), err)
	}
	if k.KeyOf(got) != k.KeyOf(key) {
		t.Fatalf("Get %s %s returned key %q", k.Name, k.KeyOf(key), k.KeyOf(got))
	}
	return got
}

func (s *suite) mustDelete(t *testing.T, k *schemas.Kind, rec schemas.Record) {
	t.Helper()
	if !s.supports(k, adapters.Delete) {
		return
	}
	s.mustApply(t, k, adapters.Delete, rec, nil)
	_, err := s.conn.Get(s.ctx, k.Name, k.KeyRecord(rec))
	wantClass(t, err, adapters.NotFound, "Get of deleted %s %s", k.Name, k.KeyOf(rec))
}

func (s *suite) listed(t *testing.T, k *schemas.Kind, want schemas.Record) {
	t.Helper()
	key := k.KeyOf(want)
	var found schemas.Record
	err := s.conn.List(s.ctx, k.Name, func(r schemas.Record) error {
		s.noSecrets(t, k, "List", want, r)
		if k.KeyOf(r) == key {
			found = r
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List %s: %v", k.Name, err)
	}
	if found == nil {
		t.Fatalf("List %s does not contain %s", k.Name, key)
	}
	s.matches(t, k, "List", want, found)
}

// matches checks that every field the fixture sets comes back as sent
// (references as names), except secrets, which must not come back in clear.
func (s *suite) matches(t *testing.T, k *schemas.Kind, what string, want, got schemas.Record) {
	t.Helper()
	s.noSecrets(t, k, what, want, got)
	if same, field := k.Matches(want, got); !same {
		wv, _ := want.Get(field)
		gv, _ := got.Get(field)
		t.Errorf("%s of %s %s: field %s = %v, want %v", what, k.Name, k.KeyOf(want), field, gv, wv)
	}
}

func (s *suite) noSecrets(t *testing.T, k *schemas.Kind, what string, sent, got schemas.Record) {
	t.Helper()
	for _, p := range k.SecretPaths() {
		if v := got.String(p); v != "" && v == sent.String(p) {
			t.Errorf("%s of %s %s returned secret field %s in clear", what, k.Name, k.KeyOf(got), p)
		}
	}
}

// updated returns rec with one field changed, or nil when there is none to
// change.
func (s *suite) updated(k *schemas.Kind, rec schemas.Record) schemas.Record {
	if s.cfg.Update != nil {
		return s.cfg.Update(k.Name, rec.Clone())
	}
	for _, f := range k.Fields {
		if f.Type != "string" || f.Secret || f.ReadOnly || f.Ref != nil || len(f.Enum) > 0 ||
			f.Pattern != "" || f.Format != "" || slices.Contains(k.Key, f.Path) {
			continue
		}
		out := rec.Clone()
		out.Set(f.Path, "conformance")
		return out
	}
	return nil
}

func wantClass(t *testing.T, err error, want adapters.Class, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	if err == nil {
		t.Errorf("%s: succeeded, want an error of class %s", what, want)
		return
	}
	var e *adapters.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: error %q (%T) is not an *adapters.Error", what, err, err)
		return
	}
	if e.Class != want {
		t.Errorf("%s: class %s (%v), want %s", what, e.Class, err, want)
	}
}

// Open opens a connection for a test and closes it when the test ends.
func Open(t testing.TB, a adapters.Adapter, target adapters.Target) adapters.Conn {
	t.Helper()
	c, err := a.Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
