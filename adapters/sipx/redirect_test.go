package sipx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/sipx"
)

// TestBasicCredentialsNeverFollowARedirect: a sipXconfig (or a proxy in
// front of it) that redirects to another port must not receive the Basic
// credentials there; the redirect is a configuration error naming it.
func TestBasicCredentialsNeverFollowARedirect(t *testing.T) {
	var credentials atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			credentials.Add(1)
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(other.Close)
	pbx := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(pbx.Close)
	tg := adapters.Target{Name: "pbx", URL: pbx.URL, Username: "superadmin", Password: adapters.NewSecret("1234"), HTTPClient: pbx.Client()}
	_, err := sipx.New().Open(context.Background(), tg)
	if adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), other.URL) || !strings.Contains(err.Error(), "never follows redirects") {
		t.Errorf("Open against a redirect: %v; want a permanent error naming %s", err, other.URL)
	}
	if n := credentials.Load(); n != 0 {
		t.Fatalf("Basic credentials reached the redirect's target %d times", n)
	}
}
