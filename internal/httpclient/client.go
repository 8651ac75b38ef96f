// Package httpclient is the HTTP plumbing every HTTP adapter shares (REST
// and SOAP alike): the client built from a target (TLS, the connection pool
// sized from its concurrency, the -v transport hook, the target's pacer
// around every request), per-request deadlines that follow the target's
// observed latency, no redirects, "was the request written?", a body read
// whole or refused, and the classification of failures into the adapter
// error classes, with URLs stripped from errors.
//
// Platform words stay in the adapters: they reword or reclassify the
// *adapters.Error this package returns (a 403 that means "not an
// administrator", a 400 that means "duplicate").
package httpclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
)

// DefaultTimeout bounds one exchange when the target sets none.
const DefaultTimeout = 30 * time.Second

// DefaultMaxBody caps what is read of one answer: a runaway body must not
// eat the machine, and a body cut at the cap is refused, never half-read.
const DefaultMaxBody = 64 << 20

// Effect is what a request does to the target, which decides what its
// failures mean.
type Effect int

const (
	// Read changes nothing: every transient failure is Retryable.
	Read Effect = iota
	// Idempotent changes state, and sending it twice is harmless (PUT,
	// DELETE): a 5xx is Retryable, a connection lost after sending Unknown.
	Idempotent
	// Write changes state and may not be repeated blindly (a create): a
	// 500/502/504 or a connection lost after sending is Unknown, so the
	// runner reads back before anything else.
	Write
)

// Client sends requests to one target. It is safe for concurrent use.
type Client struct {
	hc       *http.Client
	own      bool // hc's connections are ours to close
	deadline *deadline
	// MaxBody caps an answer (DefaultMaxBody when 0).
	MaxBody int64
	// Message extracts the server's words from an error body, for
	// platforms with an error envelope (default ErrorText).
	Message func(body []byte) string
}

// New returns the client for t. A client given in t.HTTPClient (tests, the
// in-process demo) is copied, never changed; in every case redirects are
// refused (credentials must never follow one), t.WrapTransport decorates
// the transport, t.Pacer is waited on once before every request, each
// request gets a deadline (see deadline) bounded by t.Timeout, and a late
// read is hedged (see hedgeTransport).
func New(t adapters.Target) *Client {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	hc := &http.Client{}
	var base http.RoundTripper
	own := t.HTTPClient == nil
	if own {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = t.TLS // nil: system roots, verified
		// Enough idle connections for every call slot, so that a busy run
		// does not open and close a connection per request.
		tr.MaxIdleConnsPerHost = max(t.Concurrency, 8)
		base = tr
	} else {
		*hc = *t.HTTPClient
		base = hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
	}
	if t.WrapTransport != nil {
		base = t.WrapTransport(base)
	}
	d := newDeadline(timeout)
	var rt http.RoundTripper = &hedgeTransport{next: &deadlineTransport{next: base, d: d}, d: d, p: t.Pacer}
	if t.Pacer != nil {
		rt = &pacedTransport{next: rt, p: t.Pacer}
	}
	hc.Transport = rt
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{hc: hc, own: own, deadline: d}
}

// Close releases the idle connections of a client New built.
func (c *Client) Close() {
	if c.own {
		c.hc.CloseIdleConnections()
	}
}

// Response is a complete answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends req once and reads the whole answer, which must have a 2xx
// status: anything else is an *adapters.Error (see Classify), and so is
// every failure of Exchange. what names the request in messages ("POST
// /location"); never put a URL with its query in it.
func (c *Client) Do(req *http.Request, effect Effect, what string) (*Response, error) {
	resp, err := c.Exchange(req, effect, what)
	if err != nil {
		return nil, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		msg := c.Message
		if msg == nil {
			msg = ErrorText
		}
		return nil, Classify(what, effect, resp.Status, resp.Header, msg(resp.Body))
	}
	return resp, nil
}

// Exchange sends req once and reads the whole answer, whatever its status
// (a SOAP fault comes with a 500). A failed exchange is an *adapters.Error
// (see TransportError), and so is an answer larger than MaxBody.
func (c *Client) Exchange(req *http.Request, effect Effect, what string) (*Response, error) {
	var wrote atomic.Bool
	ctx := req.Context()
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
	}))
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, TransportError(ctx, what, effect, wrote.Load(), err)
	}
	defer resp.Body.Close()
	limit := c.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, TransportError(ctx, what, effect, true, err)
	}
	if int64(len(body)) > limit {
		class := adapters.Permanent // the same request gets the same answer
		if effect != Read {
			class = adapters.Unknown // it was acted on; read back
		}
		return nil, &adapters.Error{Class: class, Status: resp.StatusCode, Message: fmt.Sprintf(
			"%s: the answer is larger than %d bytes and was refused (a proxy or server fault?)", what, limit)}
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// Unreadable is the error of a 2xx answer that does not parse completely:
// empty, blank, truncated or not the expected format. It is never read as
// "no records". A read may be tried again (a proxy cut it); a write was
// acted on, so its outcome is Unknown and the runner reads back.
func Unreadable(what string, effect Effect, status int, err error) *adapters.Error {
	class := adapters.Retryable
	if effect != Read {
		class = adapters.Unknown
	}
	return &adapters.Error{Class: class, Status: status, Message: fmt.Sprintf("%s: unreadable answer (HTTP %d): %v", what, status, err), Err: err}
}

// ErrBlank is wrapped by Unreadable errors of an empty or blank 2xx body.
var ErrBlank = errors.New("the body is empty")

// CheckComplete returns nil when body holds something, else ErrBlank.
func CheckComplete(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return ErrBlank
	}
	return nil
}

// ErrorText extracts a readable excerpt of an error body: trimmed, valid
// UTF-8, at most 300 bytes. Adapters that know their error envelope pass
// their own text to Classify instead.
func ErrorText(body []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(body), ""))
	const limit = 300
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	return s
}
