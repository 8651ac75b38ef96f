package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// flaky lists n records and fails (with err) on the calls listed in failAt.
type flaky struct {
	adapters.Conn
	n      int
	calls  int
	failAt map[int]error // call number -> error, for Get and for each List record
	opens  int
}

func (f *flaky) fail() error {
	f.calls++
	return f.failAt[f.calls]
}

func (f *flaky) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return schemas.Record{"name": key.String("name")}, nil
}

func (f *flaky) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	for i := range f.n {
		if err := f.fail(); err != nil {
			return err
		}
		if err := fn(schemas.Record{"name": fmt.Sprint(i)}); err != nil {
			return err
		}
	}
	return nil
}

type opener struct{ f *flaky }

func (o opener) Name() string        { return "flaky" }
func (o opener) Kinds() *schemas.Set { return nil }
func (o opener) Open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	o.f.opens++
	if o.f.opens < 3 {
		return nil, &adapters.Error{Class: adapters.Throttled, Status: 503, RetryAfter: 2 * time.Second, Message: "busy"}
	}
	return o.f, nil
}

func noSleep(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(_ context.Context, d time.Duration) error { *waits = append(*waits, d); return nil }
}

func TestGetRetriesTransientButNotPermanent(t *testing.T) {
	var waits []time.Duration
	f := &flaky{failAt: map[int]error{
		1: adapters.Errorf(adapters.Retryable, "reset"),
		2: &adapters.Error{Class: adapters.Throttled, RetryAfter: 3 * time.Second},
	}}
	c := Conn(f, Options{Sleep: noSleep(&waits)})
	rec, err := c.Get(context.Background(), "k", schemas.Record{"name": "x"})
	if err != nil || rec.String("name") != "x" {
		t.Fatalf("Get = %v, %v", rec, err)
	}
	if len(waits) != 2 || waits[1] < 3*time.Second {
		t.Errorf("waits = %v, want two, the second honouring Retry-After 3s", waits)
	}

	f = &flaky{failAt: map[int]error{1: adapters.Errorf(adapters.NotFound, "no such")}}
	waits = nil
	_, err = Conn(f, Options{Sleep: noSleep(&waits)}).Get(context.Background(), "k", schemas.Record{})
	if !adapters.IsNotFound(err) || f.calls != 1 || len(waits) != 0 {
		t.Errorf("NotFound must not be retried: err %v, calls %d", err, f.calls)
	}
}

func TestGetGivesUp(t *testing.T) {
	var waits []time.Duration
	always := map[int]error{}
	for i := 1; i <= 10; i++ {
		always[i] = adapters.Errorf(adapters.Retryable, "down")
	}
	f := &flaky{failAt: always}
	_, err := Conn(f, Options{Attempts: 4, Sleep: noSleep(&waits)}).Get(context.Background(), "k", schemas.Record{})
	if err == nil || f.calls != 4 || adapters.ClassOf(err) != adapters.Retryable {
		t.Errorf("err %v after %d calls, want a retryable error after 4", err, f.calls)
	}
}

func TestListResumesWithoutRepeatingRecords(t *testing.T) {
	var waits []time.Duration
	// Records are calls 1..; fail at the 4th call (record 3), and again in
	// the second listing after it has re-walked what was delivered.
	f := &flaky{n: 6, failAt: map[int]error{
		4:  adapters.Errorf(adapters.Unknown, "connection dropped"),
		10: adapters.Errorf(adapters.Retryable, "502"),
	}}
	var got []string
	err := Conn(f, Options{Sleep: noSleep(&waits)}).List(context.Background(), "k", func(r schemas.Record) error {
		got = append(got, r.String("name"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4 5]" {
		t.Errorf("records = %v, want each of 0..5 once, in order", got)
	}
}

func TestListReturnsTheConsumersErrorUntouched(t *testing.T) {
	mine := errors.New("disk full")
	f := &flaky{n: 5, failAt: map[int]error{}}
	err := Conn(f, Options{}).List(context.Background(), "k", func(r schemas.Record) error { return mine })
	if err != mine || f.calls != 1 {
		t.Errorf("err = %v after %d calls, want the consumer's own error at once", err, f.calls)
	}
}

func TestOpenRetriesLogin(t *testing.T) {
	var waits []time.Duration
	f := &flaky{}
	c, err := Open(context.Background(), opener{f}, adapters.Target{}, Options{Sleep: noSleep(&waits)})
	if err != nil {
		t.Fatal(err)
	}
	if f.opens != 3 || len(waits) != 2 || waits[0] < 2*time.Second {
		t.Errorf("opens %d, waits %v: want 3 opens honouring Retry-After", f.opens, waits)
	}
	if Unwrap(c) != adapters.Conn(f) {
		t.Error("Unwrap does not return the adapter's connection")
	}
}
