package apio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/apio/api"
	"github.com/pbxbatch/pbxbatch/adapters/retry"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
	"github.com/pbxbatch/pbxbatch/internal/redact"
)

// conn is an open, logged-in connection. It is safe for concurrent use: the
// token is shared and renewed under mu.
type conn struct {
	a        *Adapter
	base     string
	http     *httpclient.Client
	username string
	password adapters.Secret
	opts     options
	conc     int           // concurrent detail reads of List
	reads    retry.Options // how GETs are retried

	renewing sync.Mutex // one login for every caller that met the same expired token
	mu       sync.Mutex
	token    string
}

func newConn(a *Adapter, t adapters.Target, base string, o options) *conn {
	c := &conn{a: a, base: base, http: httpclient.New(t), username: t.Username, password: t.Password, opts: o, conc: max(t.Concurrency, 4)}
	c.http.Message = serverMessage
	c.reads.Attempts = 8
	return c
}

func (c *conn) Close() error {
	c.http.Close()
	return nil
}

// serverMessage is the "error" of APIO's error body, else its text.
func serverMessage(body []byte) string {
	var e api.Error
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return httpclient.ErrorText(body)
}

// login gets a token with the target's credentials.
func (c *conn) login(ctx context.Context) error {
	var tok api.Token
	err := c.exchange(ctx, http.MethodPost, api.LoginPath, "", api.Login{Username: c.username, Password: c.password.Reveal()}, &tok, httpclient.Read, "POST "+api.LoginPath)
	var e *adapters.Error
	if errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests {
		e.Class = adapters.Auth
		e.Message = fmt.Sprintf("login as %q refused: %s (check the target's username and password)", c.username, e.Message)
	}
	if err != nil {
		return err
	}
	if tok.Token == "" {
		return adapters.Errorf(adapters.Auth, "login as %q: APIO answered no token", c.username)
	}
	c.mu.Lock()
	c.token = tok.Token
	c.mu.Unlock()
	return nil
}

// scrub masks the target's password and the session token, in every
// encoding, in what a server said: an error body may echo the request.
func (c *conn) scrub(err error) error {
	var e *adapters.Error
	if !errors.As(err, &e) {
		return err
	}
	c.mu.Lock()
	r := redact.New(c.password.Reveal(), c.token)
	c.mu.Unlock()
	if e.Message == "" && e.Err != nil {
		e.Message = e.Err.Error()
	}
	e.Message = r.String(e.Message)
	return err
}

// renew logs in again unless another caller already replaced stale.
func (c *conn) renew(ctx context.Context, stale string) error {
	c.renewing.Lock()
	defer c.renewing.Unlock()
	c.mu.Lock()
	current := c.token
	c.mu.Unlock()
	if current != stale {
		return nil
	}
	return c.login(ctx)
}

// send makes one authenticated request; a 401 (the session expired: the
// request was not acted on) logs in again and sends it once more.
func (c *conn) send(ctx context.Context, method, path string, body, out any, effect httpclient.Effect) error {
	what := method + " " + path
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		tok := c.token
		c.mu.Unlock()
		err := c.exchange(ctx, method, path, tok, body, out, effect, what)
		if adapters.ClassOf(err) != adapters.Auth || attempt > 0 {
			return err
		}
		if err := c.renew(ctx, tok); err != nil {
			return err
		}
	}
}

// exchange sends one request and decodes a 2xx answer into out.
func (c *conn) exchange(ctx context.Context, method, path, token string, body, out any, effect httpclient.Effect, what string) error {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return adapters.Errorf(adapters.Permanent, "%s: encoding the request: %v", what, err)
		}
		rd = bytes.NewReader(b)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequestWithContext(ctx, method, c.base+path, rd)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, c.base+path, nil)
	}
	if err != nil {
		return adapters.Errorf(adapters.Permanent, "%s: %v", what, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req, effect, what)
	if err != nil {
		return c.scrub(err)
	}
	if out == nil {
		return nil
	}
	if err := httpclient.CheckComplete(resp.Body); err != nil {
		return httpclient.Unreadable(what, effect, resp.Status, err)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return httpclient.Unreadable(what, effect, resp.Status, err)
	}
	return nil
}

// read sends a GET (with a body for the list's criteria), retried per
// request.
func (c *conn) read(ctx context.Context, path string, body, out any) error {
	return retry.Do(ctx, c.reads, "GET "+path, func() error {
		return c.send(ctx, http.MethodGet, path, body, out, httpclient.Read)
	})
}
