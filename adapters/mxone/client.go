package mxone

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/retry"
	"github.com/pbxbatch/pbxbatch/internal/redact"
)

// defaultTimeout bounds one HTTP exchange when the target sets none.
const defaultTimeout = 30 * time.Second

// maxBody caps what we read of one response: PM pages are small, and a
// runaway body must not eat the machine.
const maxBody = 64 << 20

// client is an authenticated HTTP client for one PM instance. It is safe for
// concurrent use: the token is shared and refreshed under mu.
type client struct {
	base     string // scheme://host[:port], no trailing slash
	http     *http.Client
	ownHTTP  bool
	timeout  time.Duration
	username string
	password adapters.Secret
	now      func() time.Time

	// renewing makes concurrent callers that saw the same stale token share
	// one refresh instead of each rotating the refresh token.
	renewing sync.Mutex
	mu       sync.Mutex // guards the token state below
	token    string
	refresh  string
	recID    int64     // USER_REC_ID claim, for refresh-token
	expires  time.Time // zero when the token is not a JWT with exp
	early    time.Duration

	pagesMu  sync.Mutex
	pageBase map[string]int // path -> detected first page number

	reads retry.Options  // how GETs are retried
	pacer adapters.Pacer // spaces every request (nil: unpaced)
}

func newClient(t adapters.Target) (*client, error) {
	u, err := url.Parse(strings.TrimRight(t.URL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, adapters.Errorf(adapters.Permanent, "target %s: URL %q is not an http(s) URL such as https://pm.example.com:8443", t.Name, t.URL)
	}
	c := &client{
		base:     u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/"),
		http:     t.HTTPClient,
		timeout:  t.Timeout,
		username: t.Username,
		password: t.Password,
		now:      time.Now,
		pageBase: map[string]int{},
	}
	c.reads.Attempts = 8
	c.pacer = t.Pacer
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = t.TLS // nil: system roots, verified
		conns := max(t.Concurrency, 8)
		tr.MaxIdleConnsPerHost = conns
		tr.MaxConnsPerHost = 0
		c.http = &http.Client{Transport: tr}
		if t.WrapTransport != nil {
			c.http.Transport = t.WrapTransport(tr)
		}
		c.ownHTTP = true
	}
	return c, nil
}

func (c *client) close() {
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
}

// --- authentication

// login gets a fresh token pair with the configured credentials.
func (c *client) login(ctx context.Context) error {
	var tr tokenResponse
	body := loginRequest{Username: c.username, Password: c.password.Reveal()}
	status, err := c.send(ctx, http.MethodPost, pathLogin, nil, body, &tr, "")
	if err != nil {
		var e *adapters.Error
		if errors.As(err, &e) && status >= 400 && status < 500 && status != http.StatusTooManyRequests {
			e.Class = adapters.Auth
			e.Message = fmt.Sprintf("login as %q refused: %s (check the target's username and password)", c.username, e.Message)
		}
		return err
	}
	if tr.Token == "" {
		return adapters.Errorf(adapters.Auth, "login as %q: the server returned no token", c.username)
	}
	c.setToken(tr)
	return nil
}

// refreshToken exchanges the refresh token for a new pair; any failure
// falls back to a fresh login.
func (c *client) refreshToken(ctx context.Context) error {
	c.mu.Lock()
	rt, rec := c.refresh, c.recID
	c.mu.Unlock()
	if rt != "" && rec != 0 {
		var tr tokenResponse
		_, err := c.send(ctx, http.MethodPost, pathRefresh, nil, refreshRequest{UserRecID: rec, RefreshToken: rt}, &tr, "")
		if err == nil && tr.Token != "" {
			c.setToken(tr)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return c.login(ctx)
}

func (c *client) setToken(tr tokenResponse) {
	claims := jwtClaims(tr.Token)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = tr.Token
	if tr.RefreshToken != "" {
		c.refresh = tr.RefreshToken
	}
	if claims.rec != 0 {
		c.recID = claims.rec
	}
	c.expires = claims.exp
	c.early = 0
	if !claims.exp.IsZero() {
		// Refresh a minute before expiry, or at 3/4 of a short lifetime,
		// so a request never leaves with a token about to die.
		life := claims.exp.Sub(claims.iat)
		if claims.iat.IsZero() || life <= 0 {
			life = claims.exp.Sub(c.now())
		}
		c.early = min(time.Minute, life/4)
	}
}

// currentToken returns a token that is not about to expire, refreshing it
// first when needed.
func (c *client) currentToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, exp, early := c.token, c.expires, c.early
	c.mu.Unlock()
	if tok != "" && (exp.IsZero() || c.now().Add(early).Before(exp)) {
		return tok, nil
	}
	return c.renew(ctx, tok)
}

// renew replaces stale (the token a caller found wanting) unless another
// goroutine already did.
func (c *client) renew(ctx context.Context, stale string) (string, error) {
	c.renewing.Lock()
	defer c.renewing.Unlock()
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if tok != stale && tok != "" {
		return tok, nil
	}
	var err error
	if stale == "" {
		err = c.login(ctx)
	} else {
		err = c.refreshToken(ctx)
	}
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token, nil
}

type claims struct {
	exp, iat time.Time
	rec      int64
}

// jwtClaims reads exp, iat and USER_REC_ID from a JWT without verifying it
// (we are the client; the server verifies). A token that is not a JWT yields
// zero claims, and expiry is then learnt from 401s.
func jwtClaims(tok string) claims {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return claims{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return claims{}
	}
	var p struct {
		Exp flexInt    `json:"exp"`
		Iat flexInt    `json:"iat"`
		Rec flexString `json:"USER_REC_ID"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return claims{}
	}
	var out claims
	if p.Exp > 0 {
		out.exp = time.Unix(int64(p.Exp), 0)
	}
	if p.Iat > 0 {
		out.iat = time.Unix(int64(p.Iat), 0)
	}
	out.rec, _ = strconv.ParseInt(string(p.Rec), 10, 64)
	return out
}

// --- requests

// do sends one authenticated request and decodes a 2xx body into out (when
// out is not nil and there is a body). A 401 triggers one token renewal and
// one resend; everything else is returned classified.
func (c *client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	if method != http.MethodGet {
		return c.doOnce(ctx, method, path, q, body, out)
	}
	// Reads change nothing, so they are retried here, request by request:
	// listing extensions takes one GET per extension (PM has no list
	// endpoint for them), and retrying a whole listing could never succeed
	// against a target that fails a few requests in a hundred. Writes are
	// never retried here: the runner reads back first when their outcome
	// is unknown.
	return retry.Do(ctx, c.reads, method+" "+path, func() error { return c.doOnce(ctx, method, path, q, body, out) })
}

func (c *client) doOnce(ctx context.Context, method, path string, q url.Values, body, out any) error {
	tok, err := c.currentToken(ctx)
	if err != nil {
		return err
	}
	status, err := c.send(ctx, method, path, q, body, out, tok)
	if status != http.StatusUnauthorized {
		return err
	}
	if tok, err = c.renew(ctx, tok); err != nil {
		return err
	}
	status, err = c.send(ctx, method, path, q, body, out, tok)
	if status == http.StatusUnauthorized {
		var e *adapters.Error
		if errors.As(err, &e) {
			e.Class = adapters.Auth
			e.Message = fmt.Sprintf("%s (refused again after renewing the token: check that user %q may use this endpoint)", e.Message, c.username)
		}
	}
	return err
}

// send performs one HTTP exchange. It returns the HTTP status (0 when none
// arrived) and a classified *adapters.Error for anything but 2xx.
func (c *client) send(ctx context.Context, method, path string, q url.Values, body, out any, token string) (int, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, adapters.Errorf(adapters.Permanent, "%s %s: cannot encode the request: %v", method, path, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var wrote bool
	var wroteMu sync.Mutex
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		wroteMu.Lock()
		wrote = i.Err == nil
		wroteMu.Unlock()
	}}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, u, bytes.NewReader(payload))
	if err != nil {
		return 0, adapters.Errorf(adapters.Permanent, "%s %s: %v", method, path, err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c.pacer != nil {
		if err := c.pacer.Wait(ctx); err != nil {
			return 0, adapters.Errorf(adapters.Retryable, "%s %s: not sent: %v", method, path, err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		wroteMu.Lock()
		sent := wrote
		wroteMu.Unlock()
		return 0, c.transportError(ctx, method, path, sent, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, c.transportError(ctx, method, path, true, err)
	}
	if c.pacer != nil {
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			c.pacer.Throttled()
		case resp.StatusCode < 300:
			c.pacer.Succeeded()
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, c.scrub(classify(method, path, resp.StatusCode, resp.Header, data, c.now()))
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			return resp.StatusCode, adapters.Errorf(adapters.Permanent, "%s %s: unexpected response (HTTP %d): %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

// transportError classifies a failure without an HTTP status. A write that
// may have reached the server is Unknown: the runner must read back before
// retrying, or a create could be repeated.
func (c *client) transportError(ctx context.Context, method, path string, sent bool, err error) error {
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) {
		// Not transient: retrying cannot make the certificate trusted.
		return &adapters.Error{Class: adapters.Permanent, Err: stripURL(err), Message: fmt.Sprintf(
			"%s %s: the server's TLS certificate is not trusted (%v); give the target its CA certificate, do not turn verification off", method, path, stripURL(err))}
	}
	class := adapters.Retryable
	if sent && method != http.MethodGet {
		class = adapters.Unknown
	}
	what := "connection failed"
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		what = fmt.Sprintf("no answer within %s", c.timeout)
	case sent:
		what = "connection dropped before the answer"
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The caller cancelled: not the target's fault, nothing to retry.
		return ctx.Err()
	}
	return &adapters.Error{Class: class, Message: fmt.Sprintf("%s %s: %s", method, path, what), Err: stripURL(err)}
}

// stripURL drops the request URL from a *url.Error: query strings can hold
// user ids, and the message already names the path.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// scrub masks the password and tokens, in every encoding, in a server's
// message, in case a server echoes what it was sent.
func (c *client) scrub(e *adapters.Error) *adapters.Error {
	c.mu.Lock()
	r := redact.New(c.password.Reveal(), c.token, c.refresh)
	c.mu.Unlock()
	e.Message = r.String(e.Message)
	return e
}

// duplicateWords recognise PM's (and the simulator's) duplicate-key wording.
var duplicateWords = []string{"already exist", "duplicate", "already in use", "already present", "already defined", "not unique", "unique constraint", "exists"}

// notFoundWords recognise a missing record reported as 400, which Spring
// services commonly do for a lookup by key.
var notFoundWords = []string{"not found", "does not exist", "doesn't exist", "no such", "not exist", "invalid user id", "no record"}

// classify turns a non-2xx response into a classified error, in rclone's
// shouldRetry spirit: the adapter knows the platform, the runner decides.
func classify(method, path string, status int, h http.Header, body []byte, now time.Time) *adapters.Error {
	msg := serverMessage(body)
	if msg == "" {
		msg = http.StatusText(status)
	}
	e := &adapters.Error{Status: status, Message: fmt.Sprintf("%s %s: %s", method, path, msg)}
	lower := strings.ToLower(msg)
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		e.Class = adapters.Throttled
		e.RetryAfter = adapters.ParseRetryAfter(h.Get("Retry-After"), now)
	case status == http.StatusInternalServerError || status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		// A server error on a create may come after the record was stored
		// (or from a gateway that gave up waiting): read back before
		// retrying, or the retry may create a duplicate. PUT and DELETE are
		// idempotent, so a plain retry is safe.
		e.Class = adapters.Retryable
		if method == http.MethodPost {
			e.Class = adapters.Unknown
		}
	case status == http.StatusUnauthorized:
		e.Class = adapters.Auth
	case status == http.StatusNotFound:
		e.Class = adapters.NotFound
	case status == http.StatusConflict:
		e.Class = adapters.Conflict
	case status == http.StatusForbidden:
		e.Class = adapters.Permanent
		e.Message += " (forbidden: the PM account's security profile lacks this privilege, or the endpoint is for admin users only)"
	case status == http.StatusBadRequest && containsAny(lower, duplicateWords) && !containsAny(lower, notFoundWords):
		e.Class = adapters.Conflict
	case status == http.StatusBadRequest && method == http.MethodGet && containsAny(lower, notFoundWords):
		e.Class = adapters.NotFound
	case status >= 500:
		e.Class = adapters.Retryable
	default:
		e.Class = adapters.Permanent
	}
	return e
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// serverMessage extracts the most useful text of an error body.
func serverMessage(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var env errorEnvelope
	if body[0] == '{' && json.Unmarshal(body, &env) == nil {
		for _, s := range []string{env.ErrorMsg, env.Message, env.DeveloperMsg, env.Error} {
			if s = strings.TrimSpace(s); s != "" {
				return s
			}
		}
	}
	var s string
	if body[0] == '"' && json.Unmarshal(body, &s) == nil {
		return s
	}
	const limit = 300
	if len(body) > limit {
		return string(body[:limit]) + "…"
	}
	return string(body)
}
