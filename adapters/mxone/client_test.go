package mxone

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func TestClassify(t *testing.T) {
	env := func(msg string) []byte {
		b, _ := json.Marshal(map[string]any{"mitelErrorCode": "X", "errorMsg": msg, "responseStatus": "400 BAD_REQUEST", "responseCode": 400})
		return b
	}
	cases := []struct {
		method     string
		status     int
		retryAfter string
		body       []byte
		class      adapters.Class
		wait       time.Duration
		msg        string
	}{
		{"POST", 429, "3", nil, adapters.Throttled, 3 * time.Second, "Too Many Requests"},
		{"GET", 503, "5", nil, adapters.Throttled, 5 * time.Second, ""},
		{"POST", 500, "", env("NullPointerException"), adapters.Unknown, 0, "NullPointerException"},
		{"PUT", 500, "", env("NullPointerException"), adapters.Retryable, 0, "NullPointerException"},
		{"GET", 500, "", nil, adapters.Retryable, 0, ""},
		{"PUT", 502, "", nil, adapters.Retryable, 0, ""},
		{"PUT", 504, "", nil, adapters.Retryable, 0, ""},
		{"POST", 400, "", env("location Stockholm already exists"), adapters.Conflict, 0, "already exists"},
		{"POST", 400, "", env("Duplicate entry 'jdoe' for key 'userId'"), adapters.Conflict, 0, "Duplicate"},
		{"POST", 400, "", env("extension number 2500 is not in an EX number series of subsystem MX1"), adapters.Permanent, 0, "not in an EX number series"},
		{"POST", 400, "", env("department Sales does not exist"), adapters.Permanent, 0, "does not exist"},
		{"GET", 400, "", env("user jdoe not found"), adapters.NotFound, 0, "not found"},
		{"GET", 404, "", []byte(`{"message":"No user jdoe"}`), adapters.NotFound, 0, "No user jdoe"},
		{"DELETE", 403, "", env("only administrators may use DELETE"), adapters.Permanent, 0, "security profile"},
		{"GET", 401, "", nil, adapters.Auth, 0, ""},
		{"POST", 409, "", nil, adapters.Conflict, 0, ""},
		{"POST", 418, "", []byte("teapot"), adapters.Permanent, 0, "teapot"},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.retryAfter != "" {
			h.Set("Retry-After", c.retryAfter)
		}
		e := reclassify(c.method, httpclient.Classify(c.method+" /x", effect(c.method), c.status, h, serverMessage(c.body)))
		if e.Class != c.class || e.RetryAfter != c.wait || e.Status != c.status || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%s %d %s: got class %s wait %s status %d %q; want %s %s %q", c.method, c.status, c.body, e.Class, e.RetryAfter, e.Status, e.Message, c.class, c.wait, c.msg)
		}
	}
}

// fakePM is a minimal Provisioning Manager for client tests.
type fakePM struct {
	t        *testing.T
	mu       sync.Mutex
	lifetime time.Duration
	now      func() time.Time
	logins   atomic.Int32
	refresh  atomic.Int32
	valid    map[string]bool
	issued   int
	handler  func(w http.ResponseWriter, r *http.Request)
}

func jwt(iat, exp time.Time, rec int) string {
	enc := base64.RawURLEncoding.EncodeToString
	p, _ := json.Marshal(map[string]any{"role": "1", "USER_REC_ID": strconv.Itoa(rec), "sub": "admin", "iat": iat.Unix(), "exp": exp.Unix()})
	return enc([]byte(`{"alg":"HS512"}`)) + "." + enc(p) + ".sig"
}

func (f *fakePM) issue(w http.ResponseWriter) {
	f.mu.Lock()
	f.issued++
	n := f.issued
	now := f.now()
	tok := jwt(now, now.Add(f.lifetime), 1) + strconv.Itoa(n)
	f.valid[tok] = true
	f.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]string{"token": tok, "refreshToken": fmt.Sprintf("rt-%d", n)})
}

func (f *fakePM) revokeAll() {
	f.mu.Lock()
	f.valid = map[string]bool{}
	f.mu.Unlock()
}

func (f *fakePM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case pathLogin:
		var body loginRequest
		json.NewDecoder(r.Body).Decode(&body)
		if body.Password != "right-password" {
			w.WriteHeader(400)
			io.WriteString(w, `{"errorMsg":"Invalid username or password","responseCode":400}`)
			return
		}
		f.logins.Add(1)
		f.issue(w)
		return
	case pathRefresh:
		var body refreshRequest
		json.NewDecoder(r.Body).Decode(&body)
		if body.UserRecID != 1 || !strings.HasPrefix(body.RefreshToken, "rt-") {
			w.WriteHeader(400)
			return
		}
		f.refresh.Add(1)
		f.issue(w)
		return
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	ok := f.valid[tok]
	f.mu.Unlock()
	if !ok {
		w.WriteHeader(401)
		io.WriteString(w, `{"errorMsg":"Authentication Failure"}`)
		return
	}
	f.handler(w, r)
}

func newFake(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) (*fakePM, *httptest.Server) {
	f := &fakePM{t: t, lifetime: 45 * time.Minute, now: time.Now, valid: map[string]bool{}, handler: handler}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func target(srv *httptest.Server, password string) adapters.Target {
	return adapters.Target{Name: "test", URL: srv.URL, Username: "admin", Password: adapters.NewSecret(password), Timeout: 2 * time.Second}
}

func TestLoginRefusedIsAuthWithoutPassword(t *testing.T) {
	_, srv := newFake(t, nil)
	_, err := New().Open(context.Background(), target(srv, "wrong-password-xyz"))
	if adapters.ClassOf(err) != adapters.Auth {
		t.Fatalf("Open with a bad password: %v, want class auth", err)
	}
	if strings.Contains(err.Error(), "wrong-password-xyz") || !strings.Contains(err.Error(), "Invalid username or password") {
		t.Errorf("error %q must carry the server's message and never the password", err)
	}
}

func TestTokenRefreshBeforeExpiryAndOn401(t *testing.T) {
	var calls atomic.Int32
	f, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, `[{"items":[{"locationId":1,"locationName":"A"}],"count":1,"pageNo":0,"pageSize":200}]`)
	})
	c, err := New().Open(context.Background(), target(srv, "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cn := c.(*Conn)
	ctx := context.Background()
	if _, err := c.Get(ctx, "location", map[string]any{"locationName": "A"}); err != nil {
		t.Fatal(err)
	}
	// Move the adapter's clock to within the refresh margin of exp: it
	// must refresh before sending, not wait for a 401.
	cn.c.now = func() time.Time { return time.Now().Add(44*time.Minute + 30*time.Second) }
	if _, err := c.Get(ctx, "location", map[string]any{"locationName": "A"}); err != nil {
		t.Fatal(err)
	}
	if f.refresh.Load() != 1 || f.logins.Load() != 1 {
		t.Fatalf("after nearing expiry: %d refreshes, %d logins; want 1 and 1", f.refresh.Load(), f.logins.Load())
	}
	// The server forgets every token (restart): one 401, then a refresh.
	cn.c.now = time.Now
	f.revokeAll()
	if _, err := c.Get(ctx, "location", map[string]any{"locationName": "A"}); err != nil {
		t.Fatalf("after the server dropped the token: %v", err)
	}
	if f.refresh.Load() != 2 {
		t.Errorf("refreshes = %d, want 2", f.refresh.Load())
	}
}

func TestConcurrentRequestsShareOneRefresh(t *testing.T) {
	f, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"items":[],"count":0}]`)
	})
	c, err := New().Open(context.Background(), target(srv, "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f.revokeAll()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			errs <- c.List(context.Background(), "location", func(schemas.Record) error { return nil })
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.refresh.Load() + f.logins.Load() - 1; n != 1 {
		t.Errorf("16 concurrent requests after a token loss renewed %d times, want 1", n)
	}
}

func TestUnauthorizedAfterRenewalIsAuth(t *testing.T) {
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		io.WriteString(w, `{"errorMsg":"Authentication Failure"}`)
	})
	c, err := New().Open(context.Background(), target(srv, "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Get(context.Background(), "location", map[string]any{"locationName": "A"})
	if adapters.ClassOf(err) != adapters.Auth {
		t.Fatalf("got %v, want class auth", err)
	}
}

func TestTransportErrors(t *testing.T) {
	// A server that accepts the request and closes the connection without
	// answering: a create may have landed (Unknown), a read is Retryable.
	var drop atomic.Bool
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if drop.Load() {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
		io.WriteString(w, `[{"items":[],"count":0}]`)
	})
	c, err := New().Open(context.Background(), target(srv, "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	drop.Store(true)
	_, err = c.Apply(context.Background(), adapters.Change{Kind: "location", Action: adapters.Create, Record: map[string]any{"locationName": "A"}})
	if adapters.ClassOf(err) != adapters.Unknown {
		t.Errorf("dropped create: %v, want class unknown", err)
	}
	_, err = c.Get(context.Background(), "location", map[string]any{"locationName": "A"})
	if adapters.ClassOf(err) != adapters.Retryable {
		t.Errorf("dropped read: %v, want class retryable", err)
	}
	// Nothing listening: nothing was sent, so even a create is Retryable.
	srv.Close()
	cn := c.(*Conn)
	_, err = cn.Apply(context.Background(), adapters.Change{Kind: "location", Action: adapters.Create, Record: map[string]any{"locationName": "A"}})
	if adapters.ClassOf(err) != adapters.Retryable {
		t.Errorf("create to a closed port: %v, want class retryable", err)
	}
}

func TestJWTClaims(t *testing.T) {
	iat := time.Unix(1715157641, 0)
	c := jwtClaims(jwt(iat, iat.Add(2700*time.Second), 42))
	if !c.exp.Equal(time.Unix(1715160341, 0)) || c.rec != 42 || !c.iat.Equal(iat) {
		t.Errorf("claims = %+v", c)
	}
	if c := jwtClaims("not-a-jwt"); !c.exp.IsZero() || c.rec != 0 {
		t.Errorf("opaque token gave claims %+v", c)
	}
}
