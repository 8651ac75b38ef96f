package sim

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authenticator does what sipXconfig's Spring Security chain does on
// /services/*: Basic (pre-emptive) or Digest credentials, ROLE_ADMIN
// required, no session. An anonymous call is challenged with Digest only,
// so a client that waits for a Basic challenge never gets in.
type authenticator struct {
	realm string
	now   func() time.Time
	key   []byte
	// nonceLife is how long a Digest nonce is accepted (Spring's default
	// for sipXconfig is 10 s; a stale nonce is re-challenged with
	// stale=true, which clients answer without asking the user).
	nonceLife time.Duration
}

func newAuthenticator(realm string, now func() time.Time) *authenticator {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &authenticator{realm: realm, now: now, key: key, nonceLife: 10 * time.Second}
}

// credentialLookup returns a user's HA1 (md5(user:realm:password)) and
// whether the user is an administrator.
type credentialLookup func(user string) (ha1 string, admin, ok bool)

// check authenticates r; when it returns false the answer has been written.
func (a *authenticator) check(w http.ResponseWriter, r *http.Request, lookup credentialLookup) bool {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	var (
		admin, ok bool
	)
	switch strings.ToLower(scheme) {
	case "basic":
		user, pass, hasBasic := r.BasicAuth()
		if !hasBasic {
			a.challengeBasic(w)
			return false
		}
		ha1, isAdmin, known := lookup(user)
		if !known || !equalHex(ha1, md5hex(user+":"+a.realm+":"+pass)) {
			a.challengeBasic(w)
			return false
		}
		admin, ok = isAdmin, true
	case "digest":
		var stale bool
		admin, ok, stale = a.checkDigest(r.Method, parseDigest(rest), lookup)
		if !ok {
			a.challengeDigest(w, stale)
			return false
		}
	default:
		a.challengeDigest(w, false)
		return false
	}
	if ok && !admin {
		http.Error(w, "Access is denied", http.StatusForbidden)
		return false
	}
	return true
}

func (a *authenticator) challengeBasic(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", a.realm))
	http.Error(w, "Bad credentials", http.StatusUnauthorized)
}

func (a *authenticator) challengeDigest(w http.ResponseWriter, stale bool) {
	v := fmt.Sprintf("Digest realm=%q, qop=\"auth\", nonce=%q", a.realm, a.nonce())
	if stale {
		v += `, stale="true"`
	}
	w.Header().Set("WWW-Authenticate", v)
	http.Error(w, "Full authentication is required to access this resource", http.StatusUnauthorized)
}

// nonce is Spring's stateless form: base64(expiry ":" mac(expiry)).
func (a *authenticator) nonce() string {
	exp := strconv.FormatInt(a.now().Add(a.nonceLife).UnixMilli(), 10)
	return base64.StdEncoding.EncodeToString([]byte(exp + ":" + a.mac(exp)))
}

func (a *authenticator) mac(s string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// nonceState reports whether a nonce is ours and whether it has expired.
func (a *authenticator) nonceState(n string) (valid, expired bool) {
	raw, err := base64.StdEncoding.DecodeString(n)
	if err != nil {
		return false, false
	}
	exp, mac, ok := strings.Cut(string(raw), ":")
	if !ok || !hmac.Equal([]byte(mac), []byte(a.mac(exp))) {
		return false, false
	}
	ms, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return false, false
	}
	return true, a.now().UnixMilli() > ms
}

func (a *authenticator) checkDigest(method string, p map[string]string, lookup credentialLookup) (admin, ok, stale bool) {
	valid, expired := a.nonceState(p["nonce"])
	if !valid || p["realm"] != a.realm || p["username"] == "" || p["uri"] == "" {
		return false, false, false
	}
	ha1, isAdmin, known := lookup(p["username"])
	if !known {
		return false, false, false
	}
	ha2 := md5hex(method + ":" + p["uri"])
	var want string
	switch p["qop"] {
	case "auth":
		want = md5hex(strings.Join([]string{ha1, p["nonce"], p["nc"], p["cnonce"], "auth", ha2}, ":"))
	case "":
		want = md5hex(ha1 + ":" + p["nonce"] + ":" + ha2)
	default:
		return false, false, false
	}
	if !equalHex(want, p["response"]) {
		return false, false, false
	}
	if expired {
		return false, false, true
	}
	return isAdmin, true, false
}

// parseDigest reads the comma-separated key=value pairs of a Digest
// Authorization header; values may be quoted.
func parseDigest(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ,")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				break
			}
			v, s = rest[1:1+end], rest[2+end:]
		} else {
			v, s, _ = strings.Cut(rest, ",")
			v = strings.TrimSpace(v)
		}
		out[k] = v
	}
	return out
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func equalHex(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(a)), []byte(strings.ToLower(b))) == 1
}
