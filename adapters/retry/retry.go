// Package retry makes the reading side of a connection survive a target's
// transient faults: opening (logging in), Get and List are retried with
// backoff and jitter, honouring Retry-After, when the adapter classifies the
// failure as Retryable, Throttled or Unknown. Reads change nothing, so
// repeating them is always safe.
//
// Writes are not retried here: Apply passes straight through, because only
// the runner knows whether a write whose outcome is unknown must be read
// back first (batch/run).
package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/pace"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Options tune the retries. Zero values take the defaults noted.
type Options struct {
	// Attempts is the number of calls before giving up (default 6).
	Attempts int
	// Pacer supplies the backoff (default: pace.New with its defaults).
	// Pass the run's pacer so that a throttled read slows writes too.
	Pacer *pace.Pacer
	// Sleep waits between attempts; tests replace it. It must return
	// ctx's error when ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (o *Options) defaults() {
	if o.Attempts <= 0 {
		o.Attempts = 6
	}
	if o.Pacer == nil {
		o.Pacer = pace.New(pace.Config{})
	}
	if o.Sleep == nil {
		o.Sleep = pace.Sleep
	}
}

// transient reports whether a read that failed with err may succeed if
// tried again.
func transient(err error) bool {
	switch adapters.ClassOf(err) {
	case adapters.Retryable, adapters.Throttled, adapters.Unknown:
		return true
	}
	return false
}

// Do calls fn until it succeeds, fails for good, or runs out of attempts:
// the loop adapters use for their own idempotent requests (one GET of a
// listing made of many), where retrying the whole operation could never
// succeed against a target that fails a few requests in a hundred.
func Do(ctx context.Context, o Options, what string, fn func() error) error {
	o.defaults()
	return do(ctx, &o, what, fn)
}

func do(ctx context.Context, o *Options, what string, fn func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(); err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		if adapters.ClassOf(err) == adapters.Throttled {
			o.Pacer.Throttled()
		}
		if attempt >= o.Attempts {
			return fmt.Errorf("%s: gave up after %d attempts: %w", what, attempt, err)
		}
		if serr := o.Sleep(ctx, o.Pacer.Backoff(attempt, adapters.RetryAfterOf(err))); serr != nil {
			return err
		}
	}
}

// Open opens a connection to t, retrying transient failures (a login
// answered 503, a dropped connection), and returns it wrapped by Conn.
func Open(ctx context.Context, a adapters.Adapter, t adapters.Target, o Options) (adapters.Conn, error) {
	o.defaults()
	var c adapters.Conn
	err := do(ctx, &o, "connecting", func() error {
		var err error
		c, err = a.Open(ctx, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, o: o}, nil
}

// Conn wraps c so that its reads are retried.
func Conn(c adapters.Conn, o Options) adapters.Conn {
	o.defaults()
	return &conn{Conn: c, o: o}
}

// Unwrap returns the connection under a retrying one (or c itself), for the
// runner, which retries writes and read-backs on its own terms.
func Unwrap(c adapters.Conn) adapters.Conn {
	if r, ok := c.(*conn); ok {
		return r.Conn
	}
	return c
}

type conn struct {
	adapters.Conn
	o Options
}

func (c *conn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	var rec schemas.Record
	err := do(ctx, &c.o, "reading "+kind, func() error {
		var err error
		rec, err = c.Conn.Get(ctx, kind, key)
		return err
	})
	return rec, err
}

// List restarts a listing that failed part-way and skips the records it
// already delivered, so fn sees every record once. This relies on the
// adapter listing in a stable order, which every adapter's List promises
// (platform order by id or name).
func (c *conn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	delivered := 0
	var fnErr error
	err := do(ctx, &c.o, "listing "+kind, func() error {
		seen := 0
		err := c.Conn.List(ctx, kind, func(r schemas.Record) error {
			seen++
			if seen <= delivered {
				return nil
			}
			delivered++
			fnErr = fn(r)
			return fnErr
		})
		if fnErr != nil {
			return errStop // fn's own error is no target fault: never retried
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

var errStop = errors.New("listing stopped by its consumer")

var _ adapters.Conn = (*conn)(nil)
