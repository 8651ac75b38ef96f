// Package sim is a faithful in-memory MX-ONE Provisioning Manager: the REST
// API of "Provisioning Manager REST API – Description" (21/1551-ANF 901 15
// Uen AB), with its paths, verbs, envelopes, status codes, pagination, auth
// flow and quirks, plus the integrity a real exchange enforces, behind the
// shared simulator switches of internal/simkit.
//
// Readings of what the document leaves open, chosen here (a client must
// tolerate the other reading too):
//
//   - Auth: HS512 JWTs with claims role, USER_REC_ID, sub, iat, exp; the
//     token is accepted as "Authorization: Bearer <t>" or as the raw header
//     value. Missing, invalid or expired tokens get 401 with the
//     ErrorEnvelope; a valid token without the privilege gets 403.
//   - The built-in administrator account (Options.Username, default "admin")
//     is userRecId 1 and is not a user record; users created through the API
//     start at userRecId 2. A user created with newPassword can log in too,
//     as a non-admin (role "2"); three failed logins lock it (locked users).
//   - Errors of every endpoint use the auth ErrorEnvelope. Duplicate natural
//     keys, missing references, deleting a referenced record and numbers
//     outside the EX series are 400 with mitelErrorCode DUPLICATE_ENTRY,
//     INVALID_REFERENCE, ENTITY_IN_USE or NUMBER_NOT_IN_SERIES; a duplicate's
//     errorMsg contains "already exists".
//   - Page style A ({items,count,pageNo,pageSize} wrapped in an array)
//     numbers pages from 0 unless Options.OneBasedPages; style B (Spring,
//     departments) always from 0 as documented. count and totalElements are
//     totals over all pages.
//   - The preface rule: zero, false and empty fields are omitted from
//     records. Page envelopes always carry all their fields.
//   - PUT bodies merge: fields present replace, absent fields are kept. To
//     clear a field send "" (or [] for a list).
//   - GET /pm-extension-ms/pm-extension/v1/{userRecId} returns an ARRAY of
//     ExtensionDetail (the document shows one object; a user may own
//     several extensions).
//   - GET number-series/{type} always answers an array of
//     {numberType,start,end} (the document shows one object).
//   - Number series are declared on the subsystem POST/PUT body in a
//     "numberSeries" field (not in the document: in a real exchange they
//     already exist; see adapters/mxone/README.md §1). Accepted forms:
//     [{"numberType":"EX","start":"1000","end":"1999"}], ["EX:1000-1999"],
//     or "EX:1000-1999;R1:5000-5009". A PUT without it keeps the series. A
//     TelephonyServer without an EX series accepts no extension.
//   - A subsystem's location is resolved by "locationName" first, then by
//     "location" as an id (or a name).
//   - ExtensionDetail carries the typed body's fields as mapped in
//     adapters/mxone/README.md §3 (detailMap); fields with no home in the
//     VO are only in the typed POST/PUT echo.
//   - server-details/{subsystemName}?extensionNumber=All lists the
//     subsystem's extensions: the only way to enumerate them.
//   - Passwords, PINs, authentication keys and authorization codes are never
//     returned. As documented, UserRecord has no mobileNumber, secretMobile
//     or alternativeNumber: they are write-only.
//   - /_sim/reset restores the seeded state (the seed given to New).
package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// Options configure a simulator.
type Options struct {
	simkit.Options
	// OneBasedPages makes page style A count pages from 1 (the documented
	// default) instead of 0 (what every sample URL uses).
	OneBasedPages bool
	// Seed is loaded at start and again on /_sim/reset.
	Seed *Seed
	// JWTSecret signs tokens; empty means a fixed development secret, so
	// tokens survive a simulator restart within their lifetime.
	JWTSecret []byte
}

// DefaultTokenLifetime is the lifetime of the login note and the sample JWT.
const DefaultTokenLifetime = 45 * time.Minute

// Sim is the simulator: an http.Handler with the simkit switches applied.
type Sim struct {
	api     *api
	handler http.Handler
	stats   *simkit.Stats
	opts    Options
}

// New builds a simulator. It fails only when the seed is inconsistent.
func New(o Options) (*Sim, error) {
	if o.Username == "" {
		o.Username = "admin"
	}
	if o.Password == "" {
		o.Password = "admin"
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	if len(o.JWTSecret) == 0 {
		o.JWTSecret = []byte("pbxbatch-mxone-simulator-hs512-development-secret")
	}
	st := &simkit.Stats{}
	a := &api{opts: o, stats: st}
	a.routes()
	if err := a.reset(); err != nil {
		return nil, err
	}
	return &Sim{api: a, handler: simkit.Wrap(a, o.Options, st), stats: st, opts: o}, nil
}

// ServeHTTP serves the Provisioning Manager API and /_sim/.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Start serves the simulator on listen ("127.0.0.1:0" for a free port).
func (s *Sim) Start(listen string) (*simkit.Server, error) {
	return simkit.Start(listen, s, s.opts.Options)
}

// Stats returns a snapshot of the counters.
func (s *Sim) Stats() simkit.StatsSnapshot { return s.stats.Snapshot() }

// Reset restores the seeded state and zeroes the counters, like /_sim/reset.
func (s *Sim) Reset() error {
	s.stats.Reset()
	return s.api.reset()
}

// Credentials returns the administrator's username and password.
func (s *Sim) Credentials() (username, password string) {
	return s.opts.Username, s.opts.Password
}

// api is the Provisioning Manager itself, without the switches.
type api struct {
	opts  Options
	stats *simkit.Stats
	mux   *http.ServeMux

	mu sync.Mutex
	st *state
}

var (
	_ simkit.Router      = (*api)(nil)
	_ simkit.Resetter    = (*api)(nil)
	_ simkit.FaultWriter = (*api)(nil)
)

func (a *api) reset() error {
	st := newState()
	if a.opts.Seed != nil {
		if err := st.load(a.opts.Seed); err != nil {
			return err
		}
	}
	a.mu.Lock()
	a.st = st
	a.mu.Unlock()
	return nil
}

// Reset implements simkit.Resetter. A seed that loaded at New loads again.
func (a *api) Reset() { _ = a.reset() }

// Route implements simkit.Router: the route is the mux pattern, so stats
// group "GET /user-ms/user/by-rec-id/v1/{userRecId}" and not every id.
func (a *api) Route(r *http.Request) simkit.Route {
	_, pattern := a.mux.Handler(r)
	if pattern == "" {
		pattern = r.Method + " (unknown)"
	}
	class := simkit.ClassWrite
	switch {
	case strings.HasPrefix(r.URL.Path, "/auth/"):
		class = simkit.ClassAuth
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		class = simkit.ClassRead
	}
	return simkit.Route{Name: pattern, Class: class}
}

// WriteFault implements simkit.FaultWriter: injected faults look like the
// platform's own errors.
func (a *api) WriteFault(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	writeError(w, &apiError{status: status, code: "SERVICE_ERROR", msg: msg})
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := a.mux.Handler(r); pattern == "" {
		a.notRouted(w, r)
		return
	}
	a.mux.ServeHTTP(w, r) // sets the path values Handler does not
}

// notRouted answers 405 when the path exists for another verb, else 404.
func (a *api) notRouted(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := a.mux.Handler(probe); p != "" {
			writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: "METHOD_NOT_ALLOWED",
				msg: fmt.Sprintf("%s is not supported on %s", r.Method, r.URL.Path)})
			return
		}
	}
	writeError(w, errNotFound("no endpoint %s %s", r.Method, r.URL.Path))
}

// endpoint is one handler: it returns the status and body (nil: no body).
type endpoint func(c *call) (int, any, error)

// call is one authenticated request.
type call struct {
	r       *http.Request
	account account
	st      *state
	stats   *simkit.Stats
}

type access int

const (
	public access = iota // no token (login, refresh)
	anyRole
	adminOnly // "Only Admin users" in the document
)

// handle registers an endpoint. The state lock is held for the whole call:
// one writer at a time is what keeps the integrity rules simple and true.
func (a *api) handle(pattern string, acc access, fn endpoint) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c := &call{r: r, stats: a.stats}
		if acc != public {
			acct, err := a.authenticate(r)
			if err == nil && acc == adminOnly && !acct.admin {
				err = &apiError{status: http.StatusForbidden, code: "ACCESS_DENIED",
					msg: "only administrators may use " + r.Method + " " + r.URL.Path}
			}
			if err != nil {
				writeError(w, err)
				return
			}
			c.account = acct
		}
		a.mu.Lock()
		c.st = a.st
		status, body, err := fn(c)
		a.mu.Unlock()
		if err != nil {
			writeError(w, err)
			return
		}
		if body == nil {
			w.WriteHeader(status)
			return
		}
		simkit.WriteJSON(w, status, body)
	})
}

// apiError is an error answered with the ErrorEnvelope.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// errorEnvelope is the documented error body (auth chapter), used for every
// error as the document's 400/401/403/404 rows have no body of their own.
type errorEnvelope struct {
	MitelErrorCode string `json:"mitelErrorCode"`
	ErrorMsg       string `json:"errorMsg"`
	DeveloperMsg   string `json:"developerMsg"`
	ResponseStatus string `json:"responseStatus"`
	ResponseCode   int    `json:"responseCode"`
}

func writeError(w http.ResponseWriter, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{status: http.StatusInternalServerError, code: "INTERNAL_ERROR", msg: err.Error()}
	}
	// Spring's HttpStatus renders as "400 BAD_REQUEST".
	reason := strings.ToUpper(strings.ReplaceAll(http.StatusText(e.status), " ", "_"))
	reason = strings.ReplaceAll(reason, "-", "_")
	simkit.WriteJSON(w, e.status, errorEnvelope{
		MitelErrorCode: e.code,
		ErrorMsg:       e.msg,
		DeveloperMsg:   e.code + ": " + e.msg,
		ResponseStatus: strconv.Itoa(e.status) + " " + reason,
		ResponseCode:   e.status,
	})
}

func errBadRequest(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "VALIDATION_FAILED", msg: fmt.Sprintf(format, args...)}
}

func errNotFound(format string, args ...any) error {
	return &apiError{status: http.StatusNotFound, code: "NOT_FOUND", msg: fmt.Sprintf(format, args...)}
}

func errDuplicate(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "DUPLICATE_ENTRY", msg: fmt.Sprintf(format, args...)}
}

func errReference(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "INVALID_REFERENCE", msg: fmt.Sprintf(format, args...)}
}

func errInUse(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "ENTITY_IN_USE", msg: fmt.Sprintf(format, args...)}
}

// maxBody bounds request bodies; the largest documented body is a few KiB.
const maxBody = 1 << 20

// body decodes a JSON object request body, keeping numbers exact.
func (c *call) body() (map[string]any, error) {
	var m map[string]any
	if err := c.decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errBadRequest("request body must be a JSON object")
	}
	return m, nil
}

func (c *call) decode(v any) error {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &apiError{status: http.StatusUnsupportedMediaType, code: "UNSUPPORTED_MEDIA_TYPE",
				msg: fmt.Sprintf("Content-Type %q is not supported; send application/json", ct)}
		}
	}
	dec := json.NewDecoder(io.LimitReader(c.r.Body, maxBody))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errBadRequest("request body is missing")
		}
		return errBadRequest("request body is not valid JSON: %v", err)
	}
	return nil
}

// query returns a mandatory query parameter.
func (c *call) query(name string) (string, error) {
	v := c.r.URL.Query().Get(name)
	if v == "" {
		return "", errBadRequest("required request parameter '%s' is not present", name)
	}
	return v, nil
}

// intPath parses an integer path parameter.
func (c *call) intPath(name string) (int, error) {
	v := c.r.PathValue(name)
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errBadRequest("path parameter %s must be an integer, got %q", name, v)
	}
	return n, nil
}
