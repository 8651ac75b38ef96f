package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
)

// pacedTransport waits on the target's pacer once before every request
// and tells it what the answer said, so that the configured rate bounds
// requests (reads, writes and retries alike), throttling slows every
// caller, and an unreachable target pauses them all.
type pacedTransport struct {
	next http.RoundTripper
	p    adapters.Pacer
}

func (t *pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.p.Wait(req.Context()); err != nil {
		return nil, fmt.Errorf("not sent: %w", err)
	}
	resp, err := t.next.RoundTrip(req)
	var o adapters.Observation
	switch {
	case err != nil && req.Context().Err() != nil && !errors.As(err, new(*DeadlineError)):
		o.Abandoned = true
	case err != nil:
		o.Unreachable = true
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		o.Throttled = true
		o.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	t.p.Observe(o)
	return resp, err
}

// DeadlineError is a request cut off by its deadline.
type DeadlineError struct {
	Limit time.Duration
	Err   error
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("no answer within %s", e.Limit.Round(time.Millisecond))
}
func (e *DeadlineError) Unwrap() error { return e.Err }
func (e *DeadlineError) Timeout() bool { return true }

type patientKey struct{}

// Patient marks ctx's requests as ones whose answer may take much longer
// than the target's usual (an unpaged listing of everything): they get the
// configured timeout, not one fitted to the observed latency.
func Patient(ctx context.Context) context.Context {
	return context.WithValue(ctx, patientKey{}, true)
}

// deadlineTransport gives every request its deadline (see deadline) and
// learns from the time its answers take.
type deadlineTransport struct {
	next http.RoundTripper
	d    *deadline
}

func (t *deadlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	limit := t.d.max
	if req.Context().Value(patientKey{}) == nil {
		limit = t.d.limit(req.Method)
	}
	ctx, cancel := context.WithTimeout(req.Context(), limit)
	start := time.Now()
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded) && req.Context().Err() == nil
		cancel()
		if timedOut {
			t.d.timedOut(req.Method, limit)
			return nil, &DeadlineError{Limit: limit, Err: err}
		}
		return nil, err
	}
	t.d.observe(req.Method, time.Since(start))
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel, ctx: ctx, parent: req.Context(), limit: limit}
	return resp, nil
}

// cancelBody ends the request's deadline when the body is closed, and
// names a body cut off by it.
type cancelBody struct {
	io.ReadCloser
	cancel      context.CancelFunc
	ctx, parent context.Context
	limit       time.Duration
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && errors.Is(b.ctx.Err(), context.DeadlineExceeded) && b.parent.Err() == nil {
		err = &DeadlineError{Limit: b.limit, Err: err}
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// deadline fits per-request deadlines to the target's observed latency,
// per HTTP method (a target's writes are often slower than its reads): a
// request that times out after the configured 30 s holds a call slot for
// 30 s, while one cut at a few times the usual latency frees it at once to
// be retried (a read) or read back (a write). The estimate is TCP's
// retransmission timeout (RFC 6298: smoothed latency plus four deviations),
// times a safety factor, never under a floor: minRead for GET, minWrite for
// every other method (a write cut short is a write of unknown outcome: the
// runner reads it back, which is safe but costs requests, so a write gets
// more room than a read). Until a method has enough
// answers, ten times the latency of any answer seen, never under
// coldDeadline; before any answer, the configured timeout. Timeouts before
// the next answer double the deadline, once per level (a target that
// became slow is followed); it never exceeds the configured timeout.
type deadline struct {
	max time.Duration // the configured timeout
	all estimator     // every answer, for methods not yet warmed up
	mu  sync.Mutex
	by  map[string]*estimator
}

const (
	minRead      = 100 * time.Millisecond
	minWrite     = 500 * time.Millisecond
	hedgeFloor   = 50 * time.Millisecond
	coldDeadline = 2 * time.Second
	// warmup: answers of a method seen before its own estimate is trusted.
	warmup = 16
	safety = 3
)

func newDeadline(timeout time.Duration) *deadline {
	return &deadline{max: timeout, by: map[string]*estimator{}}
}

// limit returns the deadline of the next request of method.
func (d *deadline) limit(method string) time.Duration {
	e := d.estimator(method)
	e.mu.Lock()
	samples, srtt, rttvar, timeouts := e.samples, e.srtt, e.rttvar, e.timeouts
	e.mu.Unlock()
	floor := minWrite
	if method == http.MethodGet || method == http.MethodHead {
		floor = minRead
	}
	var l time.Duration
	switch {
	case samples >= warmup:
		l = max(safety*(srtt+4*rttvar), floor)
	default:
		d.all.mu.Lock()
		seen, any := d.all.samples, d.all.srtt
		d.all.mu.Unlock()
		if seen == 0 {
			return d.max
		}
		l = max(10*any, coldDeadline, floor)
	}
	return min(d.max, l<<min(timeouts, 10))
}

// hedgeAfter returns when a request of method is late enough to hedge:
// past its usual latency plus four deviations, twice its smoothed latency
// and hedgeFloor (so that a fast target's jitter does not double its
// load); false until the estimate is trusted.
func (d *deadline) hedgeAfter(method string) (time.Duration, bool) {
	e := d.estimator(method)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.samples < warmup {
		return 0, false
	}
	return max(e.srtt+4*e.rttvar, 2*e.srtt, hedgeFloor), true
}

func (d *deadline) observe(method string, rtt time.Duration) {
	d.estimator(method).observe(rtt)
	d.all.observe(rtt)
}

func (d *deadline) timedOut(method string, limit time.Duration) {
	d.estimator(method).timedOut(limit)
}

func (d *deadline) estimator(method string) *estimator {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.by[method]
	if e == nil {
		e = &estimator{}
		d.by[method] = e
	}
	return e
}

type estimator struct {
	mu           sync.Mutex
	srtt, rttvar time.Duration
	samples      int
	timeouts     int           // doublings since the last answer
	doubledAt    time.Duration // the deadline that was last doubled
}

func (e *estimator) observe(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.timeouts, e.doubledAt = 0, 0
	if e.samples == 0 {
		e.srtt, e.rttvar = d, d/2
	} else {
		dev := e.srtt - d
		if dev < 0 {
			dev = -dev
		}
		e.rttvar = (3*e.rttvar + dev) / 4
		e.srtt = (7*e.srtt + d) / 8
	}
	e.samples++
}

// timedOut doubles the deadline after a request cut at limit, once per
// level: requests in flight together that time out at the same deadline
// double it once, not once each (which would run it up to the configured
// timeout within a burst of timeouts).
func (e *estimator) timedOut(limit time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if limit > e.doubledAt {
		e.timeouts++
		e.doubledAt = limit
	}
}
