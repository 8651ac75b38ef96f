// Package sim is a sipXcom sipXconfig SOAP server in memory, faithful enough
// that a client written from the vendor's WSDLs alone works against it: the
// seven services under /sipxconfig/services/ with their WSDLs at ?wsdl,
// document/literal dispatch on the Body's first element (an empty Body calls
// getCallGroups / getParkOrbits / systemInfo), Axis-style faults (HTTP 500,
// soapenv:Server.userException, "class: message"), HTTP Basic and Digest
// authentication with admin-only access, the global alias namespace, exact
// and fuzzy user search, and the documented quirks, including the dangerous
// one: a manage* request without a search applies to every record.
//
// Latency, faults, rate limit, TLS and /_sim/stats come from simkit.
package sim

import (
	"bytes"
	"context"
	"embed"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/internal/soap"
)

//go:embed wsdl/*.wsdl
var wsdlFS embed.FS

// Options configure a simulator. The zero value is a seed-faithful server
// for superadmin / 1234 with no faults.
type Options struct {
	simkit.Options
	// Domain is the SIP domain (line URIs are user@Domain); Realm the
	// authentication realm (PIN hashes are md5(user:Realm:PIN)).
	// Defaults: pbx.example.com and the domain.
	Domain, Realm string
	// Host is named in fault details; default the domain.
	Host string
	// Models are the installed phone models; nil means DefaultModels.
	Models []string
	// Branches exist from the start (the API cannot create them); nil
	// means DefaultBranches.
	Branches []string
	// UpstreamItemNames makes response arrays use the upstream server's
	// item names (user, permission, callGroup, parkOrbit, and user for
	// phones) instead of the seed WSDL's "item".
	UpstreamItemNames bool
	// UpstreamStrict ignores lines in addPhone and permissions in addUser,
	// as the upstream server does; by default they are applied, as the
	// seed documentation says.
	UpstreamStrict bool
	// SeedOnly drops the upstream-only operations (removeCallGroup and
	// SystemService), like a server built from the seed WSDLs.
	SeedOnly bool
	// MaxRequest bounds a request body; default 8 MiB.
	MaxRequest int64
}

func (o *Options) defaults() {
	if o.Username == "" {
		o.Username = "superadmin"
	}
	if o.Password == "" {
		o.Password = "1234"
	}
	if o.Domain == "" {
		o.Domain = "pbx.example.com"
	}
	if o.Realm == "" {
		o.Realm = o.Domain
	}
	if o.Host == "" {
		o.Host = o.Domain
	}
	if o.Models == nil {
		o.Models = DefaultModels
	}
	if o.Branches == nil {
		o.Branches = DefaultBranches
	}
	if o.MaxRequest <= 0 {
		o.MaxRequest = 8 << 20
	}
}

// Sim is the simulator: an http.Handler (unwrapped) that also implements
// simkit's Router, Resetter and FaultWriter. Serve it through Handler.
type Sim struct {
	opts      Options
	stats     simkit.Stats
	models    map[string]bool
	endpoints map[string]*soap.Endpoint
	auth      *authenticator

	mu   sync.Mutex
	st   *state
	load func(context.Context, http.Handler) error // the seed, run again by Reset
}

// New returns a simulator with the administrator, the built-in permissions and
// the branches of o.
func New(o Options) *Sim {
	o.defaults()
	s := &Sim{opts: o, models: map[string]bool{}}
	for _, m := range o.Models {
		s.models[m] = true
	}
	s.auth = newAuthenticator(o.Realm, o.Clock)
	s.Reset()
	s.endpoints = s.buildEndpoints()
	return s
}

// Handler is the simulator wrapped with simkit's switches.
func (s *Sim) Handler() http.Handler { return s.Wrap(s.opts.Options) }

// Wrap serves the same PBX with other switches (latency, faults, rate
// limit), counting into the same Stats: a test plans through a well-behaved
// handler and applies through a faulty one.
func (s *Sim) Wrap(o simkit.Options) http.Handler { return simkit.Wrap(s, o, &s.stats) }

// Credentials returns the administrator's user name and password.
func (s *Sim) Credentials() (username, password string) { return s.opts.Username, s.opts.Password }

// Stats returns the simulator's counters.
func (s *Sim) Stats() *simkit.Stats { return &s.stats }

// Simulator is the simulator with its switches, as pbxbatch sim serves it.
func (s *Sim) Simulator() simkit.Simulator { return simulator{s.Handler(), s} }

type simulator struct {
	http.Handler
	s *Sim
}

func (x simulator) Stats() simkit.StatsSnapshot { return x.s.stats.Snapshot() }

// Load loads a starting inventory: load sends its requests to the
// simulator it is given (the simulator itself, without switches), and runs
// again after every Reset, so that /_sim/reset restores the seed.
func (s *Sim) Load(ctx context.Context, load func(context.Context, http.Handler) error) error {
	if err := load(ctx, s); err != nil {
		return err
	}
	s.mu.Lock()
	s.load = load
	s.mu.Unlock()
	return nil
}

// Start serves the simulator on listen ("127.0.0.1:0").
func Start(listen string, o Options) (*simkit.Server, *Sim, error) {
	s := New(o)
	srv, err := simkit.Start(listen, s.Handler(), s.opts.Options)
	if err != nil {
		return nil, nil, err
	}
	return srv, s, nil
}

// Reset puts the PBX back to a fresh install, then loads the seed again if
// there is one (/_sim/reset).
func (s *Sim) Reset() {
	s.mu.Lock()
	s.st = newState(s.opts.Branches, s.opts.Username)
	s.st.ensureAdmin(s.opts.Realm, s.opts.Password)
	load := s.load
	s.mu.Unlock()
	if load != nil {
		// It loaded once, into the same empty state; it loads again.
		_ = load(context.Background(), s)
	}
}

// Route names a request "UserService.AddUser" (reads are find*/get*, the
// rest writes), so that faults can be aimed at writes. It reads the body
// and puts it back for ServeHTTP.
func (s *Sim) Route(r *http.Request) simkit.Route {
	svc := serviceOf(r.URL.Path)
	if svc == "" {
		return simkit.Route{}
	}
	if r.Method != http.MethodPost {
		return simkit.Route{Name: "GET " + svc, Class: simkit.ClassRead}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxRequest+1))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return simkit.Route{Name: svc, Class: simkit.ClassWrite}
	}
	name, _ := soap.ReadEnvelope(bytes.NewReader(body), s.opts.MaxRequest, func(d *xml.Decoder, _ *xml.StartElement) error { return d.Skip() })
	op := name.Local
	if op == "" {
		op = "(empty Body)"
	}
	class := simkit.ClassWrite
	if op == "(empty Body)" || strings.HasPrefix(op, "Find") || strings.HasPrefix(op, "Get") {
		class = simkit.ClassRead
	}
	return simkit.Route{Name: svc + "." + op, Class: class}
}

// WriteFault answers an injected fault: a 500 as Axis would (a SOAP fault),
// anything else as the servlet container or a proxy in front would.
func (s *Sim) WriteFault(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if status == http.StatusInternalServerError {
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
		w.WriteHeader(status)
		_ = soap.EncodeFault(w, &soap.Fault{Code: soap.CodeServer, String: msg, Detail: soap.HostDetail(s.opts.Host)})
		return
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "<html><body><h1>HTTP "+http.StatusText(status)+"</h1><p>"+msg+"</p></body></html>")
}

func serviceOf(path string) string {
	rest, ok := strings.CutPrefix(path, api.Path)
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return ""
	}
	return rest
}

// ServeHTTP routes to a service after authentication; ?wsdl is public, as
// on the real server.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	svc := serviceOf(r.URL.Path)
	ep := s.endpoints[svc]
	if ep == nil {
		http.NotFound(w, r)
		return
	}
	if _, wsdl := r.URL.Query()["wsdl"]; !(r.Method == http.MethodGet && wsdl) {
		if !s.auth.check(w, r, s.lookupCredentials) {
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxRequest)
	ep.ServeHTTP(w, r)
}

// lookupCredentials returns a user's PIN hash (md5(user:realm:pin), which
// is also the Digest HA1) and whether the user is an administrator.
func (s *Sim) lookupCredentials(userName string) (ha1 string, admin, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.users[userName]
	if u == nil {
		return "", false, false
	}
	return u.pintoken, u.admin, true
}

func (s *Sim) wsdl(svc string) func(r *http.Request) []byte {
	raw, err := wsdlFS.ReadFile("wsdl/" + svc + ".wsdl")
	if err != nil {
		panic("sipx sim: no WSDL for " + svc) // embedded: a build error
	}
	return func(r *http.Request) []byte {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		addr := scheme + "://" + r.Host + api.Path + svc
		return bytes.ReplaceAll(raw, []byte("{{ADDRESS}}"), []byte(addr))
	}
}

// op builds an Operation that decodes into T and runs fn under the lock.
func op[T any](s *Sim, response string, fn func(st *state, in *T) (any, error)) soap.Operation {
	return soap.Operation{
		New:      func() any { return new(T) },
		Response: response,
		Handle: func(r *http.Request, in any) (any, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			return fn(s.st, in.(*T))
		},
	}
}

func (s *Sim) itemName(upstream string) string {
	if s.opts.UpstreamItemNames {
		return upstream
	}
	return "item"
}

// created counts a create attempt: a success, or a refusal because the key
// exists (what a client that repeats creates blindly causes).
func (s *Sim) created(kind string, dup bool, err error) error {
	switch {
	case err == nil:
		s.stats.Created(kind)
	case dup:
		s.stats.DuplicateCreate(kind)
	}
	return err
}

func (s *Sim) buildEndpoints() map[string]*soap.Endpoint {
	o := s.opts
	eps := map[string]*soap.Endpoint{}
	add := func(svc string, empty string, ops map[string]soap.Operation) {
		eps[svc] = &soap.Endpoint{Namespace: api.Namespace, Ops: ops, EmptyBody: empty, Host: o.Host, MaxRequest: o.MaxRequest, WSDL: s.wsdl(svc)}
	}
	add(api.PermissionService, "", map[string]soap.Operation{
		"AddPermission": op(s, "addPermissionResponse", func(st *state, in *api.AddPermission) (any, error) {
			dup, err := st.addPermission(in)
			return nil, s.created("permission", dup, err)
		}),
		"FindPermission": op(s, "FindPermissionResponse", func(st *state, in *api.FindPermission) (any, error) {
			out := api.FindPermissionResponse{Permissions: soap.Array[api.Permission]{ItemName: s.itemName("permission")}}
			for _, p := range st.findPermissions(in.Search) {
				out.Permissions.Items = append(out.Permissions.Items, p.wire())
			}
			return out, nil
		}),
		"ManagePermission": op(s, "managePermissionResponse", func(st *state, in *api.ManagePermission) (any, error) {
			return nil, st.managePermission(in)
		}),
	})
	callGroupOps := map[string]soap.Operation{
		"AddCallGroup": op(s, "addCallGroupResponse", func(st *state, in *api.AddCallGroup) (any, error) {
			dup, err := st.addCallGroup(in)
			return nil, s.created("call_group", dup, err)
		}),
		"GetCallGroups": {
			Response: "GetCallGroupsResponse",
			Handle: func(r *http.Request, _ any) (any, error) {
				s.mu.Lock()
				defer s.mu.Unlock()
				out := api.GetCallGroupsResponse{CallGroups: soap.Array[api.CallGroup]{ItemName: s.itemName("callGroup")}}
				for _, g := range s.st.callGroups {
					out.CallGroups.Items = append(out.CallGroups.Items, g.wire())
				}
				return out, nil
			},
		},
	}
	if !o.SeedOnly {
		callGroupOps["RemoveCallGroup"] = op(s, "removeCallGroupResponse", func(st *state, in *api.RemoveCallGroup) (any, error) {
			st.removeCallGroup(in.CallGroup)
			return nil, nil
		})
	}
	add(api.CallGroupService, "GetCallGroups", callGroupOps)
	add(api.UserService, "", map[string]soap.Operation{
		"AddUser": op(s, "addUserResponse", func(st *state, in *api.AddUser) (any, error) {
			dup, err := st.addUser(in, o.Realm, !o.UpstreamStrict)
			return nil, s.created("user", dup, err)
		}),
		"FindUser": op(s, "FindUserResponse", func(st *state, in *api.FindUser) (any, error) {
			users, err := st.findUsers(in.Search)
			if err != nil {
				return nil, err
			}
			out := api.FindUserResponse{Users: soap.Array[api.User]{ItemName: s.itemName("user")}}
			for _, u := range users {
				out.Users.Items = append(out.Users.Items, st.wireUser(u))
			}
			return out, nil
		}),
		"ManageUser": op(s, "manageUserResponse", func(st *state, in *api.ManageUser) (any, error) {
			return nil, st.manageUser(in)
		}),
	})
	add(api.ParkOrbitService, "GetParkOrbits", map[string]soap.Operation{
		"AddParkOrbit": op(s, "addParkOrbitResponse", func(st *state, in *api.AddParkOrbit) (any, error) {
			dup, err := st.addParkOrbit(in)
			return nil, s.created("park_orbit", dup, err)
		}),
		"GetParkOrbits": {
			Response: "GetParkOrbitsResponse",
			Handle: func(r *http.Request, _ any) (any, error) {
				s.mu.Lock()
				defer s.mu.Unlock()
				out := api.GetParkOrbitsResponse{ParkOrbits: soap.Array[api.ParkOrbit]{ItemName: s.itemName("parkOrbit")}}
				for _, p := range s.st.parkOrbits {
					out.ParkOrbits.Items = append(out.ParkOrbits.Items, api.ParkOrbit{Name: p.name, Extension: p.extension, Description: p.description, Enabled: p.enabled, Music: p.music})
				}
				return out, nil
			},
		},
	})
	add(api.PhoneService, "", map[string]soap.Operation{
		"AddPhone": op(s, "addPhoneResponse", func(st *state, in *api.AddPhone) (any, error) {
			dup, err := st.addPhone(in, s.models, o.Domain, !o.UpstreamStrict)
			return nil, s.created("phone", dup, err)
		}),
		"FindPhone": op(s, "FindPhoneResponse", func(st *state, in *api.FindPhone) (any, error) {
			// The upstream server names phone items "user" (a typo in its WSDL).
			out := api.FindPhoneResponse{Phones: soap.Array[api.Phone]{ItemName: s.itemName("user")}}
			for _, p := range st.findPhones(in.Search) {
				out.Phones.Items = append(out.Phones.Items, p.wire())
			}
			return out, nil
		}),
		"ManagePhone": op(s, "managePhoneResponse", func(st *state, in *api.ManagePhone) (any, error) {
			adds, dups, err := st.managePhone(in, o.Domain)
			for range adds {
				s.stats.Created("line")
			}
			for range dups {
				s.stats.DuplicateCreate("line")
			}
			return nil, err
		}),
	})
	add(api.TestService, "", map[string]soap.Operation{
		"ResetServices": op(s, "resetServicesResponse", func(st *state, in *api.ResetServices) (any, error) {
			st.reset(in, o.Realm, o.Password)
			return nil, nil
		}),
	})
	if !o.SeedOnly {
		add(api.SystemService, "SystemInfo", map[string]soap.Operation{
			"SystemInfo": {
				Response: "SystemInfo",
				Handle: func(r *http.Request, _ any) (any, error) {
					return api.SystemInfo{Domain: api.Domain{Name: o.Domain, Realm: o.Realm}}, nil
				},
			},
		})
	}
	return eps
}
