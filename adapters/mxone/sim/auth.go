package sim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// account is who a token speaks for.
type account struct {
	recID  int
	userID string
	admin  bool
}

// adminRecID is the built-in administrator's userRecId (the sample JWT's).
const adminRecID = 1

// maxFailedLogins locks a user account, as PM's locked-users chapter implies.
const maxFailedLogins = 3

// refreshLifetime bounds an unused refresh token.
const refreshLifetime = 24 * time.Hour

type refreshGrant struct {
	recID   int
	expires time.Time
}

type claims struct {
	Role      string `json:"role"`
	UserRecID string `json:"USER_REC_ID"`
	Sub       string `json:"sub"`
	Iat       int64  `json:"iat"`
	Exp       int64  `json:"exp"`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS512"}`))

func (a *api) sign(acct account) string {
	now := a.opts.Clock()
	role := "2"
	if acct.admin {
		role = "1"
	}
	payload, _ := json.Marshal(claims{
		Role: role, UserRecID: strconv.Itoa(acct.recID), Sub: acct.userID,
		Iat: now.Unix(), Exp: now.Add(a.opts.TokenLifetime).Unix(),
	})
	unsigned := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	return unsigned + "." + a.mac(unsigned)
}

func (a *api) mac(unsigned string) string {
	m := hmac.New(sha512.New, a.opts.JWTSecret)
	m.Write([]byte(unsigned))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func errAuth(format string, args ...any) error {
	return &apiError{status: http.StatusUnauthorized, code: "AUTHENTICATION_FAILURE", msg: fmt.Sprintf(format, args...)}
}

// authenticate checks the token of a request and returns its account.
func (a *api) authenticate(r *http.Request) (account, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return account{}, errAuth("Authentication Failure: no token; log in with POST /auth/login and send Authorization: Bearer <token>")
	}
	if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		h = strings.TrimSpace(rest)
	}
	parts := strings.Split(h, ".")
	if len(parts) != 3 || parts[0] != jwtHeader {
		return account{}, errAuth("Authentication Failure: malformed token")
	}
	if !hmac.Equal([]byte(a.mac(parts[0]+"."+parts[1])), []byte(parts[2])) {
		return account{}, errAuth("Authentication Failure: invalid token signature")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var cl claims
	if err == nil {
		err = json.Unmarshal(raw, &cl)
	}
	if err != nil {
		return account{}, errAuth("Authentication Failure: malformed token")
	}
	if a.opts.Clock().Unix() >= cl.Exp {
		return account{}, errAuth("Authentication Failure: token expired; refresh it with POST /auth/refresh-token or log in again")
	}
	recID, _ := strconv.Atoi(cl.UserRecID)
	acct := account{recID: recID, userID: cl.Sub, admin: cl.Role == "1"}
	if !acct.admin {
		// A deleted or locked user's tokens die with it.
		a.mu.Lock()
		u := a.st.users[recID]
		a.mu.Unlock()
		if u == nil || u.locked {
			return account{}, errAuth("Authentication Failure: user %s is deleted or locked", cl.Sub)
		}
	}
	return acct, nil
}

func (a *api) authRoutes() {
	a.handle("POST /auth/login", public, a.login)
	a.handle("GET /auth/testToken", anyRole, func(c *call) (int, any, error) {
		tok := strings.TrimSpace(c.r.Header.Get("Authorization"))
		if scheme, rest, ok := strings.Cut(tok, " "); ok && strings.EqualFold(scheme, "Bearer") {
			tok = strings.TrimSpace(rest)
		}
		return http.StatusOK, tok, nil
	})
	a.handle("POST /auth/refresh-token", public, a.refresh)
}

type loginResponse struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refreshToken"`
	Version      string `json:"version,omitempty"`
	Build        string `json:"build,omitempty"`
	Brand        string `json:"brand,omitempty"`
}

func errLogin(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "LOGIN_FAILED", msg: fmt.Sprintf(format, args...)}
}

func (a *api) login(c *call) (int, any, error) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Username == "" || req.Password == "" {
		return 0, nil, errLogin("username and password are required")
	}
	var acct account
	switch u := c.st.userByID[req.Username]; {
	case req.Username == a.opts.Username:
		if !equal(req.Password, a.opts.Password) {
			return 0, nil, errLogin("invalid username or password")
		}
		acct = account{recID: adminRecID, userID: a.opts.Username, admin: true}
	case u != nil && u.password != "":
		if u.locked {
			return 0, nil, errLogin("user %s is locked; an administrator must unlock it (PUT /user-ms/locked-user/v1?userId=)", u.userID)
		}
		if !equal(req.Password, u.password) {
			u.failedLogins++
			if u.failedLogins >= maxFailedLogins {
				u.locked = true
			}
			return 0, nil, errLogin("invalid username or password")
		}
		u.failedLogins = 0
		acct = account{recID: u.recID, userID: u.userID}
	default:
		return 0, nil, errLogin("invalid username or password")
	}
	return http.StatusOK, loginResponse{
		Token:        a.sign(acct),
		RefreshToken: c.st.grant(acct.recID, a.opts.Clock()),
		Version:      "7.6.SP1.HF2",
		Build:        "7.6.1.2.14",
		Brand:        "mxone",
	}, nil
}

func (a *api) refresh(c *call) (int, any, error) {
	var req struct {
		UserRecID    json.Number `json:"userRecId"`
		RefreshToken string      `json:"refreshToken"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	recID, err := strconv.Atoi(req.UserRecID.String())
	if err != nil || req.RefreshToken == "" {
		return 0, nil, errLogin("userRecId (an integer) and refreshToken are required")
	}
	g, ok := c.st.refresh[req.RefreshToken]
	now := a.opts.Clock()
	if !ok || g.recID != recID || !now.Before(g.expires) {
		return 0, nil, errLogin("invalid or expired refresh token for userRecId %d; log in again", recID)
	}
	// Rotation: the old refresh token is spent.
	delete(c.st.refresh, req.RefreshToken)
	acct := account{recID: adminRecID, userID: a.opts.Username, admin: true}
	if recID != adminRecID {
		u := c.st.users[recID]
		if u == nil || u.locked {
			return 0, nil, errLogin("user %d is deleted or locked; log in again", recID)
		}
		acct = account{recID: u.recID, userID: u.userID}
	}
	return http.StatusOK, loginResponse{Token: a.sign(acct), RefreshToken: c.st.grant(recID, now)}, nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// newUUID returns a random version-4 UUID, the refresh token's documented form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
