package sim

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"sort"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/internal/soap"
)

// The state behind UserService: users, their aliases, PINs and permissions.

type user struct {
	userName, pintoken, firstName, lastName string
	sipPassword, email, branch              string
	aliases, groups, perms                  []string // perms: explicit grants, by name
	admin                                   bool
}

func pintoken(userName, realm, pin string) string {
	sum := md5.Sum([]byte(userName + ":" + realm + ":" + pin))
	return hex.EncodeToString(sum[:])
}

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

func randomToken() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
