package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/redact"
)

// Client calls the operations of SOAP services under one base URL
// (".../sipxconfig/services/"). It is safe for concurrent use.
//
// Credentials are sent pre-emptively with HTTP Basic on every call: servers
// like sipXconfig challenge an anonymous call with Digest only, so a client
// that waits for a Basic challenge never authenticates, and they keep no
// session, so every call must carry them.
type Client struct {
	HTTP      *http.Client
	BaseURL   string // service names are appended to it
	Namespace string // of the body root elements
	Prefix    string // bound to Namespace in requests ("con")
	Username  string
	// MaxResponse bounds a response; 0 means DefaultMaxResponse.
	MaxResponse int64
	password    string
}

// NewClient returns a client. The password is kept unexported so that
// printing the client never shows it.
func NewClient(baseURL, namespace, prefix, username, password string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	return &Client{HTTP: hc, BaseURL: baseURL, Namespace: namespace, Prefix: prefix, Username: username, password: password}
}

// HTTPError is an answer that is not a SOAP envelope: an authentication
// challenge, a throttle, a proxy's error page.
type HTTPError struct {
	Status     int
	RetryAfter time.Duration // from Retry-After, 0 when absent
	Challenge  string        // WWW-Authenticate, for 401
	Snippet    string        // start of the body, for diagnostics
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Snippet != "" {
		msg += ": " + e.Snippet
	}
	return msg
}

// TransportError is a failed exchange: no connection, a timeout, a
// connection dropped mid-response. Sent reports whether the request was
// written completely, in which case the server may have acted on it.
type TransportError struct {
	Op   string
	Sent bool
	Err  error
}

func (e *TransportError) Error() string {
	when := "before the request was sent"
	if e.Sent {
		when = "after the request was sent (it may have taken effect)"
	}
	return fmt.Sprintf("%s: %v, %s", e.Op, e.Err, when)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Call invokes op (the request element's name, "AddUser") on service
// ("UserService"). in holds the request's children (nil for an empty Body);
// out receives the response element's children, or is nil for a void
// operation, whose answer may be an empty Body or any empty element. A SOAP
// fault is returned as *Fault, a non-SOAP answer as *HTTPError, a failed
// exchange as *TransportError.
func (c *Client) Call(ctx context.Context, service, op string, in, out any) error {
	var body bytes.Buffer
	if err := EncodeRequest(&body, c.Namespace, c.Prefix, op, in); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+service, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `""`)
	req.Header.Set("Accept", "text/xml")
	req.SetBasicAuth(c.Username, c.password)

	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
	}))
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &TransportError{Op: service + "." + op, Sent: wrote.Load(), Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()

	isXML := strings.Contains(resp.Header.Get("Content-Type"), "xml")
	if resp.StatusCode != http.StatusOK && !(resp.StatusCode == http.StatusInternalServerError && isXML) {
		e := newHTTPError(resp)
		e.Snippet = c.redactor().String(e.Snippet)
		return e
	}
	rec := &readRecorder{r: resp.Body}
	name, err := ReadEnvelope(rec, c.MaxResponse, func(d *xml.Decoder, start *xml.StartElement) error {
		if out == nil {
			return d.Skip()
		}
		return d.DecodeElement(out, start)
	})
	var fault *Fault
	switch {
	case errors.As(err, &fault):
		fault.HTTPStatus = resp.StatusCode
		fault.String = c.redactor().String(fault.String)
		return fault
	case rec.err != nil:
		return &TransportError{Op: service + "." + op, Sent: true, Err: rec.err}
	case err != nil:
		return fmt.Errorf("%s.%s: %w", service, op, err)
	case resp.StatusCode != http.StatusOK:
		return &HTTPError{Status: resp.StatusCode, Snippet: "SOAP envelope without a Fault"}
	case out != nil && name.Local == "":
		return fmt.Errorf("%s.%s: %w", service, op, ErrEmptyBody)
	}
	return nil
}

// redactor masks the password in what a server says, in every encoding: a
// server that echoes the request echoes its Basic credentials (base64 of
// user:password) too.
func (c *Client) redactor() *redact.Redactor { return redact.New(c.password) }

// readRecorder remembers a read error other than EOF (a dropped
// connection), which the XML decoder would otherwise report as bad syntax.
type readRecorder struct {
	r   io.Reader
	err error
}

func (r *readRecorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, ErrTooLarge) && r.err == nil {
		r.err = err
	}
	return n, err
}

func newHTTPError(resp *http.Response) *HTTPError {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	e := &HTTPError{
		Status:     resp.StatusCode,
		RetryAfter: adapters.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Challenge:  resp.Header.Get("WWW-Authenticate"),
		Snippet:    strings.TrimSpace(strings.ToValidUTF8(string(snippet), "")),
	}
	return e
}

// unwrapURLError drops *url.Error's "Post \"URL\":" prefix, which repeats
// what the caller already says.
func unwrapURLError(err error) error {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && strings.HasPrefix(err.Error(), "Post ") {
		if inner := u.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
