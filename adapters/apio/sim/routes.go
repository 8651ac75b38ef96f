package sim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters/apio/api"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// server is APIO itself, without the switches.
type server struct {
	opts    simkit.Options
	cfg     config
	stats   *simkit.Stats
	seed    simkit.Seed
	mux     *http.ServeMux
	revoked atomic.Bool

	mu     sync.Mutex // one call at a time: all-or-nothing creates stay simple
	st     *state
	tokens map[string]time.Time // token → expiry
}

const (
	usersPattern = "/api/v1/tenants/{tenant}/groups/{group}/services/virtual_users/{$}"
	userPattern  = "/api/v1/tenants/{tenant}/groups/{group}/services/virtual_users/{phone}/{$}"
)

func (a *server) routes() {
	a.mux = http.NewServeMux()
	a.mux.HandleFunc("POST "+api.LoginPath, a.login)
	a.handle("GET /api/v1/tenants/{$}", a.listTenants)
	a.handle("GET /api/v1/tenants/{tenant}/groups/{$}", a.listGroups)
	a.handle("GET "+usersPattern, a.listUsers)
	a.handle("POST "+usersPattern, a.createUsers)
	a.handle("GET "+userPattern, a.getUser)
	a.handle("PUT "+userPattern, a.putUser)
	a.handle("DELETE "+userPattern, a.deleteUser)
}

// endpoint answers one authenticated call, the state lock held.
type endpoint func(r *http.Request, st *state) (int, any, error)

func (a *server) handle(pattern string, fn endpoint) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if err := a.authenticate(r); err != nil {
			writeError(w, err)
			return
		}
		status, body, err := fn(r, a.st)
		if err != nil {
			writeError(w, err)
			return
		}
		simkit.WriteJSON(w, status, body)
	})
}

// authenticate checks the Bearer token; a.mu is held.
func (a *server) authenticate(r *http.Request) error {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return &apiError{http.StatusUnauthorized, "authentication required: log in with POST " + api.LoginPath + " and send Authorization: Bearer <token>"}
	}
	exp, ok := a.tokens[strings.TrimSpace(tok)]
	if !ok || !a.opts.Clock().Before(exp) {
		return &apiError{http.StatusUnauthorized, "invalid or expired token: log in again"}
	}
	return nil
}

func (a *server) login(w http.ResponseWriter, r *http.Request) {
	var req api.Login
	if err := decode(r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	if a.revoked.Load() || !equal(req.Username, a.opts.Username) || !equal(req.Password, a.opts.Password) {
		writeError(w, &apiError{http.StatusUnauthorized, "invalid username or password"})
		return
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	a.mu.Lock()
	a.tokens[tok] = a.opts.Clock().Add(a.opts.TokenLifetime)
	a.mu.Unlock()
	simkit.WriteJSON(w, http.StatusOK, api.Token{Token: tok})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (a *server) listTenants(_ *http.Request, st *state) (int, any, error) {
	out := api.Tenants{Tenants: []api.Tenant{}}
	for _, t := range sortedKeys(st.tenants) {
		out.Tenants = append(out.Tenants, api.Tenant{TenantID: t})
	}
	return http.StatusOK, out, nil
}

func (a *server) listGroups(r *http.Request, st *state) (int, any, error) {
	t, ok := st.tenants[r.PathValue("tenant")]
	if !ok {
		return 0, nil, errNotFound("tenant %q not found", r.PathValue("tenant"))
	}
	out := api.Groups{Groups: []api.Group{}}
	for _, g := range sortedKeys(t) {
		out.Groups = append(out.Groups, api.Group{GroupID: g})
	}
	return http.StatusOK, out, nil
}

func (a *server) listUsers(r *http.Request, st *state) (int, any, error) {
	g, err := st.group(r)
	if err != nil {
		return 0, nil, err
	}
	var raw map[string]json.RawMessage
	if err := decode(r, &raw, true); err != nil {
		return 0, nil, err
	}
	q, err := parseCriteria(raw)
	if err != nil {
		return 0, nil, err
	}
	out := api.Users{Users: []api.User{}}
	for _, p := range sortedKeys(g.users) {
		if q.limit > 0 && len(out.Users) == q.limit {
			break
		}
		u := *g.users[p]
		if q.match(u) {
			u.CLIFirstName, u.CLILastName = "", "" // not in the list view
			out.Users = append(out.Users, u)
		}
	}
	return http.StatusOK, out, nil
}

func (a *server) createUsers(r *http.Request, st *state) (int, any, error) {
	g, err := st.group(r)
	if err != nil {
		return 0, nil, err
	}
	var raw map[string]json.RawMessage
	if err := decode(r, &raw, false); err != nil {
		return 0, nil, err
	}
	users, err := a.newUsers(raw)
	if err != nil {
		return 0, nil, err
	}
	if err := st.checkNew(g, users, a.stats); err != nil {
		return 0, nil, err
	}
	for _, u := range users {
		st.add(g, u)
		a.stats.Created(Kind)
	}
	return http.StatusCreated, struct{}{}, nil
}

func (a *server) getUser(r *http.Request, st *state) (int, any, error) {
	g, err := st.group(r)
	if err != nil {
		return 0, nil, err
	}
	u, ok := g.users[digits(r.PathValue("phone"))]
	if !ok {
		return 0, nil, errNotFound("user %s not found in group %s", r.PathValue("phone"), g.id)
	}
	out := *u
	out.PhoneNumber = "" // the path names it
	return a.cfg.getStatus, out, nil
}

func (a *server) putUser(r *http.Request, st *state) (int, any, error) {
	g, err := st.group(r)
	if err != nil {
		return 0, nil, err
	}
	u, ok := g.users[digits(r.PathValue("phone"))]
	if !ok {
		return 0, nil, errBad("user %s not found in the group %s", r.PathValue("phone"), g.id)
	}
	var req map[string]*string
	if err := decode(r, &req, false); err != nil {
		return 0, nil, err
	}
	next, err := a.merged(*u, req)
	if err != nil {
		return 0, nil, err
	}
	if next.Extension != u.Extension {
		if other, taken := g.byExt[next.Extension]; taken {
			return 0, nil, errBad("extension %s %s in group %s (user %s)", next.Extension, api.ErrAlreadyExists, g.id, other)
		}
		delete(g.byExt, u.Extension)
		g.byExt[next.Extension] = u.PhoneNumber
	}
	*u = next
	return http.StatusOK, struct{}{}, nil
}

func (a *server) deleteUser(r *http.Request, st *state) (int, any, error) {
	g, err := st.group(r)
	if err != nil {
		return 0, nil, err
	}
	st.remove(g, r.PathValue("phone")) // a missing user is no error, as documented
	return http.StatusOK, struct{}{}, nil
}
