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

	"github.com/pbxbatch/pbxbatch/internal/wait"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/pace"
)

// Options tune the retries. Zero values take the defaults noted.
type Options struct {
	// Attempts is the number of calls before giving up (default 6).
	// Throttled answers that announce Retry-After do not count (see
	// MaxThrottled): the target said when to come back, and the pacer
	// already slows every request down.
	Attempts int
	// Pacer supplies the backoff (pass the target's); without one the
	// default backoff is used.
	Pacer *pace.Pacer
	// Sleep waits between attempts (default wait.Sleep); tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// MaxThrottled bounds the throttled answers with Retry-After that one
// request waits out without counting them as attempts, so that a target
// that throttles for ever still ends the request (after minutes).
const MaxThrottled = 100

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

// Told reports whether err is a throttled answer that says when to come
// back: waiting it out is not a failed attempt.
func Told(err error) bool {
	return adapters.ClassOf(err) == adapters.Throttled && adapters.RetryAfterOf(err) > 0
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
		sleep = wait.Sleep
	}
	for attempt, throttled := 1, 0; ; {
		err := fn()
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		if Told(err) && throttled < MaxThrottled {
			throttled++
		} else if attempt++; attempt > attempts {
			return fmt.Errorf("%s: gave up after %d attempts: %w", what, attempts, err)
		}
		if sleep(ctx, backoff.Backoff(attempt-1, adapters.RetryAfterOf(err))) != nil {
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
