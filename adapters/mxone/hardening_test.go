package mxone

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// TestLoginNeverFollowsARedirect: a PM behind a proxy that answers the
// login with 307/308 to another host, https → http: the login body (with
// the password) must not be sent there, and the redirect is a
// configuration error naming where it points.
func TestLoginNeverFollowsARedirect(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "right-password") {
			t.Error("the password followed the redirect")
		}
	}))
	t.Cleanup(other.Close)
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		pm := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/auth/login?next=1", status)
		}))
		tg := adapters.Target{Name: "test", URL: pm.URL, Username: "admin", Password: adapters.NewSecret("right-password"), HTTPClient: pm.Client()}
		_, err := New().Open(context.Background(), tg)
		pm.Close()
		if adapters.ClassOf(err) != adapters.Permanent || !strings.Contains(err.Error(), other.URL+"/auth/login") ||
			!strings.Contains(err.Error(), "plain http") || strings.Contains(err.Error(), "next=1") {
			t.Errorf("login answered %d: %v; want a permanent error naming the Location (without its query) and saying it leaves TLS", status, err)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("%d requests reached the redirect's target", n)
	}
}

// TestBlankOrCutAnswerIsNeverNoRecords: an export through a bad proxy that
// answers 200 with an empty, blank, truncated or oversized body fails; it
// never lists nothing.
func TestBlankOrCutAnswerIsNeverNoRecords(t *testing.T) {
	var answer atomic.Value
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, answer.Load().(string))
	})
	conn, err := New().Open(context.Background(), target(srv, "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cn := conn.(*Conn)
	cn.c.reads.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	cn.c.http.MaxBody = 4 << 10
	whole := `[{"items":[{"locationId":1,"locationName":"A"}],"count":1,"pageNo":0,"pageSize":200}]`
	for name, body := range map[string]string{
		"empty":     "",
		"blank":     " \r\n\t ",
		"truncated": whole[:len(whole)/2],
		"trailing":  whole + `{"items":[]}`,
		"oversized": `[{"items":[` + strings.Repeat(`{"locationId":1,"locationName":"A"},`, 200) + `{"locationId":1,"locationName":"A"}]}]`,
	} {
		answer.Store(body)
		n := 0
		err := conn.List(context.Background(), "location", func(schemas.Record) error { n++; return nil })
		if err == nil {
			t.Errorf("%s 200 body: listed %d records and no error; want an error", name, n)
		} else if strings.Contains(err.Error(), "right-password") {
			t.Errorf("%s: %v carries the password", name, err)
		}
	}
	answer.Store(whole)
	n := 0
	if err := conn.List(context.Background(), "location", func(schemas.Record) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("a good answer: %d records, %v", n, err)
	}
}
