package httpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
)

// Classify turns a non-2xx answer into a classified error, in rclone's
// shouldRetry spirit: the adapter adds the platform's words, the runner
// decides. msg is the server's text (may be empty).
func Classify(what string, effect Effect, status int, h http.Header, msg string) *adapters.Error {
	if msg == "" {
		msg = http.StatusText(status)
	}
	e := &adapters.Error{Status: status, Message: what + ": " + msg}
	switch {
	case status >= 300 && status < 400:
		// Neither API redirects: a 3xx is a misconfigured URL or something
		// in between. Following it would send the credentials (a login
		// body, Basic auth) wherever it points.
		e.Class = adapters.Permanent
		e.Message = fmt.Sprintf("%s: the target redirects (HTTP %d) to %s; pbxbatch never follows redirects, so that credentials go nowhere else: "+
			"if that is the right address, set the target's url to it", what, status, location(h))
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		e.Class = adapters.Throttled
		e.RetryAfter = ParseRetryAfter(h.Get("Retry-After"), time.Now())
	case status >= 500:
		// A server error after a create may come after the record was
		// stored (or from a gateway that gave up waiting): read back before
		// retrying, or the retry may create a duplicate.
		e.Class = adapters.Retryable
		if effect == Write {
			e.Class = adapters.Unknown
		}
	case status == http.StatusUnauthorized:
		e.Class = adapters.Auth
	case status == http.StatusNotFound:
		e.Class = adapters.NotFound
	case status == http.StatusConflict:
		e.Class = adapters.Conflict
	default:
		e.Class = adapters.Permanent
	}
	return e
}

// location renders a redirect's Location without its query or user info,
// saying so when it leaves TLS.
func location(h http.Header) string {
	raw := h.Get("Location")
	if raw == "" {
		return "an address it does not name"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "an unreadable address"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	s := strconv.Quote(u.String())
	if u.Scheme == "http" {
		s += " (plain http: credentials would travel unencrypted)"
	}
	return s
}

// TransportError classifies an exchange that got no complete answer. A
// request that changes state and may have reached the server is Unknown:
// the runner must read back before retrying, or a create could be
// repeated. ctx is the caller's context (its cancellation is not the
// target's fault).
func TransportError(ctx context.Context, what string, effect Effect, sent bool, err error) *adapters.Error {
	err = StripURL(err)
	class := adapters.Retryable
	if sent && effect != Read {
		class = adapters.Unknown
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &adapters.Error{Class: class, Message: what + ": cancelled", Err: ctx.Err()}
	}
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) {
		// Not transient: retrying cannot make the certificate trusted.
		return &adapters.Error{Class: adapters.Permanent, Err: err, Message: fmt.Sprintf(
			"%s: the server's TLS certificate is not trusted (%v); give the target its CA certificate, do not turn verification off", what, err)}
	}
	var de *DeadlineError
	var ne net.Error
	happened := "connection failed"
	switch {
	case errors.As(err, &de):
		happened = fmt.Sprintf("no answer within %s", de.Limit.Round(time.Millisecond))
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		happened = "no answer in time"
	case sent:
		happened = "connection dropped before the answer"
	}
	if sent && effect != Read {
		happened += " (the change may have been made)"
	}
	return &adapters.Error{Class: class, Message: what + ": " + happened, Err: err}
}

// StripURL drops the request URL from a *url.Error: query strings can hold
// user ids, and the message already names the request.
func StripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ParseRetryAfter reads an HTTP Retry-After header: seconds (a fraction is
// tolerated) or an HTTP date; 0 when absent, past or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
