package sipx

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Mapping between wire types and records. Records hold references by
// natural key: permission labels (not perm_<n>), user names, MAC addresses.

func listOf(r schemas.Record, path string) []string {
	v, ok := r.Get(path)
	if !ok || v == nil {
		return nil
	}
	switch t := v.(type) {
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s := schemas.Text(x); s != "" {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return slices.Clone(t)
	case string:
		if t == "" {
			return nil
		}
		return strings.Split(t, ";")
	}
	return []string{schemas.Text(v)}
}

func boolOf(r schemas.Record, path string) *bool {
	v, ok := r.Get(path)
	if !ok || v == nil {
		return nil
	}
	switch t := v.(type) {
	case bool:
		return &t
	case string:
		if b, err := strconv.ParseBool(t); err == nil {
			return &b
		}
	}
	return nil
}

func setText(r schemas.Record, path, v string) {
	if v != "" {
		r.Set(path, v)
	}
}

func setList(r schemas.Record, path string, vs []string) {
	if len(vs) > 0 {
		r.Set(path, schemas.Normalize(vs))
	}
}

func setBool(r schemas.Record, path string, b *bool) {
	if b != nil {
		r.Set(path, *b)
	}
}

// sameSet compares two lists ignoring order and duplicates.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// ---- permissions

func permRecord(p api.Permission) schemas.Record {
	r := schemas.Record{}
	setText(r, "label", p.Label)
	setText(r, "description", p.Description)
	setBool(r, "defaultValue", p.DefaultValue)
	setText(r, "name", p.Name)
	setBool(r, "builtIn", p.BuiltIn)
	return r
}

// permCatalog is the server's permissions, to translate between the labels
// records use and the names the user API uses, and to know which are on by
// default.
type permCatalog struct {
	byName, byLabel map[string]api.Permission
}

// catalog returns the permissions, loading them when needed or when
// refresh is set (after a permission write, or when a name is unknown).
func (c *Conn) catalog(ctx context.Context, refresh bool) (*permCatalog, error) {
	c.permMu.Lock()
	cached := c.perms
	c.permMu.Unlock()
	if cached != nil && !refresh {
		return cached, nil
	}
	var out api.FindPermissionResponse
	if err := c.call(ctx, api.PermissionService, "FindPermission", api.FindPermission{}, &out, false); err != nil {
		return nil, err
	}
	cat := &permCatalog{byName: map[string]api.Permission{}, byLabel: map[string]api.Permission{}}
	for _, p := range out.Permissions.Items {
		cat.byName[p.Name] = p
		cat.byLabel[p.Label] = p
	}
	c.permMu.Lock()
	c.perms = cat
	c.permMu.Unlock()
	return cat, nil
}

func (c *Conn) forgetPermissions() {
	c.permMu.Lock()
	c.perms = nil
	c.permMu.Unlock()
}

// ---- users

// userRecord maps a user. Permissions: sipXconfig lists every permission
// the user has, defaults included; the record lists the ones beyond the
// defaults, by label, which is what a row grants.
func (c *Conn) userRecord(ctx context.Context, u api.User) (schemas.Record, error) {
	r := schemas.Record{"userName": u.UserName}
	setText(r, "firstName", api.Text(u.FirstName))
	setText(r, "lastName", api.Text(u.LastName))
	setText(r, "emailAddress", api.Text(u.EmailAddress))
	setList(r, "aliases", u.Aliases)
	setList(r, "groups", u.Groups)
	setText(r, "branchName", u.BranchName)
	if len(u.Permissions) > 0 {
		labels, err := c.extraPermissionLabels(ctx, u.Permissions)
		if err != nil {
			return nil, err
		}
		setList(r, "permissions", labels)
	}
	return r, nil
}

func (c *Conn) extraPermissionLabels(ctx context.Context, names []string) ([]string, error) {
	cat, err := c.catalog(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, refreshed := 0, false; i < len(names); i++ {
		p, ok := cat.byName[names[i]]
		if !ok && !refreshed { // created since we loaded the catalogue
			if cat, err = c.catalog(ctx, true); err != nil {
				return nil, err
			}
			refreshed, i = true, i-1
			continue
		}
		switch {
		case !ok:
			out = append(out, names[i])
		case p.DefaultValue == nil || !*p.DefaultValue:
			out = append(out, p.Label)
		}
	}
	slices.Sort(out)
	return out, nil
}

// permissionNames translates labels to the names addUser takes.
func (c *Conn) permissionNames(ctx context.Context, user string, labels []string) ([]string, error) {
	cat, err := c.catalog(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, refreshed := 0, false; i < len(labels); i++ {
		p, ok := cat.byLabel[labels[i]]
		if !ok && !refreshed {
			if cat, err = c.catalog(ctx, true); err != nil {
				return nil, err
			}
			refreshed, i = true, i-1
			continue
		}
		if !ok {
			return nil, permanent("user %q: permission %q does not exist on the PBX: add it on the permission sheet or fix the label", user, labels[i])
		}
		out = append(out, p.Name)
	}
	return out, nil
}

// ---- call groups

const (
	defaultRingType       = api.RingDelayed
	defaultRingExpiration = 20
)

// callGroupRecord maps a hunt group. Ring types and times that are the same
// for every member are written once, the form a row uses.
func callGroupRecord(g api.CallGroup) schemas.Record {
	r := schemas.Record{"name": g.Name}
	setText(r, "extension", g.Extension)
	setText(r, "description", g.Description)
	setBool(r, "enabled", g.Enabled)
	rings := slices.Clone(g.Rings)
	slices.SortStableFunc(rings, func(a, b api.UserRing) int { return a.Position - b.Position })
	var users, types []string
	var secs []any
	for _, ring := range rings {
		users = append(users, ring.UserName)
		types = append(types, ring.Type)
		secs = append(secs, json.Number(strconv.Itoa(ring.Expiration)))
	}
	if len(users) > 0 {
		setList(r, "rings", users)
		if len(slices.Compact(slices.Clone(types))) == 1 {
			types = types[:1]
		}
		setList(r, "ringTypes", types)
		if allSame(secs) {
			secs = secs[:1]
		}
		r.Set("ringExpirations", secs)
	}
	return r
}

func allSame(v []any) bool {
	for _, x := range v[1:] {
		if x != v[0] {
			return false
		}
	}
	return true
}

// callGroupWire builds the rings from the member list and the per-member
// (or single) types and times.
func callGroupWire(r schemas.Record) (api.CallGroup, error) {
	g := api.CallGroup{Name: r.String("name"), Extension: r.String("extension"), Description: r.String("description"), Enabled: boolOf(r, "enabled")}
	users, types, secs := listOf(r, "rings"), listOf(r, "ringTypes"), listOf(r, "ringExpirations")
	pick := func(vals []string, i int, def string, col string) (string, error) {
		switch len(vals) {
		case 0:
			return def, nil
		case 1:
			return vals[0], nil
		case len(users):
			return vals[i], nil
		}
		return "", permanent("call group %q: %s has %d values for %d members: give one value for all, or one per member", g.Name, col, len(vals), len(users))
	}
	for i, u := range users {
		typ, err := pick(types, i, defaultRingType, "ringTypes")
		if err != nil {
			return g, err
		}
		sec, err := pick(secs, i, strconv.Itoa(defaultRingExpiration), "ringExpirations")
		if err != nil {
			return g, err
		}
		n, err := strconv.Atoi(sec)
		if err != nil || n < 1 {
			return g, permanent("call group %q: ring time %q of member %s is not a number of seconds", g.Name, sec, u)
		}
		g.Rings = append(g.Rings, api.UserRing{UserName: u, Type: typ, Expiration: n, Position: i})
	}
	return g, nil
}

// ---- park orbits, phones, lines

func parkOrbitRecord(p api.ParkOrbit) schemas.Record {
	r := schemas.Record{"name": p.Name}
	setText(r, "extension", p.Extension)
	setText(r, "description", p.Description)
	setBool(r, "enabled", p.Enabled)
	setText(r, "music", p.Music)
	return r
}

func phoneRecord(p api.Phone) schemas.Record {
	r := schemas.Record{"serialNumber": p.SerialNumber, "modelId": p.ModelID}
	setText(r, "description", p.Description)
	setList(r, "groups", p.Groups)
	setText(r, "deviceVersion", p.DeviceVersion)
	return r
}

func lineRecord(serial string, l api.Line) schemas.Record {
	r := schemas.Record{"phone": serial, "user": l.UserID}
	setText(r, "uri", l.URI)
	return r
}
