// Package retry makes reads survive a target's transient faults: Do retries
// one idempotent request with backoff and jitter, honouring Retry-After, when
// the adapter classifies its failure as Retryable, Throttled or Unknown;
// Open does the same for logging in. Adapters call Do for every read they
// send, request by request: a listing made of many requests (MX-ONE has one
// GET per extension) could never succeed if it were retried as a whole.
//
// Writes are never retried here: only the runner knows whether a write whose
// outcome is unknown must be read back first (batch/run).
package retry

import (
	"context"
	"fmt"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/pace"
)

// Options tune the retries. Zero values take the defaults noted.
type Options struct {
	// Attempts is the number of calls before giving up (default 6).
	Attempts int
	// Pacer supplies the backoff and hears when the target throttles;
	// pass the target's pacer so that a throttled read slows writes too.
	// Without one, only the default backoff is used.
	Pacer *pace.Pacer
	// Sleep waits between attempts (default pace.Sleep); tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// defaultBackoff serves callers without a pacer: only its Backoff is used,
// so sharing it changes nothing's rate.
var defaultBackoff = pace.New(pace.Config{})

// transient reports whether a read that failed with err may succeed if
// tried again.
func transient(err error) bool {
	switch adapters.ClassOf(err) {
	case adapters.Retryable, adapters.Throttled, adapters.Unknown:
		return true
	}
	return false
}

// Do calls fn until it succeeds, fails for good, or runs out of attempts.
// Use it for one idempotent request.
func Do(ctx context.Context, o Options, what string, fn func() error) error {
	attempts, backoff, sleep := o.Attempts, o.Pacer, o.Sleep
	if attempts <= 0 {
		attempts = 6
	}
	if backoff == nil {
		backoff = defaultBackoff
	}
	if sleep == nil {
		sleep = pace.Sleep
	}
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		if o.Pacer != nil && adapters.ClassOf(err) == adapters.Throttled {
			o.Pacer.Throttled()
		}
		if attempt >= attempts {
			return fmt.Errorf("%s: gave up after %d attempts: %w", what, attempt, err)
		}
		if sleep(ctx, backoff.Backoff(attempt, adapters.RetryAfterOf(err))) != nil {
			return err
		}
	}
}

// Open opens a connection to t, retrying transient failures (a login
// answered 503, a dropped connection).
func Open(ctx context.Context, a adapters.Adapter, t adapters.Target, o Options) (adapters.Conn, error) {
	var c adapters.Conn
	err := Do(ctx, o, "connecting", func() error {
		var err error
		c, err = a.Open(ctx, t)
		return err
	})
	return c, err
}
