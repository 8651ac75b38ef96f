package stub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// The HTTP form of the stub: a tiny JSON API over the same state, so that a
// test can run apply in a subprocess and kill it while the state (in the
// test process) survives. Every request is a POST of a JSON body; errors are
// {"class": "...", "message": "..."} with a matching status and Retry-After.

type wireLogin struct {
	Password string `json:"password"`
}

type wireToken struct {
	Token string `json:"token"`
}

type wireGet struct {
	Kind string         `json:"kind"`
	Key  schemas.Record `json:"key"`
}

type wireList struct {
	Kind  string `json:"kind"`
	After string `json:"after,omitempty"`
}

type wirePage struct {
	Records []schemas.Record `json:"records"`
	Next    string           `json:"next,omitempty"`
}

type wireChange struct {
	Kind   string          `json:"kind"`
	Action adapters.Action `json:"action"`
	Record schemas.Record  `json:"record"`
	Before schemas.Record  `json:"before,omitempty"`
}

type wireResult struct {
	ID string `json:"id"`
}

type wireBatch struct {
	Changes []wireChange `json:"changes"`
}

type wireBatchResult struct {
	IDs []string `json:"ids"`
}

type wireFinish struct {
	Changed []string `json:"changed"`
}

// wireStep is the step's result with, when a server failed, its error: a
// 200 either way, since the parts are the answer.
type wireStep struct {
	Result adapters.StepResult `json:"result"`
	Error  *wireError          `json:"error,omitempty"`
}

type wireError struct {
	Class   string `json:"class"`
	Message string `json:"message"`
}

// Handler serves the stub's state over HTTP for clients opened with
// Target.URL. Writes run to completion even when the client goes away
// mid-call, as they would on a real PBX.
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		var in wireLogin
		if !decode(w, r, &in) {
			return
		}
		gen, err := a.login(in.Password)
		reply(w, wireToken{Token: "t" + strconv.Itoa(gen)}, err)
	})
	mux.HandleFunc("POST /get", a.authed(func(w http.ResponseWriter, r *http.Request) {
		var in wireGet
		if !decode(w, r, &in) {
			return
		}
		rec, err := a.get(r.Context(), in.Kind, in.Key)
		reply(w, rec, err)
	}))
	mux.HandleFunc("POST /list", a.authed(func(w http.ResponseWriter, r *http.Request) {
		var in wireList
		if !decode(w, r, &in) {
			return
		}
		page, next, err := a.listPage(r.Context(), in.Kind, in.After)
		reply(w, wirePage{Records: page, Next: next}, err)
	}))
	mux.HandleFunc("POST /apply", a.authed(func(w http.ResponseWriter, r *http.Request) {
		var in wireChange
		if !decode(w, r, &in) {
			return
		}
		res, err := a.apply(context.WithoutCancel(r.Context()), adapters.Change{Kind: in.Kind, Action: in.Action, Record: in.Record, Before: in.Before})
		reply(w, wireResult{ID: res.ID}, err)
	}))
	mux.HandleFunc("POST /batch", a.authed(func(w http.ResponseWriter, r *http.Request) {
		var in wireBatch
		if !decode(w, r, &in) {
			return
		}
		cs := make([]adapters.Change, len(in.Changes))
		for i, c := range in.Changes {
			cs[i] = adapters.Change{Kind: c.Kind, Action: c.Action, Record: c.Record, Before: c.Before}
		}
		res, err := a.applyBatch(context.WithoutCancel(r.Context()), cs)
		out := wireBatchResult{}
		for _, x := range res {
			out.IDs = append(out.IDs, x.ID)
		}
		reply(w, out, err)
	}))
	mux.HandleFunc("POST /finish", a.authed(func(w http.ResponseWriter, r *http.Request) {
		var in wireFinish
		if !decode(w, r, &in) {
			return
		}
		res, err := a.finish(context.WithoutCancel(r.Context()), in.Changed)
		out := wireStep{Result: res}
		if err != nil {
			out.Error = &wireError{Class: adapters.ClassOf(err).String(), Message: err.Error()}
		}
		reply(w, out, nil)
	}))
	return mux
}

func (a *Adapter) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer t")
		gen, err := strconv.Atoi(tok)
		if err != nil {
			reply(w, nil, errExpired)
			return
		}
		if err := a.checkSession(gen); err != nil {
			reply(w, nil, err)
			return
		}
		h(w, r)
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		reply(w, nil, &adapters.Error{Class: adapters.Permanent, Status: 400, Message: "bad request body: " + err.Error()})
		return false
	}
	return true
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var e *adapters.Error
		if !errors.As(err, &e) {
			e = &adapters.Error{Class: adapters.Permanent, Message: err.Error()}
		}
		status := e.Status
		if status == 0 {
			status = classStatus[e.Class]
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatFloat(e.RetryAfter.Seconds(), 'f', -1, 64))
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(wireError{Class: e.Class.String(), Message: e.Message})
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// httpConn is a client of Handler.
type httpConn struct {
	base     string
	client   *http.Client
	password string

	mu    sync.Mutex
	token string
}

func dialHTTP(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	client := t.HTTPClient
	if client == nil {
		timeout := t.Timeout
		if timeout == 0 {
			timeout = 30 * time.Second
		}
		client = &http.Client{Timeout: timeout}
	}
	c := &httpConn{base: strings.TrimRight(t.URL, "/"), client: client, password: t.Password.Reveal()}
	if err := c.login(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *httpConn) login(ctx context.Context) error {
	var tok wireToken
	if err := c.post(ctx, "/login", "", wireLogin{Password: c.password}, &tok, false); err != nil {
		return err
	}
	c.mu.Lock()
	c.token = tok.Token
	c.mu.Unlock()
	return nil
}

// do posts with the session token, logging in again once when it expired.
func (c *httpConn) do(ctx context.Context, path string, in, out any, write bool) error {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	err := c.post(ctx, path, tok, in, out, write)
	var e *adapters.Error
	if errors.As(err, &e) && e.Class == adapters.Auth && e.Message == errExpired.Message {
		if err := c.login(ctx); err != nil {
			return err
		}
		c.mu.Lock()
		tok = c.token
		c.mu.Unlock()
		err = c.post(ctx, path, tok, in, out, write)
	}
	return err
}

// post sends one request. A transport failure of a write after the request
// may have left is Unknown (it may have landed); before that, or for reads,
// it is Retryable.
func (c *httpConn) post(ctx context.Context, path, token string, in, out any, write bool) error {
	body, err := json.Marshal(in)
	if err != nil {
		return &adapters.Error{Class: adapters.Permanent, Message: "encoding request: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return &adapters.Error{Class: adapters.Permanent, Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		class := adapters.Retryable
		var op *net.OpError
		if write && !(errors.As(err, &op) && op.Op == "dial") {
			class = adapters.Unknown
		}
		return &adapters.Error{Class: class, Message: "stub " + path + ": " + err.Error(), Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		class := adapters.Retryable
		if write {
			class = adapters.Unknown
		}
		return &adapters.Error{Class: class, Status: resp.StatusCode, Message: "reading answer: " + err.Error(), Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		var we wireError
		_ = json.Unmarshal(data, &we)
		e := &adapters.Error{Class: classNamed(we.Class, resp.StatusCode), Status: resp.StatusCode, Message: we.Message}
		if s, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil {
			e.RetryAfter = time.Duration(s * float64(time.Second))
		}
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return &adapters.Error{Class: adapters.Permanent, Status: resp.StatusCode, Message: fmt.Sprintf("decoding answer of %s: %v", path, err)}
	}
	return nil
}

func classNamed(name string, status int) adapters.Class {
	for c := adapters.Permanent; c <= adapters.Unknown; c++ {
		if c.String() == name {
			return c
		}
	}
	for c, s := range classStatus {
		if s == status {
			return c
		}
	}
	return adapters.Permanent
}

func (c *httpConn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	after := ""
	for {
		var page wirePage
		if err := c.do(ctx, "/list", wireList{Kind: kind, After: after}, &page, false); err != nil {
			return err
		}
		for _, r := range page.Records {
			if err := fn(normalize(r)); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		after = page.Next
	}
}

func (c *httpConn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	var rec schemas.Record
	if err := c.do(ctx, "/get", wireGet{Kind: kind, Key: key}, &rec, false); err != nil {
		return nil, err
	}
	return normalize(rec), nil
}

func (c *httpConn) Apply(ctx context.Context, ch adapters.Change) (adapters.Result, error) {
	var res wireResult
	err := c.do(ctx, "/apply", wireChange{Kind: ch.Kind, Action: ch.Action, Record: ch.Record, Before: ch.Before}, &res, true)
	return adapters.Result{ID: res.ID}, err
}

func (c *httpConn) MaxBatch(kind string, a adapters.Action) int { return batchSize(kind, a) }

func (c *httpConn) ApplyBatch(ctx context.Context, cs []adapters.Change) ([]adapters.Result, []error, error) {
	in := wireBatch{Changes: make([]wireChange, len(cs))}
	for i, ch := range cs {
		in.Changes[i] = wireChange{Kind: ch.Kind, Action: ch.Action, Record: ch.Record, Before: ch.Before}
	}
	var out wireBatchResult
	if err := c.do(ctx, "/batch", in, &out, true); err != nil {
		return nil, nil, err
	}
	if len(out.IDs) != len(cs) {
		return nil, nil, &adapters.Error{Class: adapters.Unknown, Message: fmt.Sprintf("stub /batch answered %d ids for %d creates", len(out.IDs), len(cs))}
	}
	res := make([]adapters.Result, len(cs))
	for i, id := range out.IDs {
		res[i] = adapters.Result{ID: id}
	}
	return res, make([]error, len(cs)), nil
}

func (c *httpConn) FinishKinds() []string { return finishKinds }

func (c *httpConn) Finish(ctx context.Context, changed []string) (adapters.StepResult, error) {
	var out wireStep
	if err := c.do(ctx, "/finish", wireFinish{Changed: changed}, &out, true); err != nil {
		return adapters.StepResult{}, err
	}
	if out.Error != nil {
		return out.Result, &adapters.Error{Class: classNamed(out.Error.Class, 0), Message: out.Error.Message}
	}
	return out.Result, nil
}

func (c *httpConn) HTTP() bool { return true }

func (c *httpConn) Close() error {
	c.client.CloseIdleConnections()
	return nil
}
