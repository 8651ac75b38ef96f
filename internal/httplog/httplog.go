// Package httplog logs every HTTP request an adapter sends (pbxbatch -v):
// method, path and query, status, duration, and the error when there is no
// response. Never headers or bodies: they carry credentials, tokens and the
// secrets of records.
package httplog

import (
	"log/slog"
	"net/http"
	"time"
)

// Transport wraps next so that each round trip is logged to log.
func Transport(next http.RoundTripper, log *slog.Logger) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{next: next, log: log}
}

type transport struct {
	next http.RoundTripper
	log  *slog.Logger
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	target := req.URL.Path
	if req.URL.RawQuery != "" {
		target += "?" + req.URL.RawQuery
	}
	attrs := []any{"method", req.Method, "url", target, "ms", time.Since(start).Milliseconds()}
	if err != nil {
		t.log.Info("request", append(attrs, "error", err.Error())...)
		return resp, err
	}
	t.log.Info("request", append(attrs, "status", resp.StatusCode)...)
	return resp, nil
}
