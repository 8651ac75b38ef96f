package httplog

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLogsRequestsButNeverCredentialsOrBodies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"token":"tok-in-response"}`))
	}))
	defer srv.Close()
	var buf bytes.Buffer
	c := &http.Client{Transport: Transport(nil, slog.New(slog.NewTextHandler(&buf, nil)))}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/auth/login?x=1", strings.NewReader(`{"password":"pw-in-body"}`))
	req.Header.Set("Authorization", "Bearer tok-in-header")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	line := buf.String()
	for _, want := range []string{"method=POST", "url=\"/auth/login?x=1\"", "status=201"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %s", line, want)
		}
	}
	for _, secret := range []string{"tok-in-header", "pw-in-body", "tok-in-response"} {
		if strings.Contains(line, secret) {
			t.Errorf("log %q shows %s", line, secret)
		}
	}
}
