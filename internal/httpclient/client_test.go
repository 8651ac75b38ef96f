package httpclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
)

type countingPacer struct {
	mu      sync.Mutex
	waits   int
	answers []adapters.Observation
}

func (p *countingPacer) Wait(ctx context.Context) error {
	p.mu.Lock()
	p.waits++
	p.mu.Unlock()
	return ctx.Err()
}

func (p *countingPacer) Observe(o adapters.Observation) {
	p.mu.Lock()
	p.answers = append(p.answers, o)
	p.mu.Unlock()
}

func get(t *testing.T, c *httpclient.Client, url string, effect httpclient.Effect) error {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(req, effect, "GET /x")
	return err
}

func TestPacerWaitedOncePerRequestAndTold(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/busy":
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/drop":
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			io.WriteString(w, "{}")
		}
	}))
	defer srv.Close()
	p := &countingPacer{}
	var hooked atomic.Int32
	c := httpclient.New(adapters.Target{Pacer: p, WrapTransport: func(next http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) { hooked.Add(1); return next.RoundTrip(r) })
	}})
	defer c.Close()
	if err := get(t, c, srv.URL+"/ok", httpclient.Read); err != nil {
		t.Fatal(err)
	}
	err := get(t, c, srv.URL+"/busy", httpclient.Read)
	if adapters.ClassOf(err) != adapters.Throttled || adapters.RetryAfterOf(err) != 2*time.Second {
		t.Errorf("429: %v, want throttled with Retry-After 2s", err)
	}
	if err := get(t, c, srv.URL+"/drop", httpclient.Write); adapters.ClassOf(err) != adapters.Unknown {
		t.Errorf("write dropped after sending: %v, want unknown", err)
	}
	want := []adapters.Observation{{}, {Throttled: true, RetryAfter: 2 * time.Second}, {Unreachable: true}}
	if p.waits != 3 || len(p.answers) != 3 || p.answers[0] != want[0] || p.answers[1] != want[1] || p.answers[2] != want[2] {
		t.Fatalf("waits %d, observations %+v; want 3 waits and %+v", p.waits, p.answers, want)
	}
	if hooked.Load() != 3 {
		t.Errorf("transport hook saw %d requests, want 3", hooked.Load())
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHookAndNoRedirectsWithAGivenClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example/login?token=x", http.StatusMovedPermanently)
	}))
	defer srv.Close()
	given := srv.Client()
	var hooked atomic.Int32
	c := httpclient.New(adapters.Target{HTTPClient: given, WrapTransport: func(next http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) { hooked.Add(1); return next.RoundTrip(r) })
	}})
	err := get(t, c, srv.URL, httpclient.Read)
	if adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), `"https://elsewhere.example/login"`) {
		t.Errorf("301: %v, want a permanent error naming the Location without its query", err)
	}
	if hooked.Load() != 1 || given.CheckRedirect != nil {
		t.Errorf("hook saw %d requests (want 1); the given client must be left as it was", hooked.Load())
	}
}

func TestDeadlineFitsObservedLatency(t *testing.T) {
	var hang atomic.Bool
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang.Load() {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	defer close(release)
	const configured = time.Minute
	c := httpclient.New(adapters.Target{Timeout: configured})
	defer c.Close()
	for range 40 {
		if err := get(t, c, srv.URL, httpclient.Read); err != nil {
			t.Fatal(err)
		}
	}
	hang.Store(true)
	err := get(t, c, srv.URL, httpclient.Read)
	var de *httpclient.DeadlineError
	if !errors.As(err, &de) || de.Limit >= configured || adapters.ClassOf(err) != adapters.Retryable {
		t.Fatalf("a hanging read after 40 quick answers: %v; want it cut (retryable) at a deadline fitted to the latency, not the configured %s", err, configured)
	}
	// A request marked patient waits for the configured timeout: cancel it
	// instead, and check it was not cut first.
	ctx, cancel := context.WithTimeout(httpclient.Patient(context.Background()), 3*de.Limit)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := c.Do(req, httpclient.Read, "GET /all"); errors.As(err, &de) {
		t.Fatalf("a patient request was cut at %s", de.Limit)
	}
}

func TestLateReadsAreHedgedWritesNever(t *testing.T) {
	var stalls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices a client that gives up
		if r.URL.Path == "/stall" && stalls.Add(1) == 1 {
			<-r.Context().Done() // the first copy never answers
			return
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	c := httpclient.New(adapters.Target{Timeout: time.Minute})
	defer c.Close()
	for range 20 {
		if err := get(t, c, srv.URL+"/quick", httpclient.Read); err != nil {
			t.Fatal(err)
		}
	}
	if err := get(t, c, srv.URL+"/stall", httpclient.Read); err != nil || stalls.Load() != 2 {
		t.Fatalf("a read whose first copy stalled: %v after %d copies; want the hedge's answer", err, stalls.Load())
	}
	stalls.Store(0)
	for range 20 {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/quick", strings.NewReader("{}"))
		if _, err := c.Do(req, httpclient.Write, "POST /quick"); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/stall", strings.NewReader("{}"))
	_, err := c.Do(req, httpclient.Write, "POST /stall")
	if adapters.ClassOf(err) != adapters.Unknown || stalls.Load() != 1 {
		t.Fatalf("a stalled write: %v after %d copies; want one copy, cut by its deadline, unknown", err, stalls.Load())
	}
}
