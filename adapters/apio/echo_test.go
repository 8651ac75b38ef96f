package apio_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/apio"
	"github.com/pbxbatch/pbxbatch/internal/redact/redacttest"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// A server that echoes what it was sent (the login body, the bearer token)
// in its error text: neither the password nor the token reaches an error
// message, in any encoding.
func TestEchoedPasswordAndTokenAreMasked(t *testing.T) {
	const pw, token = `s3c&<r>"'t-pw`, "tok-0123456789abcdef"
	refuseLogin := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/login") {
			if refuseLogin {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": "bad request: " + string(body)})
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"token": token})
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "refused for " + r.Header.Get("Authorization")})
	}))
	defer srv.Close()
	tg := adapters.Target{Name: "echo", Adapter: "apio", URL: srv.URL, Username: "admin", Password: adapters.NewSecret(pw), HTTPClient: srv.Client()}
	_, err := apio.New().Open(context.Background(), tg)
	if err == nil || !strings.Contains(err.Error(), "bad request") {
		t.Fatalf("login against an echoing server: %v", err)
	}
	if found := redacttest.Leaks(err.Error(), pw); len(found) > 0 {
		t.Errorf("the login error holds the password (%v): %s", found, err)
	}
	refuseLogin = false
	c, err := apio.New().Open(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Get(context.Background(), "virtual_user", schemas.Record{"tenant": "t", "group": "g", "phoneNumber": "+3212345678"})
	if err == nil || !strings.Contains(err.Error(), "refused for") {
		t.Fatalf("get against an echoing server: %v", err)
	}
	if found := redacttest.Leaks(err.Error(), token); len(found) > 0 {
		t.Errorf("the error holds the session token (%v): %s", found, err)
	}
}
