package simkit

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// app is a tiny simulator: GET /items reads, POST /items creates.
type app struct {
	creates atomic.Int64
	resets  atomic.Int64
	stats   *Stats
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		a.creates.Add(1)
		if a.stats != nil {
			a.stats.Created("item")
		}
		w.WriteHeader(http.StatusCreated)
		return
	}
	WriteJSON(w, http.StatusOK, []string{"a"})
}

func (a *app) Route(r *http.Request) Route {
	if r.Method == http.MethodPost {
		return Route{Name: "POST /items", Class: ClassWrite}
	}
	return Route{Name: "GET /items", Class: ClassRead}
}

func (a *app) Reset() { a.resets.Add(1) }

func serve(t *testing.T, o Options) (*app, *Stats, *Server) {
	t.Helper()
	a := &app{}
	st := &Stats{}
	a.stats = st
	srv, err := Start("127.0.0.1:0", Wrap(a, o, st), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return a, st, srv
}

func do(t *testing.T, c *http.Client, method, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestPassThroughCountsRoutes(t *testing.T) {
	a, st, srv := serve(t, Options{})
	c := srv.Client()
	for range 3 {
		if resp, err := do(t, c, "GET", srv.URL+"/items"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET: %v %v", resp, err)
		}
	}
	if resp, err := do(t, c, "POST", srv.URL+"/items"); err != nil || resp.StatusCode != 201 {
		t.Fatalf("POST: %v %v", resp, err)
	}
	snap := st.Snapshot()
	if snap.Requests["GET /items"] != 3 || snap.Requests["POST /items"] != 1 {
		t.Errorf("requests = %v", snap.Requests)
	}
	if snap.Creates["item"] != 1 || a.creates.Load() != 1 {
		t.Errorf("creates = %v, handler saw %d", snap.Creates, a.creates.Load())
	}
	if snap.TotalFaults() != 0 || snap.RateLimited != 0 {
		t.Errorf("unexpected faults %v / limited %d", snap.Faults, snap.RateLimited)
	}
}

func TestFaultBeforeDoesNotReachHandler(t *testing.T) {
	for _, tc := range []struct {
		fault      string
		status     int
		retryAfter string
	}{
		{"429", 429, "1"},
		{"503", 503, "1"},
		{"500", 500, ""},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			faults, _ := ParseFaults(tc.fault)
			a, st, srv := serve(t, Options{FaultRate: 1, Faults: faults})
			resp, err := do(t, srv.Client(), "POST", srv.URL+"/items")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || resp.Header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("status %d Retry-After %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), tc.status, tc.retryAfter)
			}
			if a.creates.Load() != 0 {
				t.Error("a fault before the handler applied the create")
			}
			if got := st.Snapshot().Faults[tc.fault]; got != 1 {
				t.Errorf("faults[%s] = %d", tc.fault, got)
			}
		})
	}
}

func TestFaultAfterAppliesButFails(t *testing.T) {
	faults, _ := ParseFaults("write/500@after")
	a, st, srv := serve(t, Options{FaultRate: 1, Faults: faults})
	c := srv.Client()
	resp, err := do(t, c, "POST", srv.URL+"/items")
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("POST: %v %v, want 500", resp, err)
	}
	if a.creates.Load() != 1 || st.Snapshot().Creates["item"] != 1 {
		t.Error("an after-fault must let the create land")
	}
	// Reads are not in the fault's class.
	if resp, err := do(t, c, "GET", srv.URL+"/items"); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET under a write-only fault: %v %v", resp, err)
	}
	if got := st.Snapshot().Faults["write/500@after"]; got != 1 {
		t.Errorf("faults = %v", st.Snapshot().Faults)
	}
}

func TestDropClosesConnection(t *testing.T) {
	for _, spec := range []string{"drop", "drop@after"} {
		t.Run(spec, func(t *testing.T) {
			faults, _ := ParseFaults(spec)
			a, _, srv := serve(t, Options{FaultRate: 1, Faults: faults})
			_, err := do(t, srv.Client(), "POST", srv.URL+"/items")
			if err == nil {
				t.Fatal("dropped connection gave a response")
			}
			want := int64(0)
			if strings.HasSuffix(spec, "@after") {
				want = 1
			}
			if a.creates.Load() != want {
				t.Errorf("creates = %d, want %d", a.creates.Load(), want)
			}
		})
	}
}

func TestTimeoutHoldsUntilClientGivesUp(t *testing.T) {
	faults, _ := ParseFaults("timeout")
	// The hold is far longer than the client's patience; the client must
	// time out, and Close must not wait for the hold.
	_, _, srv := serve(t, Options{FaultRate: 1, Faults: faults, TimeoutHold: time.Hour})
	c := srv.Client()
	c.Timeout = 50 * time.Millisecond
	_, err := do(t, c, "GET", srv.URL+"/items")
	var ue interface{ Timeout() bool }
	if !errors.As(err, &ue) || !ue.Timeout() {
		t.Fatalf("err = %v, want a client timeout", err)
	}
}

func TestTimeoutAnswers504AfterHold(t *testing.T) {
	faults, _ := ParseFaults("timeout@after")
	var held []time.Duration
	var mu sync.Mutex
	sleep := func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		held = append(held, d)
		mu.Unlock()
		return nil
	}
	a, _, srv := serve(t, Options{FaultRate: 1, Faults: faults, TimeoutHold: 7 * time.Second, Sleep: sleep})
	resp, err := do(t, srv.Client(), "POST", srv.URL+"/items")
	if err != nil || resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("%v %v, want 504", resp, err)
	}
	if a.creates.Load() != 1 {
		t.Error("timeout@after must apply the create")
	}
	if !reflect.DeepEqual(held, []time.Duration{0, 7 * time.Second}) {
		t.Errorf("sleeps = %v, want [0 (latency) 7s (hold)]", held)
	}
}

func TestFaultSequenceIsDeterministic(t *testing.T) {
	run := func(seed int64) []int {
		h := Wrap(&app{}, Options{FaultRate: 0.3, Faults: []Fault{{Kind: Fault500}, {Kind: Fault503}}, FaultSeed: seed}, nil)
		var codes []int
		for range 200 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/items", nil))
			codes = append(codes, rec.Code)
		}
		return codes
	}
	a, b, other := run(42), run(42), run(43)
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed gave different fault sequences")
	}
	if reflect.DeepEqual(a, other) {
		t.Error("different seeds gave the same fault sequence")
	}
	var faults int
	for _, c := range a {
		if c != 200 {
			faults++
		}
	}
	// 30 % of 200 draws: anything outside 30..90 means the rate is ignored.
	if faults < 30 || faults > 90 {
		t.Errorf("%d faults in 200 requests at rate 0.3", faults)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	st := &Stats{}
	h := Wrap(&app{}, Options{RateLimit: 2, Now: clock}, st)
	code := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/items", nil))
		return rec
	}
	for i := range 2 {
		if rec := code(); rec.Code != 200 {
			t.Fatalf("request %d within the burst: %d", i, rec.Code)
		}
	}
	rec := code()
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the limit: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	now = now.Add(time.Second)
	if rec := code(); rec.Code != 200 {
		t.Errorf("after a second: %d", rec.Code)
	}
	if st.Snapshot().RateLimited != 1 {
		t.Errorf("rateLimited = %d", st.Snapshot().RateLimited)
	}
}

func TestLatencyAndJitter(t *testing.T) {
	var got []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error { got = append(got, d); return nil }
	h := Wrap(&app{}, Options{Latency: 20 * time.Millisecond, LatencyJitter: 5 * time.Millisecond, Sleep: sleep}, nil)
	for range 50 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items", nil))
	}
	distinct := map[time.Duration]bool{}
	for _, d := range got {
		if d < 20*time.Millisecond || d > 25*time.Millisecond {
			t.Fatalf("latency %v outside 20ms..25ms", d)
		}
		distinct[d] = true
	}
	if len(got) != 50 || len(distinct) < 10 {
		t.Errorf("%d sleeps, %d distinct: jitter not applied", len(got), len(distinct))
	}
}

func TestMaxInFlight(t *testing.T) {
	const n = 8
	var arrived sync.WaitGroup
	arrived.Add(n)
	release := make(chan struct{})
	blocking := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release
	})
	st := &Stats{}
	srv, err := Start("127.0.0.1:0", Wrap(blocking, Options{}, st), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var done sync.WaitGroup
	for range n {
		done.Go(func() { do(t, srv.Client(), "GET", srv.URL+"/x") })
	}
	arrived.Wait()
	if got := st.Snapshot().InFlight; got != n {
		t.Errorf("inFlight = %d, want %d", got, n)
	}
	close(release)
	done.Wait()
	snap := st.Snapshot()
	if snap.MaxInFlight != n || snap.InFlight != 0 || snap.Requests["GET /x"] != n {
		t.Errorf("max %d in flight %d requests %v", snap.MaxInFlight, snap.InFlight, snap.Requests)
	}
}

func TestControlEndpoints(t *testing.T) {
	a := &app{}
	st := &Stats{}
	// Every request faulted and a rate limit of 1: /_sim/ must be exempt.
	h := Wrap(a, Options{FaultRate: 1, Faults: []Fault{{Kind: Fault500}}, RateLimit: 1}, st)
	call := func(method, path, remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	call("GET", "/items", "127.0.0.1:5000")
	for range 3 {
		rec := call("GET", "/_sim/stats", "127.0.0.1:5000")
		if rec.Code != 200 {
			t.Fatalf("stats: %d", rec.Code)
		}
		var snap StatsSnapshot
		if err := json.Unmarshal(rec.Body.Bytes(), &snap); err != nil {
			t.Fatal(err)
		}
		if snap.Requests["GET /items"] != 1 || snap.Faults["500"] != 1 {
			t.Errorf("stats = %+v", snap)
		}
	}
	if rec := call("GET", "/_sim/stats", "[::1]:5000"); rec.Code != 200 {
		t.Errorf("IPv6 loopback: %d", rec.Code)
	}
	if rec := call("GET", "/_sim/stats", "192.168.1.20:5000"); rec.Code != 403 {
		t.Errorf("LAN client: %d, want 403", rec.Code)
	}
	if rec := call("POST", "/_sim/reset", "192.168.1.20:5000"); rec.Code != 403 || a.resets.Load() != 0 {
		t.Errorf("LAN reset: %d, resets %d", rec.Code, a.resets.Load())
	}
	if rec := call("GET", "/_sim/reset", "127.0.0.1:1"); rec.Code != 405 {
		t.Errorf("GET reset: %d, want 405", rec.Code)
	}
	if rec := call("POST", "/_sim/reset", "127.0.0.1:1"); rec.Code != 204 {
		t.Errorf("reset: %d", rec.Code)
	}
	if a.resets.Load() != 1 {
		t.Error("reset hook not called")
	}
	if snap := st.Snapshot(); snap.TotalRequests() != 0 || snap.TotalFaults() != 0 {
		t.Errorf("after reset: %+v", snap)
	}
}

type envelopeApp struct{ app }

func (e *envelopeApp) WriteFault(w http.ResponseWriter, r *http.Request, status int, msg string) {
	WriteJSON(w, status, map[string]any{"errorCode": status, "errorMsg": msg})
}

func TestFaultWriterEnvelope(t *testing.T) {
	h := Wrap(&envelopeApp{}, Options{FaultRate: 1, Faults: []Fault{{Kind: Fault503}}}, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/items", nil))
	var body struct {
		ErrorCode int    `json:"errorCode"`
		ErrorMsg  string `json:"errorMsg"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.ErrorCode != 503 || body.ErrorMsg == "" {
		t.Errorf("body %s (%v)", rec.Body, err)
	}
	if rec.Header().Get("Retry-After") != "1" {
		t.Error("Retry-After missing with a FaultWriter")
	}
}

func TestTLS(t *testing.T) {
	_, _, srv := serve(t, Options{TLS: true})
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s", srv.URL)
	}
	if resp, err := do(t, srv.Client(), "GET", srv.URL+"/items"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("trusted client: %v %v", resp, err)
	}
	_, err := do(t, &http.Client{}, "GET", srv.URL+"/items")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("untrusting client: %v, want unknown authority", err)
	}
}

func TestParseFaults(t *testing.T) {
	got, err := ParseFaults(" 429, write/500@after ,drop@before,TIMEOUT")
	if err != nil {
		t.Fatal(err)
	}
	want := []Fault{{Kind: Fault429}, {Kind: Fault500, After: true, Class: ClassWrite}, {Kind: FaultDrop}, {Kind: FaultTimeout}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{"404", "500@later"} {
		if _, err := ParseFaults(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
	if got[1].String() != "write/500@after" {
		t.Errorf("String = %s", got[1])
	}
}
