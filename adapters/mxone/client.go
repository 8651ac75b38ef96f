package mxone

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/retry"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
	"github.com/pbxbatch/pbxbatch/internal/redact"
)

// client is an authenticated HTTP client for one PM instance. It is safe for
// concurrent use: the token is shared and refreshed under mu.
type client struct {
	base     string // scheme://host[:port], no trailing slash
	http     *httpclient.Client
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

	reads retry.Options // how GETs are retried
}

func newClient(t adapters.Target) (*client, error) {
	u, err := url.Parse(strings.TrimRight(t.URL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, adapters.Errorf(adapters.Permanent, "target %s: URL %q is not an http(s) URL such as https://pm.example.com:8443", t.Name, t.URL)
	}
	c := &client{
		base:     u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/"),
		http:     httpclient.New(t),
		username: t.Username,
		password: t.Password,
		now:      time.Now,
		pageBase: map[string]int{},
	}
	c.http.Message = serverMessage
	c.reads.Attempts = 8
	return c, nil
}

func (c *client) close() { c.http.Close() }

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
// arrived) and a classified *adapters.Error for anything but a 2xx whose
// body decodes completely into out. A 2xx with an empty, blank or
// truncated body is an error when out expects data: never "no records".
func (c *client) send(ctx context.Context, method, path string, q url.Values, body, out any, token string) (int, error) {
	what := method + " " + path
	var payload io.Reader = http.NoBody
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, adapters.Errorf(adapters.Permanent, "%s: cannot encode the request: %v", what, err)
		}
		payload = bytes.NewReader(data)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, payload)
	if err != nil {
		return 0, adapters.Errorf(adapters.Permanent, "%s: %v", what, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req, effect(method), what)
	if err != nil {
		var e *adapters.Error
		if errors.As(err, &e) {
			c.scrub(reclassify(method, e))
			return e.Status, e
		}
		return 0, err
	}
	if out == nil {
		return resp.Status, nil
	}
	if err := decodeAll(resp.Body, out); err != nil {
		return resp.Status, httpclient.Unreadable(what, effect(method), resp.Status, err)
	}
	return resp.Status, nil
}

// effect says what a request of method does to PM: PUT and DELETE send
// the whole state, so repeating them is harmless; a POST creates.
func effect(method string) httpclient.Effect {
	switch method {
	case http.MethodGet:
		return httpclient.Read
	case http.MethodPost:
		return httpclient.Write
	}
	return httpclient.Idempotent
}

// decodeAll decodes exactly one JSON value filling data (numbers kept as
// written): an empty or blank body, a truncated one or trailing bytes are
// errors.
func decodeAll(data []byte, out any) error {
	if err := httpclient.CheckComplete(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
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

// reclassify adds PM's meaning to the shared classification of a non-2xx
// answer (httpclient.Classify): PM reports a duplicate key or a missing
// record with a 400, and a 403 means the account lacks a privilege.
func reclassify(method string, e *adapters.Error) *adapters.Error {
	lower := strings.ToLower(e.Message)
	switch {
	case e.Status == http.StatusForbidden:
		e.Message += " (forbidden: the PM account's security profile lacks this privilege, or the endpoint is for admin users only)"
	case e.Status == http.StatusBadRequest && containsAny(lower, duplicateWords) && !containsAny(lower, notFoundWords):
		e.Class = adapters.Conflict
	case e.Status == http.StatusBadRequest && method == http.MethodGet && containsAny(lower, notFoundWords):
		e.Class = adapters.NotFound
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
