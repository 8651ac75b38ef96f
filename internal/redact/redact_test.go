package redact

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/internal/redact/redacttest"
)

// body is a request body as a client sends it: the secret JSON-escaped.
func body(secret string) string {
	b, _ := json.Marshal(map[string]string{"userId": "jdoe", "password": secret})
	return string(b)
}

// Every echo style a server uses, built with the standard library, loses
// the secret; what is not secret stays readable.
func TestEveryEchoStyleIsMasked(t *testing.T) {
	secrets := []string{`p&ss<w>rd"it's`, `Zq9!sécret/ü`, `plain-secret-123`, "ab\"c"}
	for _, secret := range secrets {
		r := New(secret)
		b := body(secret)
		jsonAgain, _ := json.Marshal(b)
		styles := map[string]string{
			"as typed":      "rejected value " + secret + " for password",
			"json body":     "invalid request: " + b,
			"json again":    `{"message":` + string(jsonAgain) + `}`,
			"html":          "<pre>" + html.EscapeString(b) + "</pre>",
			"html as typed": "<p>" + html.EscapeString(secret) + "</p>",
			"url":           "echo=" + url.QueryEscape(b),
			"url as typed":  "/login?pw=" + url.PathEscape(secret),
			"base64 body":   "X-Echo: " + base64.StdEncoding.EncodeToString([]byte(b)),
			"base64 basic":  "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+secret)),
			"base64 url":    base64.URLEncoding.EncodeToString([]byte("xx" + secret + "yy")),
		}
		for name, echo := range styles {
			got := r.String(echo)
			if len(redacttest.Leaks(got, secret)) > 0 {
				t.Errorf("%q, %s: %q still holds the secret", secret, name, got)
			}
			if !strings.Contains(got, Mask) {
				t.Errorf("%q, %s: nothing masked in %q", secret, name, got)
			}
		}
		if got := r.String("POST /users: 400 Bad Request"); got != "POST /users: 400 Bad Request" {
			t.Errorf("a message without the secret changed: %q", got)
		}
	}
}

// A message cut short in the middle of a secret does not keep its start.
func TestACutMessageLosesTheSecretsStart(t *testing.T) {
	r := New("hunter2-long-secret")
	got := r.String(`{"user":"jdoe","password":"hunter2-lo…; extension written`)
	if strings.Contains(got, "hunter2") {
		t.Errorf("%q keeps the start of the secret", got)
	}
}

func TestShortAndEmptySecretsAreIgnored(t *testing.T) {
	r := New("", "1", Mask)
	if got := r.String("extension 1 failed"); got != "extension 1 failed" {
		t.Errorf("got %q", got)
	}
	var none *Redactor
	if none.String("x") != "x" {
		t.Error("a nil Redactor changed text")
	}
}
