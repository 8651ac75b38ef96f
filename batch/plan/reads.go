package plan

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Reads tune how the planner (and CheckStale) read the target. Zero values
// are sensible defaults.
type Reads struct {
	// Concurrency caps reads in flight; 0 means 8.
	Concurrency int
	// Limiter, when set, paces reads (one Wait per Get and per List): a
	// *rate.Limiter, or the runner's pacer, so that planning respects the
	// target's rate too.
	Limiter Limiter
	// ListThreshold: a kind with at least this many keys to read is read
	// with one List instead of a Get per key. 0 means 500; negative means
	// never list.
	ListThreshold int
	// Progress, when set, is told how many of the records to read have
	// been read (done of total), after each; calls never overlap.
	Progress func(done, total int)
}

// Limiter is what paces reads; *rate.Limiter implements it.
type Limiter interface {
	Wait(ctx context.Context) error
}

var _ Limiter = (*rate.Limiter)(nil)

// defaultListThreshold is where listing a whole kind starts to pay. A Get
// costs one request per key; a List costs one request per page of the whole
// kind, and platforms page by 100 to 1,000 records. Without a cheap way to
// know a kind's size on the target, 500 keys means a List is cheaper for any
// kind under 50,000 records at the smallest common page size, while a
// workbook touching a handful of records on a big PBX still costs only a
// handful of Gets (rate-limit budget is what a run is bounded by).
const defaultListThreshold = 500

// liveState is what the target holds for the keys read: kind → key →
// record, with nil for "read, not there".
type liveState map[string]map[string]schemas.Record

func (s liveState) lookup(kind, key string) (schemas.Record, bool) {
	r := s[kind][key]
	return r, r != nil
}

// readState reads the wanted keys of each kind. NotFound means absent; any
// other failure stops the read and names the record and target.
func readState(ctx context.Context, conn adapters.Conn, o Reads, target string, want map[*schemas.Kind]map[string]schemas.Record) (liveState, error) {
	conc := o.Concurrency
	if conc <= 0 {
		conc = 8
	}
	threshold := o.ListThreshold
	if threshold == 0 {
		threshold = defaultListThreshold
	}
	state := liveState{}
	var mu sync.Mutex
	store := func(kind, key string, r schemas.Record) {
		mu.Lock()
		defer mu.Unlock()
		m := state[kind]
		if m == nil {
			m = map[string]schemas.Record{}
			state[kind] = m
		}
		m[key] = r
	}
	wait := func(ctx context.Context) error {
		if o.Limiter == nil {
			return nil
		}
		return o.Limiter.Wait(ctx)
	}
	where := ""
	if target != "" {
		where = " from target " + target
	}
	total, done := 0, 0
	for _, keys := range want {
		total += len(keys)
	}
	read := func(n int) {
		if o.Progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		done += n
		o.Progress(done, total)
	}

	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	// Kinds and keys in a fixed order: reads are observable (call logs,
	// rate limits), and a reproducible sequence makes them easier to trace.
	kinds := make([]*schemas.Kind, 0, len(want))
	for k := range want {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b *schemas.Kind) int { return cmp.Compare(a.Name, b.Name) })
	for _, k := range kinds {
		keys := want[k]
		names := make([]string, 0, len(keys))
		for key := range keys {
			names = append(names, key)
			store(k.Name, key, nil)
		}
		slices.Sort(names)
		if threshold > 0 && len(keys) >= threshold {
			g.Go(func() error {
				if err := wait(ctx); err != nil {
					return err
				}
				err := conn.List(ctx, k.Name, func(r schemas.Record) error {
					r = normalized(r)
					if key := k.KeyOf(r); hasKey(keys, key) {
						store(k.Name, key, r)
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("listing %s%s: %w", k.Plural, where, err)
				}
				read(len(keys))
				return nil
			})
			continue
		}
		for _, key := range names {
			g.Go(func() error {
				if err := wait(ctx); err != nil {
					return err
				}
				r, err := conn.Get(ctx, k.Name, keys[key])
				if err == nil || adapters.IsNotFound(err) {
					read(1)
				}
				switch {
				case adapters.IsNotFound(err):
					return nil
				case err != nil:
					return fmt.Errorf("reading %s %q%s: %w", k.Name, key, where, err)
				case r == nil: // an adapter that answers "nothing" without an error
					return nil
				}
				store(k.Name, key, normalized(r))
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return state, nil
}

func hasKey(m map[string]schemas.Record, key string) bool {
	_, ok := m[key]
	return ok
}
