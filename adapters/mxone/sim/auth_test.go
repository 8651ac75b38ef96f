package sim

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestLoginIssuesDocumentedJWT(t *testing.T) {
	_, c := start(t, Options{})
	var resp map[string]any
	c.call("POST", "/auth/login", map[string]string{"username": "admin", "password": "admin"}, 200, &resp)
	for _, k := range []string{"token", "refreshToken", "version", "build", "brand"} {
		if resp[k] == nil || resp[k] == "" {
			t.Errorf("login response lacks %s: %v", k, resp)
		}
	}
	if resp["brand"] != "mxone" {
		t.Errorf("brand %v", resp["brand"])
	}
	if rt := resp["refreshToken"].(string); len(rt) != 36 || strings.Count(rt, "-") != 4 {
		t.Errorf("refreshToken %q is not a UUID", rt)
	}
	parts := strings.Split(resp["token"].(string), ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a JWT: %v", resp["token"])
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if string(hdr) != `{"alg":"HS512"}` {
		t.Errorf("header %s", hdr)
	}
	var cl map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(payload, &cl); err != nil {
		t.Fatal(err)
	}
	if cl["role"] != "1" || cl["USER_REC_ID"] != "1" || cl["sub"] != "admin" {
		t.Errorf("claims %v", cl)
	}
	if exp, iat := cl["exp"].(float64), cl["iat"].(float64); exp-iat != 2700 {
		t.Errorf("lifetime %v s, want 2700 (45 min)", exp-iat)
	}
}

func TestLoginErrors(t *testing.T) {
	_, c := start(t, Options{})
	c.token = ""
	c.fail("POST", "/auth/login", map[string]string{"username": "admin", "password": "wrong"}, 400, "LOGIN_FAILED", "invalid username or password")
	c.fail("POST", "/auth/login", map[string]string{"username": "nobody", "password": "x"}, 400, "LOGIN_FAILED", "invalid")
	c.fail("POST", "/auth/login", map[string]string{}, 400, "LOGIN_FAILED", "required")
}

func TestTokenRequiredAndAccepted(t *testing.T) {
	_, c := start(t, Options{})
	tok := c.token
	// Bearer works (start logged in that way); the raw header value too.
	var got string
	c.call("GET", "/auth/testToken", nil, 200, &got)
	if got != tok {
		t.Errorf("testToken answered %q, want the token itself", got)
	}
	c.raw = true
	c.call("GET", "/system-ms/location/v1", nil, 200, nil)
	c.raw = false
	c.token = ""
	c.fail("GET", "/system-ms/location/v1", nil, 401, "AUTHENTICATION_FAILURE", "no token")
	c.token = tok[:len(tok)-4] + "AAAA"
	c.fail("GET", "/system-ms/location/v1", nil, 401, "AUTHENTICATION_FAILURE", "signature")
	c.token = "garbage"
	c.fail("GET", "/system-ms/location/v1", nil, 401, "AUTHENTICATION_FAILURE", "malformed")
}

func TestTokenExpiryAndRefreshRotation(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	o := Options{}
	o.Now = clock.Now
	o.TokenLifetime = 10 * time.Minute
	_, c := start(t, o)
	c.call("GET", "/system-ms/location/v1", nil, 200, nil)

	clock.now = clock.now.Add(10 * time.Minute)
	env := c.fail("GET", "/system-ms/location/v1", nil, 401, "AUTHENTICATION_FAILURE", "expired")
	if env.ResponseStatus != "401 UNAUTHORIZED" {
		t.Errorf("responseStatus %q", env.ResponseStatus)
	}

	old := c.refresh
	var fresh struct{ Token, RefreshToken string }
	c.call("POST", "/auth/refresh-token", map[string]any{"userRecId": 1, "refreshToken": old}, 200, &fresh)
	if fresh.Token == "" || fresh.RefreshToken == "" || fresh.RefreshToken == old {
		t.Fatalf("refresh answered %+v; want a new token and a new refresh token", fresh)
	}
	c.token = fresh.Token
	c.call("GET", "/system-ms/location/v1", nil, 200, nil)

	// The spent refresh token is dead; a refresh token of another user too.
	c.fail("POST", "/auth/refresh-token", map[string]any{"userRecId": 1, "refreshToken": old}, 400, "LOGIN_FAILED", "invalid or expired refresh token")
	c.fail("POST", "/auth/refresh-token", map[string]any{"userRecId": 7, "refreshToken": fresh.RefreshToken}, 400, "LOGIN_FAILED", "refresh token")
	// The failed attempt with the wrong user did not spend it.
	c.call("POST", "/auth/refresh-token", map[string]any{"userRecId": "1", "refreshToken": fresh.RefreshToken}, 200, nil)
}

func TestRolesAndLockedUsers(t *testing.T) {
	_, admin := start(t, Options{Seed: seedBase()})
	admin.call("POST", "/user-ms/user/v1", map[string]any{"userId": "jdoe", "firstName": "J", "lastName": "Doe", "newPassword": "s3cret"}, 201, nil)

	u := &client{t: t, base: admin.base, hc: admin.hc}
	u.login("jdoe", "s3cret")
	// A plain user may read locations but not use admin-only endpoints.
	u.call("GET", "/system-ms/location/v1", nil, 200, nil)
	u.fail("POST", "/user-ms/user/v1", map[string]any{"userId": "x"}, 403, "ACCESS_DENIED", "only administrators")
	u.fail("GET", "/system-ms/department/v1", nil, 403, "ACCESS_DENIED", "only administrators")

	anon := &client{t: t, base: admin.base, hc: admin.hc}
	for range maxFailedLogins {
		anon.fail("POST", "/auth/login", map[string]string{"username": "jdoe", "password": "bad"}, 400, "LOGIN_FAILED", "invalid")
	}
	anon.fail("POST", "/auth/login", map[string]string{"username": "jdoe", "password": "s3cret"}, 400, "LOGIN_FAILED", "locked")
	// The locked user's live token dies with the lock.
	u.fail("GET", "/system-ms/location/v1", nil, 401, "AUTHENTICATION_FAILURE", "locked")

	page := admin.pageA("/user-ms/locked-user/v1?search=All&pageno=0&pageSize=200")
	if got := items(page, "items"); len(got) != 1 || got[0]["userId"] != "jdoe" {
		t.Fatalf("locked users %v", page)
	}
	var unlocked map[string]any
	admin.call("PUT", "/user-ms/locked-user/v1?userId=jdoe", nil, 200, &unlocked)
	if unlocked["userId"] != "jdoe" || unlocked["message"] == "" {
		t.Errorf("unlock answered %v", unlocked)
	}
	u.login("jdoe", "s3cret")
	if got := items(admin.pageA("/user-ms/locked-user/v1?search=All"), "items"); len(got) != 0 {
		t.Errorf("still locked: %v", got)
	}
}
