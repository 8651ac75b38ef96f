package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters/apio/api"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// state is tenant → group → users, and the system-wide phone numbers.
type state struct {
	tenants map[string]map[string]*group
	phones  map[string]*group // every phone number of the system, by its group
}

type group struct {
	tenant, id string
	users      map[string]*api.User // by digits (see digits)
	byExt      map[string]string    // extension → phone number
}

// digits is a phone number without its leading "+": BroadWorks knows one
// number per digits, so +3212345678 and 3212345678 (the document writes
// both) are the same user, found by either name.
func digits(phone string) string { return strings.TrimPrefix(phone, "+") }

func newState() *state {
	return &state{tenants: map[string]map[string]*group{}, phones: map[string]*group{}}
}

func (st *state) addGroup(tenant, id string) *group {
	t := st.tenants[tenant]
	if t == nil {
		t = map[string]*group{}
		st.tenants[tenant] = t
	}
	if g := t[id]; g != nil {
		return g
	}
	g := &group{tenant: tenant, id: id, users: map[string]*api.User{}, byExt: map[string]string{}}
	t[id] = g
	return g
}

// group is the request's tenant and group, or 404.
func (st *state) group(r *http.Request) (*group, error) {
	tid, gid := r.PathValue("tenant"), r.PathValue("group")
	t, ok := st.tenants[tid]
	if !ok {
		return nil, errNotFound("tenant %q not found", tid)
	}
	g, ok := t[gid]
	if !ok {
		return nil, errNotFound("group %q not found in tenant %q", gid, tid)
	}
	return g, nil
}

// load adds the seed's groups, and its users through the create rules
// (the groups they name are created).
func (st *state) load(seed simkit.Seed) error {
	for _, r := range seed {
		if r.Kind == "group" { // an export's catalogue: the group, even empty
			st.addGroup(r.Record.String("tenant"), r.Record.String("group"))
		}
		if r.Kind != Kind {
			continue
		}
		u := api.User{
			PhoneNumber: r.Record.String("phoneNumber"), Extension: r.Record.String("extension"),
			FirstName: r.Record.String("firstName"), LastName: r.Record.String("lastName"),
			CLIFirstName: r.Record.String("cliFirstName"), CLILastName: r.Record.String("cliLastName"),
			CallType: r.Record.String("callType"),
		}
		g := st.addGroup(r.Record.String("tenant"), r.Record.String("group"))
		if err := st.checkNew(g, []api.User{u}, nil); err != nil {
			return fmt.Errorf("seed %s: %v", r.Origin, err)
		}
		st.add(g, u)
	}
	return nil
}

func (st *state) add(g *group, u api.User) {
	g.users[digits(u.PhoneNumber)] = &u
	g.byExt[u.Extension] = u.PhoneNumber
	st.phones[digits(u.PhoneNumber)] = g
}

func (st *state) remove(g *group, phone string) {
	u, ok := g.users[digits(phone)]
	if !ok {
		return
	}
	delete(g.users, digits(phone))
	delete(g.byExt, u.Extension)
	delete(st.phones, digits(phone))
}

// checkNew refuses the whole request when one user cannot be created:
// phone numbers are unique in the system, extensions in the group. A taken
// phone number counts as a duplicate create (stats may be nil).
func (st *state) checkNew(g *group, users []api.User, stats *simkit.Stats) error {
	phones, exts := map[string]bool{}, map[string]bool{}
	for _, u := range users {
		if u.PhoneNumber == "" || u.Extension == "" || u.FirstName == "" || u.LastName == "" {
			return errBad("phoneNumber, extension, firstName and lastName are required (user %q); nothing was created", u.PhoneNumber)
		}
		if other := st.phones[digits(u.PhoneNumber)]; other != nil {
			if stats != nil {
				stats.DuplicateCreate(Kind)
			}
			return errBad("phone number %s %s (tenant %s, group %s); nothing was created", u.PhoneNumber, api.ErrAlreadyExists, other.tenant, other.id)
		}
		if p, ok := g.byExt[u.Extension]; ok {
			return errBad("extension %s %s in group %s (user %s); nothing was created", u.Extension, api.ErrAlreadyExists, g.id, p)
		}
		if phones[digits(u.PhoneNumber)] || exts[u.Extension] {
			return errBad("phone number %s or extension %s is twice in the request; nothing was created", u.PhoneNumber, u.Extension)
		}
		phones[digits(u.PhoneNumber)], exts[u.Extension] = true, true
	}
	return nil
}

// newUsers reads a create body: a list or a range, never both.
func (a *server) newUsers(raw map[string]json.RawMessage) ([]api.User, error) {
	list, hasList := raw["virtualOnNetUsers"]
	rng, hasRange := raw["virtualOnNetUsersRange"]
	for k := range raw {
		if k != "virtualOnNetUsers" && k != "virtualOnNetUsersRange" {
			return nil, errBad("unknown parameter %q: send virtualOnNetUsers or virtualOnNetUsersRange", k)
		}
	}
	var users []api.User
	switch {
	case hasList && hasRange:
		return nil, errBad("virtualOnNetUsers and virtualOnNetUsersRange are mutually exclusive")
	case hasList:
		if err := strict(list, &users); err != nil {
			return nil, errBad("virtualOnNetUsers: %v", err)
		}
		if len(users) == 0 {
			return nil, errBad("virtualOnNetUsers is empty")
		}
	case hasRange:
		var r api.Range
		if err := strict(rng, &r); err != nil {
			return nil, errBad("virtualOnNetUsersRange: %v", err)
		}
		var err error
		if users, err = expandRange(r); err != nil {
			return nil, err
		}
	default:
		return nil, errBad("send virtualOnNetUsers or virtualOnNetUsersRange")
	}
	for i := range users {
		ct, err := a.callType(users[i].CallType)
		if err != nil {
			return nil, err
		}
		users[i].CallType = ct
	}
	return users, nil
}

// strict decodes refusing unknown fields.
func strict(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// callType checks a create's call type, applying DEFAULT_CALL_TYPE when
// there is none.
func (a *server) callType(ct string) (string, error) {
	if ct == "" {
		if a.cfg.defaultCallType == "" {
			return "", errBad("callType is required: DEFAULT_CALL_TYPE is not set on this APIO (call types: %s)", strings.Join(a.cfg.callTypes, ", "))
		}
		return a.cfg.defaultCallType, nil
	}
	if !slices.Contains(a.cfg.callTypes, ct) {
		return "", errBad("callType %q is not a call type of the system (%s)", ct, strings.Join(a.cfg.callTypes, ", "))
	}
	return ct, nil
}

// expandRange pairs the two inclusive ranges by position.
func expandRange(r api.Range) ([]api.User, error) {
	phones, err := span("phoneNumberRange", r.PhoneNumberRange.Min, r.PhoneNumberRange.Max)
	if err != nil {
		return nil, err
	}
	exts, err := span("extensionRange", r.ExtensionRange.Min, r.ExtensionRange.Max)
	if err != nil {
		return nil, err
	}
	if len(phones) != len(exts) {
		return nil, errBad("phoneNumberRange holds %d numbers and extensionRange %d: the ranges are paired by position and must be as long; nothing was created", len(phones), len(exts))
	}
	users := make([]api.User, len(phones))
	for i := range phones {
		users[i] = api.User{PhoneNumber: phones[i], Extension: exts[i], FirstName: r.FirstName, LastName: r.LastName,
			CLIFirstName: r.CLIFirstName, CLILastName: r.CLILastName, CallType: r.CallType}
	}
	return users, nil
}

// span lists min..max, keeping min's width (leading zeros) and an
// optional leading "+" on both ends.
func span(what, lo, hi string) ([]string, error) {
	plus := strings.HasPrefix(lo, "+")
	if plus != strings.HasPrefix(hi, "+") {
		return nil, errBad("%s %s..%s: both ends or neither start with +", what, lo, hi)
	}
	lo, hi = strings.TrimPrefix(lo, "+"), strings.TrimPrefix(hi, "+")
	a, err1 := strconv.ParseUint(lo, 10, 64)
	b, err2 := strconv.ParseUint(hi, 10, 64)
	if lo == "" || hi == "" || err1 != nil || err2 != nil || len(lo) > 18 || len(hi) > 18 {
		return nil, errBad("%s %s..%s: both ends must be digits", what, lo, hi)
	}
	if b < a {
		return nil, errBad("%s %s..%s: the minimum is above the maximum", what, lo, hi)
	}
	if b-a >= MaxRange {
		return nil, errBad("%s %s..%s holds more than %d values", what, lo, hi, MaxRange)
	}
	prefix := ""
	if plus {
		prefix = "+"
	}
	out := make([]string, 0, b-a+1)
	for v := a; v <= b; v++ {
		out = append(out, prefix+fmt.Sprintf("%0*d", len(lo), v))
	}
	return out, nil
}

// merged applies a PUT body to u: absent fields keep their value, "" clears
// a name and keeps the call type.
func (a *server) merged(u api.User, req map[string]*string) (api.User, error) {
	for k, v := range req {
		if v == nil {
			continue
		}
		switch k {
		case "extension":
			if *v == "" {
				return u, errBad("extension cannot be empty")
			}
			u.Extension = *v
		case "firstName", "lastName":
			if *v == "" {
				return u, errBad("%s cannot be empty", k)
			}
			if k == "firstName" {
				u.FirstName = *v
			} else {
				u.LastName = *v
			}
		case "cliFirstName":
			u.CLIFirstName = *v
		case "cliLastName":
			u.CLILastName = *v
		case "callType":
			if *v == "" {
				continue
			}
			ct, err := a.callType(*v)
			if err != nil {
				return u, err
			}
			u.CallType = ct
		default:
			return u, errBad("unknown parameter %q", k)
		}
	}
	return u, nil
}
