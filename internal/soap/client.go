package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
	"github.com/pbxbatch/pbxbatch/internal/redact"
)

// Client calls the operations of SOAP services under one base URL
// (".../sipxconfig/services/"). It is safe for concurrent use.
type Client struct {
	http      *httpclient.Client
	BaseURL   string // service names are appended to it
	Namespace string // of the body root elements
	Prefix    string // bound to Namespace in requests ("con")
	auth      Auth
	// InBand, when set, reads the status a platform reports inside a 200
	// answer (Verba does): it gets the operation and the decoded out (nil
	// for a void operation) and returns the call's error, or nil.
	InBand func(op string, out any) error
	// MaxResponse bounds a response; 0 means DefaultMaxResponse.
	MaxResponse int64
}

// Auth authenticates one call: in a header, or inside the body.
type Auth interface {
	// Authorize sets what the call needs on h and returns the operation's
	// body to send: in itself, or in carrying a token.
	Authorize(h http.Header, op string, in any) any
}

// Basic sends HTTP Basic credentials pre-emptively on every call: servers
// like sipXconfig challenge an anonymous call with Digest only, so a client
// that waits for a Basic challenge never authenticates, and they keep no
// session, so every call must carry them.
// (A pointer: printing the client shows its address, never the password.)
func Basic(username string, password adapters.Secret) Auth { return &basic{username, password} }

type basic struct {
	username string
	password adapters.Secret
}

func (b *basic) secrets() []string { return []string{b.password.Reveal()} }

func (b *basic) Authorize(h http.Header, _ string, in any) any {
	r := http.Request{Header: h}
	r.SetBasicAuth(b.username, b.password.Reveal())
	return in
}

// NewClient returns a client sending through hc (httpclient.New of the
// target: pacing, deadlines, no redirects).
func NewClient(baseURL, namespace, prefix string, auth Auth, hc *httpclient.Client) *Client {
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	return &Client{http: hc, BaseURL: baseURL, Namespace: namespace, Prefix: prefix, auth: auth}
}

// Call invokes op (the request element's name, "AddUser") on service
// ("UserService"), an operation that changes state; Read is for the ones
// that do not. in holds the request's children (nil for an empty Body);
// out receives the response element's children, or is nil for a void
// operation, whose answer may be an empty Body or any empty element. A SOAP
// fault is returned as *Fault; everything else (a non-SOAP answer, a failed
// exchange, an unreadable envelope) as an *adapters.Error classified by
// internal/httpclient.
func (c *Client) Call(ctx context.Context, service, op string, in, out any) error {
	return c.call(ctx, httpclient.Write, service, op, in, out)
}

// Read is Call for an operation that changes nothing.
func (c *Client) Read(ctx context.Context, service, op string, in, out any) error {
	return c.call(ctx, httpclient.Read, service, op, in, out)
}

func (c *Client) call(ctx context.Context, effect httpclient.Effect, service, op string, in, out any) error {
	what := service + "." + op
	h := http.Header{}
	h.Set("Content-Type", "text/xml; charset=utf-8")
	h.Set("SOAPAction", `""`)
	h.Set("Accept", "text/xml")
	if c.auth != nil {
		in = c.auth.Authorize(h, op, in)
	}
	var body bytes.Buffer
	if err := EncodeRequest(&body, c.Namespace, c.Prefix, op, in); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+service, &body)
	if err != nil {
		return err
	}
	req.Header = h
	resp, err := c.http.Exchange(req, effect, what)
	if err != nil {
		return err
	}
	isXML := strings.Contains(resp.Header.Get("Content-Type"), "xml")
	if resp.Status != http.StatusOK && !(resp.Status == http.StatusInternalServerError && isXML) {
		e := httpclient.Classify(what, effect, resp.Status, resp.Header, httpclient.ErrorText(resp.Body))
		if ch := resp.Header.Get("WWW-Authenticate"); resp.Status == http.StatusUnauthorized && ch != "" {
			scheme, _, _ := strings.Cut(ch, " ")
			e.Message += fmt.Sprintf(" (the server asks for %s authentication)", scheme)
		}
		e.Message = c.redactor().String(e.Message)
		return e
	}
	name, err := ReadEnvelope(bytes.NewReader(resp.Body), c.MaxResponse, func(d *xml.Decoder, start *xml.StartElement) error {
		if out == nil {
			return d.Skip()
		}
		return d.DecodeElement(out, start)
	})
	var fault *Fault
	switch {
	case errors.As(err, &fault):
		fault.HTTPStatus = resp.Status
		fault.String = c.redactor().String(fault.String)
		return fault
	case errors.Is(err, ErrTooLarge):
		return &adapters.Error{Class: adapters.Permanent, Status: resp.Status, Message: what + ": " + err.Error() + " (the response was refused)", Err: err}
	case err != nil:
		return httpclient.Unreadable(what, effect, resp.Status, err)
	case resp.Status != http.StatusOK:
		return httpclient.Unreadable(what, effect, resp.Status, errors.New("SOAP envelope without a Fault"))
	case out != nil && name.Local == "":
		return httpclient.Unreadable(what, effect, resp.Status, ErrEmptyBody)
	}
	if c.InBand != nil {
		return c.InBand(op, out)
	}
	return nil
}

// redactor masks the credentials in what a server says, in every encoding: a
// server that echoes the request echoes its Basic credentials (base64 of
// user:password) too.
func (c *Client) redactor() *redact.Redactor {
	if s, ok := c.auth.(interface{ secrets() []string }); ok {
		return redact.New(s.secrets()...)
	}
	return nil
}
