// Package sim is an in-memory Netaxis APIO serving the "Group Virtual On
// Net Extensions" API (seed 004) with its paths (trailing slashes
// included), verbs, bodies, status codes and quirks, behind the shared
// simulator switches of internal/simkit.
//
// Readings of what the document leaves open, chosen here (a client must
// tolerate the other reading too):
//
//   - Auth (not in seed 004; APIO's other pages require a group or tenant
//     administrator): POST /api/v01/login {"username","password"} answers
//     {"token"}; every other call carries "Authorization: Bearer <token>".
//     No, a bad or an expired token is 401; so is a failed login. Tokens
//     live Options.TokenLifetime (default DefaultTokenLifetime).
//   - Tenants and groups: a fresh system holds the GROUPS setting
//     (default footenant/foogroup, the document's examples) plus every
//     group a seed record names. An unknown tenant or group is 404.
//     GET /api/v1/tenants/ and GET /api/v1/tenants/{t}/groups/ list them
//     ({"tenants":[{"tenantId"}]}, {"groups":[{"groupId"}]}), as APIO's
//     tenant and group pages do; the adapter walks them to export.
//   - List: the search criteria travel in the GET body (an empty body is no
//     criteria); several are ANDed. An unknown criterion (the document's
//     own example sends "sensitiveDeviceNameContains") is 400 naming it:
//     ignoring it would answer more users than asked for, and a client
//     deleting what it listed would delete too much. Users are listed by
//     phone number, without CLI names, as documented.
//   - Create: virtualOnNetUsers or virtualOnNetUsersRange, never both
//     (400). A request is all-or-nothing: one member that cannot be created
//     (a phone number taken anywhere in the system, an extension taken in
//     the group or twice in the request, a bad call type, range sizes that
//     differ) refuses it with 400 and nothing is created. Ranges are
//     inclusive and paired by position; extensions keep the width and
//     leading zeros of minExtension, phone numbers an optional leading "+".
//     A range holds at most MaxRange users. firstName and lastName are
//     required (BroadWorks requires them).
//   - callType is checked against CALL_TYPES (default "default;remote");
//     absent or "", DEFAULT_CALL_TYPE applies, which is unset by default as
//     APIO ships: then it is 400.
//   - A phone number is the same with or without its leading "+" (the
//     document writes both): one user per digits, found by either name,
//     listed as it was created.
//   - The single GET answers 200 as the Status Codes section says, or 201
//     as the example shows with GET_USER_STATUS=201. It has no phoneNumber
//     (the path names it). A missing user is 404.
//   - PUT merges: absent fields keep their value, "" clears a name and
//     keeps the call type (the document's example sends "callType": "").
//     A missing user is 400, not 404, as documented.
//   - DELETE of a missing user is 200 {}, as documented.
//   - Errors are {"error": "..."} (the document gives no format); a taken
//     phone number or extension says "already exists".
//   - /_sim/reset restores the seeded state.
package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters/apio/api"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/internal/spelling"
)

// Kind is the stats name of a virtual user.
const Kind = "virtual_user"

// DefaultTokenLifetime is how long a token lives when Options says nothing
// (the document says nothing either).
const DefaultTokenLifetime = time.Hour

// MaxRange bounds the users of one range create.
const MaxRange = 10000

// Settings are the keys of simkit.Options.Settings the simulator knows.
const (
	SettingDefaultCallType = "DEFAULT_CALL_TYPE" // APIO's own setting
	SettingCallTypes       = "CALL_TYPES"        // the system's call types, ";"-separated
	SettingGroups          = "GROUPS"            // tenant/group pairs of a fresh system, ";"-separated
	SettingGetUserStatus   = "GET_USER_STATUS"   // 200 (default) or 201
)

var settings = []string{SettingDefaultCallType, SettingCallTypes, SettingGroups, SettingGetUserStatus}

// Sim is the simulator with the simkit switches applied.
type Sim struct {
	api     *server
	handler http.Handler
	stats   *simkit.Stats
	opts    simkit.Options
}

// config is what the settings say.
type config struct {
	defaultCallType string
	callTypes       []string
	groups          [][2]string
	getStatus       int
}

func parseSettings(s map[string]string) (config, error) {
	c := config{callTypes: []string{"default", "remote"}, groups: [][2]string{{"footenant", "foogroup"}}, getStatus: http.StatusOK}
	for k, v := range s {
		switch k {
		case SettingDefaultCallType:
			c.defaultCallType = strings.TrimSpace(v)
		case SettingCallTypes:
			c.callTypes = splitList(v)
			if len(c.callTypes) == 0 {
				return c, fmt.Errorf("setting %s: name at least one call type", k)
			}
		case SettingGroups:
			c.groups = nil
			for _, p := range splitList(v) {
				t, g, ok := strings.Cut(p, "/")
				if !ok || t == "" || g == "" {
					return c, fmt.Errorf("setting %s: %q is not tenant/group", k, p)
				}
				c.groups = append(c.groups, [2]string{t, g})
			}
		case SettingGetUserStatus:
			switch v {
			case "200":
				c.getStatus = http.StatusOK
			case "201":
				c.getStatus = http.StatusCreated
			default:
				return c, fmt.Errorf("setting %s is 200 or 201, not %q", k, v)
			}
		default:
			msg := fmt.Sprintf("the apio simulator has no setting %q (known: %s)", k, strings.Join(settings, ", "))
			if s := spelling.Suggest(k, settings); s != "" {
				msg += "; did you mean " + s + "?"
			}
			return c, errors.New(msg)
		}
	}
	if c.defaultCallType != "" && !slices.Contains(c.callTypes, c.defaultCallType) {
		return c, fmt.Errorf("setting %s %q is not one of the call types %s", SettingDefaultCallType, c.defaultCallType, strings.Join(c.callTypes, ";"))
	}
	return c, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// New builds a simulator loaded with seed. It fails on an unknown setting
// or a seed the API would refuse.
func New(o simkit.Options, seed simkit.Seed) (*Sim, error) {
	if o.Username == "" {
		o.Username = "admin"
	}
	if o.Password == "" {
		o.Password = "admin"
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	cfg, err := parseSettings(o.Settings)
	if err != nil {
		return nil, err
	}
	st := &simkit.Stats{}
	a := &server{opts: o, cfg: cfg, stats: st, seed: seed, tokens: map[string]time.Time{}}
	a.routes()
	if err := a.reset(); err != nil {
		return nil, err
	}
	return &Sim{api: a, handler: simkit.Wrap(a, o, st), stats: st, opts: o}, nil
}

// ServeHTTP serves the APIO API and /_sim/.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Start serves the simulator on listen ("127.0.0.1:0" for a free port).
func (s *Sim) Start(listen string) (*simkit.Server, error) {
	return simkit.Start(listen, s, s.opts)
}

// Stats returns a snapshot of the counters.
func (s *Sim) Stats() simkit.StatsSnapshot { return s.stats.Snapshot() }

// Credentials returns the administrator's username and password.
func (s *Sim) Credentials() (username, password string) { return s.opts.Username, s.opts.Password }

// ExpireTokens ends every session: the next call with an old token is 401.
func (s *Sim) ExpireTokens() {
	s.api.mu.Lock()
	clear(s.api.tokens)
	s.api.mu.Unlock()
}

// Revoke makes the simulator refuse its credentials (and every session)
// until Restore.
func (s *Sim) Revoke() {
	s.ExpireTokens()
	s.api.revoked.Store(true)
}

// Restore accepts the credentials again.
func (s *Sim) Restore() { s.api.revoked.Store(false) }

// Users returns every virtual user, "tenant/group/phone" → user, for tests.
func (s *Sim) Users() map[string]api.User {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	out := map[string]api.User{}
	for tid, t := range s.api.st.tenants {
		for gid, g := range t {
			for _, u := range g.users {
				out[tid+"/"+gid+"/"+u.PhoneNumber] = *u
			}
		}
	}
	return out
}

var (
	_ simkit.Router      = (*server)(nil)
	_ simkit.Resetter    = (*server)(nil)
	_ simkit.FaultWriter = (*server)(nil)
)

// Route implements simkit.Router: the route is the mux pattern.
func (a *server) Route(r *http.Request) simkit.Route {
	_, pattern := a.mux.Handler(r)
	if pattern == "" {
		pattern = r.Method + " (unknown)"
	}
	class := simkit.ClassWrite
	switch {
	case r.URL.Path == api.LoginPath:
		class = simkit.ClassAuth
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		class = simkit.ClassRead
	}
	return simkit.Route{Name: pattern, Class: class}
}

// WriteFault implements simkit.FaultWriter.
func (a *server) WriteFault(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	simkit.WriteJSON(w, status, api.Error{Error: msg})
}

// Reset implements simkit.Resetter: the seed that loaded at New loads again.
func (a *server) Reset() { _ = a.reset() }

func (a *server) reset() error {
	st := newState()
	for _, g := range a.cfg.groups {
		st.addGroup(g[0], g[1])
	}
	if err := st.load(a.seed); err != nil {
		return err
	}
	a.mu.Lock()
	a.st = st
	clear(a.tokens)
	a.mu.Unlock()
	return nil
}

func (a *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Checked before the mux, which would redirect to the path with a
	// slash: a client must send the documented path.
	if !strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != api.LoginPath {
		writeError(w, errNotFound("no endpoint %s %s (APIO paths end with /)", r.Method, r.URL.Path))
		return
	}
	if _, pattern := a.mux.Handler(r); pattern == "" {
		writeError(w, errNotFound("no endpoint %s %s", r.Method, r.URL.Path))
		return
	}
	a.mux.ServeHTTP(w, r)
}

// apiError is an error answer.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errBad(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func errNotFound(format string, args ...any) error {
	return &apiError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{http.StatusInternalServerError, err.Error()}
	}
	simkit.WriteJSON(w, e.status, api.Error{Error: e.msg})
}

// maxBody bounds a request body.
const maxBody = 16 << 20

// decode reads a JSON body into v, refusing unknown fields; an empty body
// is an error unless optional.
func decode(r *http.Request, v any, optional bool) error {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return errBad("reading the request body: %v", err)
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		if optional {
			return nil
		}
		return errBad("the request body is missing")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return errBad("the request body is not valid JSON: %v", err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
