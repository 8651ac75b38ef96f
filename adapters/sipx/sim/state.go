package sim

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/internal/soap"
)

// The in-memory sipXconfig. Every method runs under Sim.mu and either
// changes nothing and returns a fault, or applies the whole request for the
// record it is working on (as a database transaction would).

type permission struct {
	id                       int
	name, label, description string
	typ                      string
	def, builtIn             bool
}

type user struct {
	userName, pintoken, firstName, lastName string
	sipPassword, email, branch              string
	aliases, groups, perms                  []string // perms: explicit grants, by name
	admin                                   bool
}

type ring struct {
	userName, typ string
	expiration    int
}

type callGroup struct {
	name, extension, description string
	enabled                      *bool
	rings                        []ring
}

type parkOrbit struct {
	name, extension, description, music string
	enabled                             *bool
}

type line struct {
	userID, uri string
	external    bool
}

type phone struct {
	serial, model, description, deviceVersion string
	groups                                    []string
	lines                                     []line
	profiles, restarts                        int
}

type state struct {
	nextPerm    int
	perms       []*permission // creation order
	users       map[string]*user
	userGroups  map[string]bool
	phoneGroups map[string]bool
	branches    map[string]bool
	callGroups  []*callGroup // creation order
	parkOrbits  []*parkOrbit // creation order
	phones      []*phone     // creation order
	bySerial    map[string]*phone
	// aliases is the one dialable namespace: user names, user aliases,
	// hunt-group names and extensions, park-orbit extensions → owner.
	aliases map[string]string
	// admin is the administrator's user name (superadmin on a real PBX).
	admin string
}

// builtInPermissions are the permissions sipXconfig ships with (names from
// the vendor's AddUser example) and whether they are on by default.
var builtInPermissions = []struct {
	name, typ string
	def       bool
}{
	{"FreeswitchVoicemailServer", "VOICEMAIL_SERVER", true},
	{"InternationalDialing", "CALL", false},
	{"LocalDialing", "CALL", true},
	{"LongDistanceDialing", "CALL", true},
	{"Mobile", "CALL", true},
	{"TollFree", "CALL", true},
	{"Voicemail", "CALL", true},
	{"music-on-hold", "APPLICATION", true},
	{"personal-auto-attendant", "APPLICATION", true},
	{"tui-change-pin", "APPLICATION", true},
}

// DefaultModels is the seed's list of supported phone models.
var DefaultModels = strings.Fields(`aastra53i aastra55i aastra57i aastra560m audiocodesMP112_FXS audiocodesMP114_FXS
audiocodesMP118_FXS audiocodesMP124_FXS avaya-1210 avaya-1220 avaya-1230 bria ciscoplus7911G ciscoplus7941G
ciscoplus7945G ciscoplus7961G ciscoplus7965G ciscoplus7970G ciscoplus7975G cisco7960 cisco7940 cisco7912 cisco7905
cisco18x clearone gtekAq10x gtekHl20x gtekVt20x gsPhoneBt100 gsPhoneBt200 gsPhoneGxp2020 gsPhoneGxp2010
gsPhoneGxp2000 gsPhoneGxp1200 gsPhoneGxv3000 gsFxsGxw4004 gsFxsGxw4008 gsHt286 gsHt386 gsHt486 gsHt488 gsHt496
hitachi3000 hitachi5000 hitachi5000A ipDialog isphone karelIP116 karelIP112 karelIP111 karelNT32I karelNT42I
linksys901 linksys921 linksys922 linksys941 linksys942 linksys962 linksys2102 linksys3102 linksys8000 SPA501G
SPA502G SPA504G SPA508G SPA509G SPA525G mitel nortel11xx nortel1535 lip6804 lip6812 lip6830 polycom321 polycom320
polycom330 polycom331 polycom335 polycom430 polycom450 polycom550 polycom560 polycom650 polycom670 polycomVVX1500
polycom5000 polycom6000 polycom7000 snom300 snom320 snom360 snom370 snomM3 unidatawpu7700`)

// DefaultBranches exist on a fresh simulator: the API cannot create
// branches, so a rehearsal needs some.
var DefaultBranches = []string{"HQ", "Berlin", "Stockholm", "London", "Paris"}

// polycomVersions are the device versions Polycom models accept; other
// models have a single firmware line and accept none.
var polycomVersions = []string{"polycom3.1", "polycom3.2", "polycom4.0", "polycom4.1", "polycom5.0"}

// serialRE is sipXconfig's default serial number rule.
var serialRE = regexp.MustCompile(`^[a-f\d]{12}$`)

// Exception classes sipXconfig reports, as Axis puts them in faultstring.
const (
	excNameInUse      = "org.sipfoundry.sipxconfig.common.NameInUseException"
	excExtensionInUse = "org.sipfoundry.sipxconfig.common.ExtensionInUseException"
	excDupLabel       = "org.sipfoundry.sipxconfig.permission.DuplicatePermissionLabelException"
	excInvalidSerial  = "org.sipfoundry.sipxconfig.device.InvalidSerialNumberException"
	excDupSerial      = "org.sipfoundry.sipxconfig.device.DuplicateSerialNumberException"
	excUser           = "org.sipfoundry.sipxconfig.common.UserException"
	excPintoken       = "org.sipfoundry.sipxconfig.common.ChangePintokenRequiredException"
	excRuntime        = "java.lang.RuntimeException"
	excIllegalArg     = "java.lang.IllegalArgumentException"
)

func newState(branches []string, admin string) *state {
	s := &state{
		admin: admin,
		users: map[string]*user{}, userGroups: map[string]bool{}, phoneGroups: map[string]bool{},
		branches: map[string]bool{}, aliases: map[string]string{}, bySerial: map[string]*phone{},
	}
	for _, b := range branches {
		s.branches[b] = true
	}
	for _, p := range builtInPermissions {
		s.nextPerm++
		s.perms = append(s.perms, &permission{id: s.nextPerm, name: p.name, label: p.name, typ: p.typ, def: p.def, builtIn: true})
	}
	return s
}

func pintoken(userName, realm, pin string) string {
	sum := md5.Sum([]byte(userName + ":" + realm + ":" + pin))
	return hex.EncodeToString(sum[:])
}

// ---- the alias namespace

func (s *state) claim(alias, owner string) { s.aliases[alias] = owner }

func (s *state) release(alias, owner string) {
	if s.aliases[alias] == owner {
		delete(s.aliases, alias)
	}
}

// free reports whether alias is unused or used by owner itself.
func (s *state) free(alias, owner string) bool {
	o, used := s.aliases[alias]
	return !used || o == owner
}

func userOwner(name string) string { return "user:" + name }

// ---- permissions

func (s *state) permByName(name string) *permission {
	for _, p := range s.perms {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (s *state) permByLabel(label string) *permission {
	for _, p := range s.perms {
		if p.label == label {
			return p
		}
	}
	return nil
}

func (s *state) addPermission(in *api.AddPermission) (bool, error) {
	p := in.Permission
	if p.Label == "" {
		return false, soap.UserException(excIllegalArg, "permission label is required")
	}
	if s.permByLabel(p.Label) != nil {
		return true, soap.UserException(excDupLabel, "&message.duplicatePermission")
	}
	s.nextPerm++
	np := &permission{id: s.nextPerm, name: fmt.Sprintf("perm_%d", s.nextPerm), label: p.Label, description: p.Description, typ: "CALL"}
	if p.DefaultValue != nil {
		np.def = *p.DefaultValue
	}
	s.perms = append(s.perms, np)
	return false, nil
}

func (s *state) findPermissions(search *api.PermissionSearch) []*permission {
	switch {
	case search == nil || search.IsNil():
		return slices.Clone(s.perms)
	case search.ByName != "":
		if p := s.permByName(search.ByName); p != nil {
			return []*permission{p}
		}
	case search.ByLabel != "":
		if p := s.permByLabel(search.ByLabel); p != nil {
			return []*permission{p}
		}
	}
	return nil
}

func (p *permission) wire() api.Permission {
	def, builtIn := p.def, p.builtIn
	return api.Permission{Name: p.name, Label: p.label, Description: p.description, DefaultValue: &def, Type: p.typ, BuiltIn: &builtIn}
}

func (s *state) managePermission(in *api.ManagePermission) error {
	for _, p := range s.findPermissions(in.Search) {
		if p.builtIn {
			continue // sipXconfig skips built-ins silently
		}
		if in.DeletePermission != nil && *in.DeletePermission {
			s.perms = slices.DeleteFunc(s.perms, func(x *permission) bool { return x == p })
			for _, u := range s.users {
				u.perms = slices.DeleteFunc(u.perms, func(n string) bool { return n == p.name })
			}
			continue
		}
		next := *p
		for _, e := range in.Edit {
			switch e.Property {
			case "label":
				next.label = e.Value.Value
			case "description":
				next.description = e.Value.Value
			case "defaultValue":
				next.def = e.Value.Value == "true"
			case "name", "type", "builtIn", "id":
			default:
				return soap.UserException(excRuntime, "Error accessing property "+e.Property)
			}
		}
		if next.label == "" {
			return soap.UserException(excIllegalArg, "permission label is required")
		}
		if q := s.permByLabel(next.label); q != nil && q != p {
			return soap.UserException(excDupLabel, "&message.duplicatePermission")
		}
		*p = next
	}
	return nil
}

// ---- users

func (s *state) sortedUsers() []*user {
	out := make([]*user, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].userName < out[j].userName })
	return out
}

// checkUserAliases fails when the user's name or an alias is used by
// another entity, or twice by the user.
func (s *state) checkUserAliases(owner string, names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" {
			continue
		}
		if seen[n] || !s.free(n, owner) {
			return soap.UserException(excNameInUse, "&error.nameInUse.short")
		}
		seen[n] = true
	}
	return nil
}

func (s *state) claimUser(u *user) {
	s.claim(u.userName, userOwner(u.userName))
	for _, a := range u.aliases {
		s.claim(a, userOwner(u.userName))
	}
}

func (s *state) releaseUser(u *user) {
	s.release(u.userName, userOwner(u.userName))
	for _, a := range u.aliases {
		s.release(a, userOwner(u.userName))
	}
}

func (s *state) addUser(in *api.AddUser, realm string, grantPerms bool) (dup bool, err error) {
	w := in.User
	if strings.TrimSpace(w.UserName) == "" {
		return false, soap.UserException(excIllegalArg, "userName is required")
	}
	if in.Pin == "" {
		return false, soap.UserException(excIllegalArg, "pin is required")
	}
	if _, exists := s.users[w.UserName]; exists {
		return true, soap.UserException(excNameInUse, "&error.nameInUse.short")
	}
	if err := s.checkUserAliases(userOwner(w.UserName), append([]string{w.UserName}, w.Aliases...)); err != nil {
		return false, err
	}
	u := &user{
		userName: w.UserName, pintoken: pintoken(w.UserName, realm, in.Pin),
		firstName: api.Text(w.FirstName), lastName: api.Text(w.LastName), sipPassword: api.Text(w.SipPassword),
		email: api.Text(w.EmailAddress), aliases: dedupe(w.Aliases), groups: dedupe(w.Groups),
	}
	if u.sipPassword == "" { // sipXconfig gives every new user a random SIP password
		u.sipPassword = randomToken()
	}
	if s.branches[w.BranchName] { // an unknown branch is silently ignored
		u.branch = w.BranchName
	}
	if grantPerms {
		for _, name := range dedupe(w.Permissions) {
			if s.permByName(name) == nil {
				return false, soap.UserException(excIllegalArg, "no permission named "+name)
			}
			u.perms = append(u.perms, name)
		}
	}
	for _, g := range u.groups {
		s.userGroups[g] = true
	}
	s.users[u.userName] = u
	s.claimUser(u)
	return false, nil
}

func (s *state) findUsers(search *api.UserSearch) ([]*user, error) {
	const max = 1000 // sipXconfig caps fuzzy and group searches
	switch {
	case search == nil || search.IsNil():
		return s.sortedUsers(), nil
	case search.ByUserName != "":
		if u := s.users[search.ByUserName]; u != nil {
			return []*user{u}, nil
		}
		return nil, nil
	case search.ByFuzzyUserNameOrAlias != "":
		v := strings.ToLower(search.ByFuzzyUserNameOrAlias)
		var out []*user
		for _, u := range s.sortedUsers() {
			hit := strings.Contains(strings.ToLower(u.userName), v) || strings.Contains(strings.ToLower(u.firstName), v) ||
				strings.Contains(strings.ToLower(u.lastName), v) ||
				slices.ContainsFunc(u.aliases, func(a string) bool { return strings.Contains(strings.ToLower(a), v) })
			if hit && len(out) < max {
				out = append(out, u)
			}
		}
		return out, nil
	case search.ByGroup != "":
		if !s.userGroups[search.ByGroup] {
			// sipXconfig dereferences the missing group.
			return nil, &soap.Fault{Code: soap.CodeUserException, String: "java.lang.NullPointerException"}
		}
		var out []*user
		for _, u := range s.sortedUsers() {
			if slices.Contains(u.groups, search.ByGroup) && len(out) < max {
				out = append(out, u)
			}
		}
		return out, nil
	}
	return nil, nil // <search/> with no criterion matches nothing
}

// effectivePerms lists every permission the user has: explicit grants and
// the ones enabled by default, in permission order.
func (s *state) effectivePerms(u *user) []string {
	var out []string
	for _, p := range s.perms {
		if p.def || slices.Contains(u.perms, p.name) {
			out = append(out, p.name)
		}
	}
	return out
}

func (s *state) wireUser(u *user) api.User {
	return api.User{
		UserName: u.userName, Pintoken: api.Nillable(u.pintoken), LastName: api.Nillable(u.lastName),
		FirstName: api.Nillable(u.firstName), SipPassword: api.Nillable(u.sipPassword), Aliases: u.aliases,
		EmailAddress: api.Nillable(u.email), Groups: u.groups, Permissions: s.effectivePerms(u), BranchName: u.branch,
	}
}

func (s *state) manageUser(in *api.ManageUser) error {
	matched, err := s.findUsers(in.Search)
	if err != nil {
		return err
	}
	for _, u := range matched {
		if in.DeleteUser != nil && *in.DeleteUser {
			if err := s.deleteUser(u); err != nil {
				return err
			}
			continue
		}
		if err := s.editUser(u, in); err != nil {
			return err
		}
	}
	return nil
}

func (s *state) deleteUser(u *user) error {
	if u.admin {
		return soap.UserException(excUser, "&error.deleteSuperadmin")
	}
	s.releaseUser(u)
	delete(s.users, u.userName)
	for _, g := range s.callGroups { // the user's rings go with them
		g.rings = slices.DeleteFunc(g.rings, func(r ring) bool { return r.userName == u.userName })
	}
	for _, p := range s.phones { // and so do their lines
		p.lines = slices.DeleteFunc(p.lines, func(l line) bool { return !l.external && l.userID == u.userName })
	}
	return nil
}

func (s *state) editUser(u *user, in *api.ManageUser) error {
	next := *u
	next.aliases, next.groups = slices.Clone(u.aliases), slices.Clone(u.groups)
	for _, e := range in.Edit {
		v := e.Value.Value
		switch e.Property {
		case "userName":
			next.userName = v
		case "pintoken":
			next.pintoken = v
		case "lastName":
			next.lastName = v
		case "firstName":
			next.firstName = v
		case "sipPassword":
			next.sipPassword = v
		case "emailAddress":
			next.email = v
		case "aliases":
			next.aliases = nil
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					next.aliases = append(next.aliases, a)
				}
			}
			next.aliases = dedupe(next.aliases)
		case "groups", "permissions", "branchName":
			// copied to the API bean, never to the user
		default:
			return soap.UserException(excRuntime, "Error accessing property "+e.Property)
		}
	}
	if next.userName != u.userName {
		switch {
		case u.admin:
			return soap.UserException(excUser, "&msg.error.renameAdminUser")
		case next.userName == "":
			return soap.UserException(excIllegalArg, "userName is required")
		case next.pintoken == u.pintoken:
			return soap.UserException(excPintoken, "&error.changePintokenRequiredException")
		}
		if _, taken := s.users[next.userName]; taken {
			return soap.UserException(excNameInUse, "&error.nameInUse.short")
		}
	}
	owner := userOwner(u.userName)
	s.releaseUser(u)
	if err := s.checkUserAliases(owner, append([]string{next.userName}, next.aliases...)); err != nil {
		s.claimUser(u)
		return err
	}
	if in.AddGroup != "" && !slices.Contains(next.groups, in.AddGroup) {
		next.groups = append(next.groups, in.AddGroup)
		s.userGroups[in.AddGroup] = true
	}
	if in.RemoveGroup != "" {
		next.groups = slices.DeleteFunc(next.groups, func(g string) bool { return g == in.RemoveGroup })
	}
	for _, b := range []string{in.UpdateBranch, in.UpdateGroup} {
		if b != "" && s.branches[b] { // an unknown branch is silently ignored
			next.branch = b
		}
	}
	if next.userName != u.userName {
		delete(s.users, u.userName)
		for _, g := range s.callGroups {
			for i := range g.rings {
				if g.rings[i].userName == u.userName {
					g.rings[i].userName = next.userName
				}
			}
		}
		for _, p := range s.phones {
			for i := range p.lines {
				if !p.lines[i].external && p.lines[i].userID == u.userName {
					p.lines[i].userID = next.userName
				}
			}
		}
	}
	*u = next
	s.users[u.userName] = u
	s.claimUser(u)
	return nil
}

// ---- call groups

func (s *state) callGroupByName(name string) *callGroup {
	for _, g := range s.callGroups {
		if g.name == name {
			return g
		}
	}
	return nil
}

func (s *state) addCallGroup(in *api.AddCallGroup) (dup bool, err error) {
	w := in.CallGroup
	if w.Name == "" {
		return false, soap.UserException(excIllegalArg, "hunt group name is required")
	}
	owner := "callgroup:" + w.Name
	if s.callGroupByName(w.Name) != nil {
		return true, soap.UserException(excNameInUse, "&error.nameInUse.long")
	}
	if !s.free(w.Name, owner) {
		return false, soap.UserException(excNameInUse, "&error.nameInUse.long")
	}
	if w.Extension != "" && (!s.free(w.Extension, owner) || w.Extension == w.Name) {
		return false, soap.UserException(excExtensionInUse, "&error.extensionInUse")
	}
	g := &callGroup{name: w.Name, extension: w.Extension, description: w.Description, enabled: w.Enabled}
	for _, r := range w.Rings {
		switch {
		case r.UserName == "":
			return false, soap.UserException(excRuntime, "Cannot create a user ring given a null or empty userName")
		case s.users[r.UserName] == nil:
			return false, soap.UserException(excRuntime, "Cannot find user with userName: "+r.UserName)
		case r.Type != api.RingDelayed && r.Type != api.RingImmediate:
			return false, soap.UserException(excRuntime, "unknown ring type: "+r.Type)
		}
		g.rings = append(g.rings, ring{userName: r.UserName, typ: r.Type, expiration: r.Expiration})
	}
	s.callGroups = append(s.callGroups, g)
	s.claim(g.name, owner)
	if g.extension != "" {
		s.claim(g.extension, owner)
	}
	return false, nil
}

func (g *callGroup) wire() api.CallGroup {
	out := api.CallGroup{Name: g.name, Extension: g.extension, Description: g.description, Enabled: g.enabled}
	for i, r := range g.rings {
		out.Rings = append(out.Rings, api.UserRing{Expiration: r.expiration, Type: r.typ, Position: i, UserName: r.userName})
	}
	return out
}

func (s *state) removeCallGroup(alias string) {
	s.callGroups = slices.DeleteFunc(s.callGroups, func(g *callGroup) bool {
		if g.name != alias && (g.extension == "" || g.extension != alias) {
			return false
		}
		owner := "callgroup:" + g.name
		s.release(g.name, owner)
		s.release(g.extension, owner)
		return true
	})
}

// ---- park orbits

func (s *state) addParkOrbit(in *api.AddParkOrbit) (dup bool, err error) {
	w := in.ParkOrbit
	if w.Name == "" {
		return false, soap.UserException(excIllegalArg, "park orbit name is required")
	}
	for _, o := range s.parkOrbits {
		if o.name == w.Name {
			return true, soap.UserException(excNameInUse, "&error.nameInUse.long")
		}
	}
	owner := "parkorbit:" + w.Name
	if w.Extension != "" && !s.free(w.Extension, owner) {
		return false, soap.UserException(excExtensionInUse, "&error.extensionInUse")
	}
	s.parkOrbits = append(s.parkOrbits, &parkOrbit{name: w.Name, extension: w.Extension, description: w.Description, enabled: w.Enabled, music: w.Music})
	if w.Extension != "" {
		s.claim(w.Extension, owner)
	}
	return false, nil
}

// ---- phones

// normalizeSerial is how sipXconfig reads a serial number in a search:
// lower case, without separators.
func normalizeSerial(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', ':', ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, strings.ToLower(s))
}

func (s *state) phoneBySerial(serial string) *phone { return s.bySerial[serial] }

func checkDeviceVersion(model, v string) error {
	if v == "" || strings.HasPrefix(model, "polycom") && slices.Contains(polycomVersions, v) {
		return nil
	}
	return soap.UserException(excRuntime, "Invalid device version id '"+v+"'")
}

func (s *state) addPhone(in *api.AddPhone, models map[string]bool, domain string, addLines bool) (dup bool, err error) {
	w := in.Phone
	if !models[w.ModelID] {
		return false, soap.UserException(excIllegalArg, "phone model doesn't exist: "+w.ModelID)
	}
	if !serialRE.MatchString(w.SerialNumber) {
		return false, soap.UserException(excInvalidSerial, "&error.invalidSerialNumber")
	}
	if s.phoneBySerial(w.SerialNumber) != nil {
		return true, soap.UserException(excDupSerial, "&error.duplicateSerialNumber")
	}
	if err := checkDeviceVersion(w.ModelID, w.DeviceVersion); err != nil {
		return false, err
	}
	p := &phone{serial: w.SerialNumber, model: w.ModelID, description: w.Description, deviceVersion: w.DeviceVersion, groups: dedupe(w.Groups)}
	if addLines {
		for _, l := range w.Lines {
			if s.users[l.UserID] == nil {
				return false, soap.UserException(excIllegalArg, "user doesn't exist: "+l.UserID)
			}
			p.lines = append(p.lines, line{userID: l.UserID, uri: l.UserID + "@" + domain})
		}
	}
	for _, g := range p.groups {
		s.phoneGroups[g] = true
	}
	s.phones = append(s.phones, p)
	s.bySerial[p.serial] = p
	return false, nil
}

func (s *state) findPhones(search *api.PhoneSearch) []*phone {
	switch {
	case search == nil || search.IsNil():
		return slices.Clone(s.phones)
	case search.BySerialNumber != "":
		if p := s.phoneBySerial(normalizeSerial(search.BySerialNumber)); p != nil {
			return []*phone{p}
		}
	case search.ByGroup != "":
		var out []*phone
		for _, p := range s.phones {
			if slices.Contains(p.groups, search.ByGroup) {
				out = append(out, p)
			}
		}
		return out
	}
	return nil
}

func (p *phone) wire() api.Phone {
	out := api.Phone{SerialNumber: p.serial, ModelID: p.model, Description: p.description, Groups: p.groups, DeviceVersion: p.deviceVersion}
	for _, l := range p.lines {
		out.Lines = append(out.Lines, api.Line{UserID: l.userID, URI: l.uri})
	}
	return out
}

// managePhone applies sipXconfig's rules: generateProfiles, else restart,
// else the per-phone changes in a fixed order. lineDups counts addLine
// requests for a line the phone already has.
func (s *state) managePhone(in *api.ManagePhone, domain string) (lineAdds, lineDups int, err error) {
	matched := s.findPhones(in.Search)
	if in.GenerateProfiles != nil && *in.GenerateProfiles {
		for _, p := range matched {
			p.profiles++
			p.restarts++
		}
		return 0, 0, nil
	}
	if in.Restart != nil && *in.Restart {
		for _, p := range matched {
			p.restarts++
		}
		return 0, 0, nil
	}
	for _, p := range matched {
		if in.DeletePhone != nil && *in.DeletePhone {
			s.phones = slices.DeleteFunc(s.phones, func(x *phone) bool { return x == p })
			delete(s.bySerial, p.serial)
			continue
		}
		next := *p
		next.groups, next.lines = slices.Clone(p.groups), slices.Clone(p.lines)
		for _, e := range in.Edit {
			switch e.Property {
			case "serialNumber":
				next.serial = e.Value.Value
			case "description":
				next.description = e.Value.Value
			case "deviceVersion":
				next.deviceVersion = e.Value.Value
			case "modelId", "groups", "lines":
			default:
				return 0, 0, soap.UserException(excRuntime, "Error accessing property "+e.Property)
			}
		}
		if next.serial != p.serial {
			if !serialRE.MatchString(next.serial) {
				return 0, 0, soap.UserException(excInvalidSerial, "&error.invalidSerialNumber")
			}
			if s.phoneBySerial(next.serial) != nil {
				return 0, 0, soap.UserException(excDupSerial, "&error.duplicateSerialNumber")
			}
		}
		if err := checkDeviceVersion(next.model, next.deviceVersion); err != nil {
			return 0, 0, err
		}
		if v := in.RemoveLineByUserID; v != "" {
			next.lines = slices.DeleteFunc(next.lines, func(l line) bool { return l.userID == v })
		}
		if v := in.RemoveLineByURI; v != "" {
			next.lines = slices.DeleteFunc(next.lines, func(l line) bool { return l.uri == v })
		}
		if l := in.AddLine; l != nil {
			if s.users[l.UserID] == nil {
				return 0, 0, soap.UserException(excIllegalArg, "user doesn't exist: "+l.UserID)
			}
			if slices.ContainsFunc(next.lines, func(x line) bool { return !x.external && x.userID == l.UserID }) {
				return 0, 1, soap.UserException(excIllegalArg, "phone "+p.serial+" already has a line for user "+l.UserID)
			}
			next.lines = append(next.lines, line{userID: l.UserID, uri: l.UserID + "@" + domain})
			lineAdds++
		}
		if l := in.AddExternalLine; l != nil {
			if l.UserID == "" || l.RegistrationServer == "" {
				return 0, 0, soap.UserException(excIllegalArg, "external line needs userId and registrationServer")
			}
			next.lines = append(next.lines, line{userID: l.UserID, uri: l.UserID + "@" + l.RegistrationServer, external: true})
		}
		if g := in.AddGroup; g != "" && !slices.Contains(next.groups, g) {
			next.groups = append(next.groups, g)
			s.phoneGroups[g] = true
		}
		if g := in.RemoveGroup; g != "" {
			next.groups = slices.DeleteFunc(next.groups, func(x string) bool { return x == g })
		}
		delete(s.bySerial, p.serial)
		*p = next
		s.bySerial[p.serial] = p
	}
	return lineAdds, 0, nil
}

// ---- TestService

func (s *state) reset(in *api.ResetServices, realm, adminPassword string) {
	on := func(b *bool) bool { return b != nil && *b }
	if on(in.CallGroup) {
		for _, g := range s.callGroups {
			s.release(g.name, "callgroup:"+g.name)
			s.release(g.extension, "callgroup:"+g.name)
		}
		s.callGroups = nil
	}
	if on(in.ParkOrbit) {
		for _, o := range s.parkOrbits {
			s.release(o.extension, "parkorbit:"+o.name)
		}
		s.parkOrbits = nil
	}
	if on(in.Permission) {
		s.perms = slices.DeleteFunc(s.perms, func(p *permission) bool { return !p.builtIn })
		for _, u := range s.users {
			u.perms = slices.DeleteFunc(u.perms, func(n string) bool { return s.permByName(n) == nil })
		}
	}
	if on(in.Phone) {
		s.phones, s.bySerial = nil, map[string]*phone{}
	}
	if on(in.User) {
		for _, u := range s.users {
			if !u.admin {
				_ = s.deleteUser(u)
			}
		}
	}
	if on(in.SuperAdmin) || s.users[s.admin] == nil {
		s.ensureAdmin(realm, adminPassword)
	}
}

// ensureAdmin (re)creates the administrator with its password as PIN.
func (s *state) ensureAdmin(realm, password string) {
	if old := s.users[s.admin]; old != nil {
		s.releaseUser(old)
	}
	u := &user{userName: s.admin, pintoken: pintoken(s.admin, realm, password), admin: true, groups: []string{"administrators"}}
	s.userGroups["administrators"] = true
	s.users[s.admin] = u
	s.claimUser(u)
}

func randomToken() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func dedupe(in []string) []string {
	var out []string
	for _, v := range in {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
