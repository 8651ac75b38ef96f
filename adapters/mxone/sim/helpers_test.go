package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// fakeClock is a settable clock for token expiry.
type fakeClock struct{ now time.Time }

func (f *fakeClock) Now() time.Time { return f.now }

// start runs a simulator on loopback and logs in as the administrator.
func start(t *testing.T, o Options) (*Sim, *client) {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := &client{t: t, base: srv.URL, hc: srv.Client()}
	c.login("admin", "admin")
	return s, c
}

type client struct {
	t       *testing.T
	base    string
	hc      *http.Client
	token   string
	refresh string
	raw     bool // send the token without "Bearer "
}

func (c *client) login(user, pass string) {
	c.t.Helper()
	var resp struct{ Token, RefreshToken string }
	c.call("POST", "/auth/login", map[string]string{"username": user, "password": pass}, 200, &resp)
	c.token, c.refresh = resp.Token, resp.RefreshToken
}

// do sends a request and returns the status and raw body.
func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		if c.raw {
			req.Header.Set("Authorization", c.token)
		} else {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// call asserts the status and decodes the body into out (when not nil).
func (c *client) call(method, path string, body any, want int, out any) []byte {
	c.t.Helper()
	status, b := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, b)
	}
	if out != nil {
		// Decoding into a used map would merge old keys into the answer.
		v := reflect.ValueOf(out).Elem()
		v.Set(reflect.Zero(v.Type()))
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			c.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return b
}

// fail asserts an ErrorEnvelope with status and code whose message contains
// msg, and returns the envelope.
func (c *client) fail(method, path string, body any, status int, code, msg string) errorEnvelope {
	c.t.Helper()
	var env errorEnvelope
	c.call(method, path, body, status, &env)
	if env.ResponseCode != status || !strings.HasPrefix(env.ResponseStatus, strconv.Itoa(status)+" ") {
		c.t.Errorf("%s %s: envelope status %q/%d, want %d", method, path, env.ResponseStatus, env.ResponseCode, status)
	}
	if code != "" && env.MitelErrorCode != code {
		c.t.Errorf("%s %s: mitelErrorCode %q, want %q (%s)", method, path, env.MitelErrorCode, code, env.ErrorMsg)
	}
	if !strings.Contains(env.ErrorMsg, msg) {
		c.t.Errorf("%s %s: errorMsg %q does not contain %q", method, path, env.ErrorMsg, msg)
	}
	return env
}

// obj fetches a JSON object.
func (c *client) obj(path string) map[string]any {
	c.t.Helper()
	var m map[string]any
	c.call("GET", path, nil, 200, &m)
	return m
}

// pageItems fetches a page-A list and returns its single page object.
func (c *client) pageA(path string) map[string]any {
	c.t.Helper()
	var pages []map[string]any
	c.call("GET", path, nil, 200, &pages)
	if len(pages) != 1 {
		c.t.Fatalf("GET %s: %d page objects, want an array of exactly one", path, len(pages))
	}
	return pages[0]
}

func items(page map[string]any, key string) []map[string]any {
	var out []map[string]any
	for _, it := range page[key].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// base builds the usual fixture: a location, an MX-ONE subsystem with
// EX:1000-1999, a department.
func seedBase() *Seed {
	s := &Seed{}
	s.Add("location", schemas.Record{"locationName": "Stockholm", "description": "HQ"})
	s.Add("subsystem", schemas.Record{"subsystemName": "MX1", "subsystemType": "TelephonyServer", "location": "Stockholm",
		"numberSeries": []any{"EX:1000-1999", "R1:5000-5009"}})
	s.Add("department", schemas.Record{"departmentName": "Sales", "location": "Stockholm"})
	return s
}

func jsonDecode(b []byte, v any) error { return json.Unmarshal(b, v) }
