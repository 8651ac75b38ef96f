package retry

import (
	"context"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func noSleep(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(_ context.Context, d time.Duration) error { *waits = append(*waits, d); return nil }
}

// failing returns fn that fails with errs in turn, then succeeds, and the
// count of its calls.
func failing(errs ...error) (func() error, *int) {
	calls := 0
	return func() error {
		calls++
		if calls <= len(errs) {
			return errs[calls-1]
		}
		return nil
	}, &calls
}

func TestDoRetriesTransientHonouringRetryAfter(t *testing.T) {
	var waits []time.Duration
	fn, calls := failing(
		adapters.Errorf(adapters.Retryable, "reset"),
		&adapters.Error{Class: adapters.Throttled, RetryAfter: 3 * time.Second},
		adapters.Errorf(adapters.Unknown, "dropped after sending a GET"),
	)
	if err := Do(context.Background(), Options{Sleep: noSleep(&waits)}, "GET /x", fn); err != nil {
		t.Fatal(err)
	}
	if *calls != 4 || len(waits) != 3 || waits[1] < 3*time.Second {
		t.Errorf("calls %d, waits %v: want 4 calls, the second wait honouring Retry-After 3s", *calls, waits)
	}
}

func TestDoDoesNotRetryWhatCannotChange(t *testing.T) {
	for _, c := range []adapters.Class{adapters.NotFound, adapters.Permanent, adapters.Conflict, adapters.Auth} {
		var waits []time.Duration
		fn, calls := failing(adapters.Errorf(c, "no"))
		err := Do(context.Background(), Options{Sleep: noSleep(&waits)}, "GET /x", fn)
		if adapters.ClassOf(err) != c || *calls != 1 || len(waits) != 0 {
			t.Errorf("%s: err %v after %d calls, want it returned at once", c, err, *calls)
		}
	}
}

func TestDoGivesUp(t *testing.T) {
	var waits []time.Duration
	errs := make([]error, 10)
	for i := range errs {
		errs[i] = adapters.Errorf(adapters.Retryable, "down")
	}
	fn, calls := failing(errs...)
	err := Do(context.Background(), Options{Attempts: 4, Sleep: noSleep(&waits)}, "GET /x", fn)
	if err == nil || *calls != 4 || adapters.ClassOf(err) != adapters.Retryable {
		t.Errorf("err %v after %d calls, want a retryable error after 4", err, *calls)
	}
}

type opener struct{ opens int }

func (o *opener) Name() string        { return "flaky" }
func (o *opener) Kinds() *schemas.Set { return nil }
func (o *opener) Open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	o.opens++
	if o.opens < 3 {
		return nil, &adapters.Error{Class: adapters.Throttled, Status: 503, RetryAfter: 2 * time.Second, Message: "busy"}
	}
	return nil, nil
}

func TestOpenRetriesLogin(t *testing.T) {
	var waits []time.Duration
	o := &opener{}
	if _, err := Open(context.Background(), o, adapters.Target{}, Options{Sleep: noSleep(&waits)}); err != nil {
		t.Fatal(err)
	}
	if o.opens != 3 || len(waits) != 2 || waits[0] < 2*time.Second {
		t.Errorf("opens %d, waits %v: want 3 opens honouring Retry-After", o.opens, waits)
	}
}

func TestThrottledWithRetryAfterUsesNoAttempt(t *testing.T) {
	told := &adapters.Error{Class: adapters.Throttled, Status: 429, RetryAfter: time.Second}
	var waits []time.Duration
	fn, calls := failing(told, told, told, told, told, adapters.Errorf(adapters.Retryable, "reset"))
	if err := Do(context.Background(), Options{Attempts: 2, Sleep: noSleep(&waits)}, "GET /x", fn); err != nil {
		t.Fatalf("5 throttled answers with Retry-After and one reset, 2 attempts: %v; want success", err)
	}
	if *calls != 7 {
		t.Errorf("calls %d, want 7", *calls)
	}
	bare := &adapters.Error{Class: adapters.Throttled, Status: 429}
	fn, calls = failing(bare, bare, bare)
	if err := Do(context.Background(), Options{Attempts: 2, Sleep: noSleep(&waits)}, "GET /x", fn); err == nil || *calls != 2 {
		t.Errorf("throttled without Retry-After: err %v after %d calls, want giving up after 2", err, *calls)
	}
}
