package soap

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
	"github.com/pbxbatch/pbxbatch/internal/redact/redacttest"
)

// A server that echoes the request's Basic credentials, in a fault or in
// an HTTP error page, does not get the password into the error.
func TestEchoedCredentialsAreMasked(t *testing.T) {
	const pw = `s3c&<r>"'t-pw`
	for name, reply := range map[string]func(w http.ResponseWriter, auth string){
		"fault": func(w http.ResponseWriter, auth string) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusInternalServerError)
			_ = EncodeFault(w, &Fault{Code: CodeServer, String: "denied for " + auth})
		},
		"page": func(w http.ResponseWriter, auth string) {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte("<html>denied: " + auth + "</html>"))
		},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reply(w, r.Header.Get("Authorization")) }))
		c := NewClient(srv.URL+"/services", testNS, "con", Basic("superadmin", adapters.NewSecret(pw)), httpclient.New(adapters.Target{HTTPClient: srv.Client()}))
		err := c.Call(context.Background(), "UserService", "AddUser", nil, nil)
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "denied") {
			t.Fatalf("%s: %v", name, err)
		}
		if found := redacttest.Leaks(err.Error(), pw); len(found) > 0 {
			t.Errorf("%s: the error %q holds the password", name, err)
		}
	}
}
