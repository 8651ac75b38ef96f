package sipx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func permanent(format string, args ...any) *adapters.Error {
	return adapters.Errorf(adapters.Permanent, format, args...)
}

// superadmin belongs to the PBX: exporting it would carry the source's
// administrator into the target, and writing it could lock the operator out.
const superadmin = "superadmin"

// List streams every record of a kind. sipXconfig has no paging: each find
// without a search returns everything in one response.
func (c *Conn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	emit := func(recs []schemas.Record) error {
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	switch kind {
	case KindPermission:
		ps, err := c.findPermissions(ctx, nil)
		if err != nil {
			return err
		}
		var recs []schemas.Record
		for _, p := range ps {
			recs = append(recs, permRecord(p))
		}
		return emit(recs)
	case KindUser:
		us, err := c.findUsers(ctx, nil)
		if err != nil {
			return err
		}
		for _, u := range us {
			if u.UserName == superadmin {
				continue
			}
			r, err := c.userRecord(ctx, u)
			if err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	case KindCallGroup:
		gs, err := c.callGroups(ctx)
		if err != nil {
			return err
		}
		var recs []schemas.Record
		for _, g := range gs {
			recs = append(recs, callGroupRecord(g))
		}
		return emit(recs)
	case KindParkOrbit:
		ps, err := c.parkOrbits(ctx)
		if err != nil {
			return err
		}
		var recs []schemas.Record
		for _, p := range ps {
			recs = append(recs, parkOrbitRecord(p))
		}
		return emit(recs)
	case KindPhone, KindLine:
		ps, err := c.findPhones(ctx, nil)
		if err != nil {
			return err
		}
		var recs []schemas.Record
		for _, p := range ps {
			if kind == KindPhone {
				recs = append(recs, phoneRecord(p))
				continue
			}
			for _, l := range p.Lines {
				recs = append(recs, lineRecord(p.SerialNumber, l))
			}
		}
		return emit(recs)
	}
	return unknownKind(kind)
}

func unknownKind(kind string) error {
	return permanent("sipx has no kind %q (kinds: permission, user, call_group, park_orbit, phone, line)", kind)
}

// Get reads one record by its natural key.
func (c *Conn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	switch kind {
	case KindPermission:
		p, err := c.permission(ctx, key.String("label"))
		if err != nil {
			return nil, err
		}
		return permRecord(p), nil
	case KindUser:
		u, err := c.user(ctx, key.String("userName"))
		if err != nil {
			return nil, err
		}
		return c.userRecord(ctx, u)
	case KindCallGroup:
		g, err := c.callGroup(ctx, key.String("name"))
		if err != nil {
			return nil, err
		}
		return callGroupRecord(g), nil
	case KindParkOrbit:
		name := key.String("name")
		ps, err := c.parkOrbits(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.Name == name {
				return parkOrbitRecord(p), nil
			}
		}
		return nil, notFound("park orbit", name)
	case KindPhone:
		p, err := c.phone(ctx, key.String("serialNumber"))
		if err != nil {
			return nil, err
		}
		return phoneRecord(p), nil
	case KindLine:
		serial, user := key.String("phone"), key.String("user")
		l, err := c.line(ctx, serial, user)
		if err != nil {
			return nil, err
		}
		return lineRecord(serial, l), nil
	}
	return nil, unknownKind(kind)
}

// Apply performs one change (one attempt; the runner retries).
func (c *Conn) Apply(ctx context.Context, ch adapters.Change) (adapters.Result, error) {
	if why := c.Supports(ch.Kind, ch.Action); why != "" {
		return adapters.Result{}, permanent("%s %s: %s", ch.Action, ch.Kind, why)
	}
	r := ch.Record
	var err error
	id := ""
	switch ch.Kind {
	case KindPermission:
		id, err = c.applyPermission(ctx, ch.Action, r)
	case KindUser:
		err = c.applyUser(ctx, ch.Action, r)
	case KindCallGroup:
		err = c.applyCallGroup(ctx, ch.Action, r)
	case KindParkOrbit:
		err = c.addParkOrbit(ctx, r)
	case KindPhone:
		err = c.applyPhone(ctx, ch.Action, r)
	case KindLine:
		err = c.applyLine(ctx, ch.Action, r)
	default:
		err = unknownKind(ch.Kind)
	}
	return adapters.Result{ID: id}, err
}

// ---- reads

func (c *Conn) findPermissions(ctx context.Context, s *api.PermissionSearch) ([]api.Permission, error) {
	var out api.FindPermissionResponse
	err := c.call(ctx, api.PermissionService, "FindPermission", api.FindPermission{Search: s}, &out, false)
	return out.Permissions.Items, err
}

func (c *Conn) permission(ctx context.Context, label string) (api.Permission, error) {
	if label == "" {
		return api.Permission{}, permanent("permission: the label is empty")
	}
	ps, err := c.findPermissions(ctx, &api.PermissionSearch{ByLabel: label})
	if err != nil {
		return api.Permission{}, err
	}
	for _, p := range ps {
		if p.Label == label {
			return p, nil
		}
	}
	return api.Permission{}, notFound("permission", label)
}

func (c *Conn) findUsers(ctx context.Context, s *api.UserSearch) ([]api.User, error) {
	var out api.FindUserResponse
	err := c.call(ctx, api.UserService, "FindUser", api.FindUser{Search: s}, &out, false)
	return out.Users.Items, err
}

func (c *Conn) user(ctx context.Context, name string) (api.User, error) {
	if name == "" {
		return api.User{}, permanent("user: the user name is empty")
	}
	us, err := c.findUsers(ctx, &api.UserSearch{ByUserName: name})
	if err != nil {
		return api.User{}, err
	}
	for _, u := range us {
		if u.UserName == name {
			return u, nil
		}
	}
	return api.User{}, notFound("user", name)
}

func (c *Conn) callGroups(ctx context.Context) ([]api.CallGroup, error) {
	var out api.GetCallGroupsResponse
	err := c.call(ctx, api.CallGroupService, "GetCallGroups", nil, &out, false)
	return out.CallGroups.Items, err
}

func (c *Conn) callGroup(ctx context.Context, name string) (api.CallGroup, error) {
	gs, err := c.callGroups(ctx)
	if err != nil {
		return api.CallGroup{}, err
	}
	for _, g := range gs {
		if g.Name == name {
			return g, nil
		}
	}
	return api.CallGroup{}, notFound("call group", name)
}

func (c *Conn) parkOrbits(ctx context.Context) ([]api.ParkOrbit, error) {
	var out api.GetParkOrbitsResponse
	err := c.call(ctx, api.ParkOrbitService, "GetParkOrbits", nil, &out, false)
	return out.ParkOrbits.Items, err
}

func (c *Conn) findPhones(ctx context.Context, s *api.PhoneSearch) ([]api.Phone, error) {
	var out api.FindPhoneResponse
	err := c.call(ctx, api.PhoneService, "FindPhone", api.FindPhone{Search: s}, &out, false)
	return out.Phones.Items, err
}

func (c *Conn) phone(ctx context.Context, serial string) (api.Phone, error) {
	if serial == "" {
		return api.Phone{}, permanent("phone: the MAC address is empty")
	}
	ps, err := c.findPhones(ctx, &api.PhoneSearch{BySerialNumber: serial})
	if err != nil {
		return api.Phone{}, err
	}
	for _, p := range ps {
		if p.SerialNumber == serial {
			return p, nil
		}
	}
	return api.Phone{}, notFound("phone", serial)
}

func (c *Conn) line(ctx context.Context, serial, user string) (api.Line, error) {
	p, err := c.phone(ctx, serial)
	if err != nil {
		if adapters.IsNotFound(err) {
			return api.Line{}, notFound("line", serial+" / "+user)
		}
		return api.Line{}, err
	}
	for _, l := range p.Lines {
		if l.UserID == user {
			return l, nil
		}
	}
	return api.Line{}, notFound("line", serial+" / "+user)
}

// ---- writes

func manageUser(name string) api.ManageUser {
	return api.ManageUser{Search: &api.UserSearch{ByUserName: name}}
}

func managePhone(serial string) api.ManagePhone {
	return api.ManagePhone{Search: &api.PhoneSearch{BySerialNumber: serial}}
}

func yes() *bool { b := true; return &b }

// landed classifies a failure that follows a successful create in the same
// Apply: the record exists, so a transient failure must not make the
// runner repeat the create; Unknown makes it read the record back instead.
func landed(err error) error {
	var e *adapters.Error
	if errors.As(err, &e) && (e.Class == adapters.Retryable || e.Class == adapters.Throttled) {
		return &adapters.Error{Class: adapters.Unknown, Status: e.Status, Message: "the change was made, then: " + e.Message, Err: e}
	}
	return err
}

// groupSteps pairs the group additions and removals that take have to
// want, one of each per request (the most a manage request carries). There
// is always at least one step, so that the first request can carry the
// edits.
func groupSteps(have, want []string) [][2]string {
	var adds, removes []string
	for _, g := range want {
		if !slices.Contains(have, g) {
			adds = append(adds, g)
		}
	}
	for _, g := range have {
		if !slices.Contains(want, g) {
			removes = append(removes, g)
		}
	}
	steps := [][2]string{{}}
	for i := 0; i < len(adds) || i < len(removes); i++ {
		if i > 0 {
			steps = append(steps, [2]string{})
		}
		if i < len(adds) {
			steps[i][0] = adds[i]
		}
		if i < len(removes) {
			steps[i][1] = removes[i]
		}
	}
	return steps
}

// edit appends the edit that takes a text field from before to after.
func edit(edits []api.Property, prop string, before, after schemas.Record, path string) []api.Property {
	b, a := before.String(path), after.String(path)
	switch {
	case a == b:
		return edits
	case a == "":
		return append(edits, api.Clear(prop))
	}
	return append(edits, api.Set(prop, a))
}

func (c *Conn) applyPermission(ctx context.Context, act adapters.Action, r schemas.Record) (string, error) {
	label := r.String("label")
	defer c.forgetPermissions()
	if act == adapters.Create {
		in := api.AddPermission{Permission: api.Permission{Name: label, Label: label, Description: r.String("description"), DefaultValue: boolOf(r, "defaultValue")}}
		if err := c.call(ctx, api.PermissionService, "AddPermission", in, nil, true); err != nil {
			return "", err
		}
		// The server names the permission; learn the name for the report.
		p, err := c.permission(ctx, label)
		if err != nil {
			return "", nil
		}
		return p.Name, nil
	}
	live, err := c.permission(ctx, label)
	if err != nil {
		return "", err
	}
	if live.BuiltIn != nil && *live.BuiltIn {
		return "", permanent("permission %q is built into sipXconfig and cannot be changed or deleted", label)
	}
	m := api.ManagePermission{Search: &api.PermissionSearch{ByLabel: label}}
	if act == adapters.Delete {
		m.DeletePermission = yes()
		return live.Name, c.manage(ctx, m)
	}
	m.Edit = edit(m.Edit, "description", permRecord(live), r, "description")
	if d := boolOf(r, "defaultValue"); d != nil && (live.DefaultValue == nil || *d != *live.DefaultValue) {
		m.Edit = append(m.Edit, api.Set("defaultValue", fmt.Sprint(*d)))
	}
	if len(m.Edit) == 0 {
		return live.Name, nil
	}
	return live.Name, c.manage(ctx, m)
}

func (c *Conn) applyUser(ctx context.Context, act adapters.Action, r schemas.Record) error {
	name := r.String("userName")
	if name == superadmin {
		return permanent("user %q belongs to the PBX and is not changed by imports", name)
	}
	if act == adapters.Create {
		return c.addUser(ctx, r)
	}
	live, err := c.user(ctx, name)
	if err != nil {
		return err
	}
	if act == adapters.Delete {
		m := manageUser(name)
		m.DeleteUser = yes()
		return c.manage(ctx, m)
	}
	return c.updateUser(ctx, r, live)
}

func (c *Conn) addUser(ctx context.Context, r schemas.Record) error {
	name := r.String("userName")
	perms, err := c.permissionNames(ctx, name, listOf(r, "permissions"))
	if err != nil {
		return err
	}
	pin := r.String("pin")
	if pin == "" {
		if pin, err = randomPIN(); err != nil {
			return err
		}
	}
	in := api.AddUser{Pin: pin, User: api.User{
		UserName: name, FirstName: api.Opt(r.String("firstName")), LastName: api.Opt(r.String("lastName")),
		SipPassword: api.Opt(r.String("sipPassword")), EmailAddress: api.Opt(r.String("emailAddress")),
		Aliases: listOf(r, "aliases"), Groups: listOf(r, "groups"), Permissions: perms, BranchName: r.String("branchName"),
	}}
	if err := c.call(ctx, api.UserService, "AddUser", in, nil, true); err != nil {
		return err
	}
	if in.User.BranchName == "" && len(perms) == 0 {
		return nil
	}
	// sipXconfig ignores an unknown branch without a word, and some
	// versions ignore permissions on add: check both took.
	live, err := c.user(ctx, name)
	if err != nil {
		return landed(err)
	}
	return landed(c.checkUserStuck(ctx, name, r, live))
}

func (c *Conn) checkUserStuck(ctx context.Context, name string, want schemas.Record, live api.User) error {
	if b := want.String("branchName"); b != "" && live.BranchName != b {
		return permanent("user %q: branch %q does not exist on the PBX (sipXconfig ignores unknown branches and the API cannot create them): create the branch in the web UI, then run again", name, b)
	}
	got, err := c.userRecord(ctx, live)
	if err != nil {
		return err
	}
	if w := listOf(want, "permissions"); !sameSet(w, listOf(got, "permissions")) {
		return permanent("user %q was created but sipXconfig did not grant permissions %s (this version ignores permissions on creation): grant them in the web UI", name, strings.Join(w, ";"))
	}
	return nil
}

// updateUser sends the edits, then one request per further group change
// (a request adds and removes at most one group). Every request is
// idempotent, so a retry after a partial failure is safe.
func (c *Conn) updateUser(ctx context.Context, r schemas.Record, liveWire api.User) error {
	name := r.String("userName")
	live, err := c.userRecord(ctx, liveWire)
	if err != nil {
		return err
	}
	if want, have := listOf(r, "permissions"), listOf(live, "permissions"); !sameSet(want, have) {
		return permanent("user %q: sipXconfig's API cannot change the permissions of an existing user (%s → %s): change them in the web UI, or leave the cell blank", name, strings.Join(have, ";"), strings.Join(want, ";"))
	}
	branch := r.String("branchName")
	if branch == "" && live.String("branchName") != "" {
		return permanent("user %q: sipXconfig's API cannot remove a user from branch %q: move the user to another branch instead", name, live.String("branchName"))
	}
	m := manageUser(name)
	for _, f := range []string{"firstName", "lastName", "emailAddress"} {
		m.Edit = edit(m.Edit, f, live, r, f)
	}
	if pw := r.String("sipPassword"); pw != "" {
		m.Edit = append(m.Edit, api.Set("sipPassword", pw))
	}
	if pin := r.String("pin"); pin != "" {
		// sipXconfig stores md5(user:realm:PIN) and takes it as pintoken.
		realm, err := c.realm(ctx)
		if err != nil {
			return err
		}
		m.Edit = append(m.Edit, api.Set("pintoken", md5hex(name+":"+realm+":"+pin)))
	}
	if want := listOf(r, "aliases"); !sameSet(want, listOf(live, "aliases")) {
		m.Edit = append(m.Edit, api.Set("aliases", strings.Join(want, ",")))
	}
	if branch != live.String("branchName") {
		m.UpdateBranch = branch
	}
	for i, step := range groupSteps(listOf(live, "groups"), listOf(r, "groups")) {
		if i > 0 {
			m = manageUser(name)
		}
		m.AddGroup, m.RemoveGroup = step[0], step[1]
		if len(m.Edit) > 0 || m.AddGroup != "" || m.RemoveGroup != "" || m.UpdateBranch != "" {
			if err := c.manage(ctx, m); err != nil {
				return err
			}
		}
	}
	if branch == "" || branch == live.String("branchName") {
		return nil
	}
	after, err := c.user(ctx, name)
	if err != nil {
		return err
	}
	return c.checkUserStuck(ctx, name, r, after)
}

func (c *Conn) applyCallGroup(ctx context.Context, act adapters.Action, r schemas.Record) error {
	name := r.String("name")
	if act == adapters.Create {
		g, err := callGroupWire(r)
		if err != nil {
			return err
		}
		return c.call(ctx, api.CallGroupService, "AddCallGroup", api.AddCallGroup{CallGroup: g}, nil, true)
	}
	// Delete. removeCallGroup matches the name or the extension; both live
	// in the one alias namespace, so the name matches this group only.
	if _, err := c.callGroup(ctx, name); err != nil {
		return err
	}
	return c.call(ctx, api.CallGroupService, "RemoveCallGroup", api.RemoveCallGroup{CallGroup: name}, nil, true)
}

func (c *Conn) addParkOrbit(ctx context.Context, r schemas.Record) error {
	in := api.AddParkOrbit{ParkOrbit: api.ParkOrbit{
		Name: r.String("name"), Extension: r.String("extension"), Description: r.String("description"),
		Enabled: boolOf(r, "enabled"), Music: r.String("music"),
	}}
	return c.call(ctx, api.ParkOrbitService, "AddParkOrbit", in, nil, true)
}

func (c *Conn) applyPhone(ctx context.Context, act adapters.Action, r schemas.Record) error {
	serial := r.String("serialNumber")
	if act == adapters.Create {
		in := api.AddPhone{Phone: api.Phone{
			SerialNumber: serial, ModelID: r.String("modelId"), Description: r.String("description"),
			Groups: listOf(r, "groups"), DeviceVersion: r.String("deviceVersion"),
		}}
		if err := c.call(ctx, api.PhoneService, "AddPhone", in, nil, true); err != nil {
			return err
		}
		return landed(c.profiles(ctx, serial))
	}
	liveWire, err := c.phone(ctx, serial)
	if err != nil {
		return err
	}
	if act == adapters.Delete {
		m := managePhone(serial)
		m.DeletePhone = yes()
		return c.manage(ctx, m)
	}
	live := phoneRecord(liveWire)
	if model := r.String("modelId"); model != "" && model != liveWire.ModelID {
		return permanent("phone %s: the model cannot be changed (%s → %s): delete the phone and add it again", serial, liveWire.ModelID, model)
	}
	m := managePhone(serial)
	m.Edit = edit(m.Edit, "description", live, r, "description")
	m.Edit = edit(m.Edit, "deviceVersion", live, r, "deviceVersion")
	for i, step := range groupSteps(listOf(live, "groups"), listOf(r, "groups")) {
		if i > 0 {
			m = managePhone(serial)
		}
		m.AddGroup, m.RemoveGroup = step[0], step[1]
		if len(m.Edit) > 0 || m.AddGroup != "" || m.RemoveGroup != "" {
			if err := c.manage(ctx, m); err != nil {
				return err
			}
		}
	}
	return c.profiles(ctx, serial)
}

// profiles regenerates a phone's configuration when the target asks for
// it, in a request of its own: sipXconfig skips everything else in a
// request that generates profiles.
func (c *Conn) profiles(ctx context.Context, serial string) error {
	if !c.generateProfiles {
		return nil
	}
	m := managePhone(serial)
	m.GenerateProfiles = yes()
	return c.manage(ctx, m)
}

func (c *Conn) applyLine(ctx context.Context, act adapters.Action, r schemas.Record) error {
	serial, user := r.String("phone"), r.String("user")
	p, err := c.phone(ctx, serial)
	if err != nil {
		if adapters.IsNotFound(err) && act == adapters.Create {
			return permanent("line %s / %s: phone %s does not exist on the PBX", serial, user, serial)
		}
		if adapters.IsNotFound(err) {
			return notFound("line", serial+" / "+user)
		}
		return err
	}
	has := slices.ContainsFunc(p.Lines, func(l api.Line) bool { return l.UserID == user })
	m := managePhone(serial)
	switch act {
	case adapters.Create:
		if has {
			return adapters.Errorf(adapters.Conflict, "line %s / %s already exists", serial, user)
		}
		m.AddLine = &api.Line{UserID: user}
	default:
		if !has {
			return notFound("line", serial+" / "+user)
		}
		m.RemoveLineByUserID = user
	}
	if err := c.manage(ctx, m); err != nil {
		return err
	}
	return landed(c.profiles(ctx, serial))
}
