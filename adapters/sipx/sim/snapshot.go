package sim

import (
	"slices"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
)

// Snapshot is a copy of the simulator's state, for tests and rehearsals:
// what an administrator would see in the web UI.
type Snapshot struct {
	Permissions []api.Permission // built-in and custom, in creation order
	Users       []api.User       // by user name; Permissions are the explicit grants only
	CallGroups  []api.CallGroup
	ParkOrbits  []api.ParkOrbit
	Phones      []PhoneState
	UserGroups  []string
	PhoneGroups []string
}

// PhoneState is a phone with the counters managePhone's side effects leave.
type PhoneState struct {
	api.Phone
	ProfilesGenerated, Restarts int
}

// Snapshot copies the current state.
func (s *Sim) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	var out Snapshot
	for _, p := range st.perms {
		out.Permissions = append(out.Permissions, p.wire())
	}
	for _, u := range st.sortedUsers() {
		w := st.wireUser(u)
		w.Aliases, w.Groups, w.Permissions = slices.Clone(u.aliases), slices.Clone(u.groups), slices.Clone(u.perms)
		out.Users = append(out.Users, w)
	}
	for _, g := range st.callGroups {
		out.CallGroups = append(out.CallGroups, g.wire())
	}
	for _, o := range st.parkOrbits {
		out.ParkOrbits = append(out.ParkOrbits, api.ParkOrbit{Name: o.name, Extension: o.extension, Description: o.description, Enabled: o.enabled, Music: o.music})
	}
	for _, p := range st.phones {
		w := p.wire()
		w.Groups, w.Lines = slices.Clone(w.Groups), slices.Clone(w.Lines)
		out.Phones = append(out.Phones, PhoneState{Phone: w, ProfilesGenerated: p.profiles, Restarts: p.restarts})
	}
	out.UserGroups = sortedKeys(st.userGroups)
	out.PhoneGroups = sortedKeys(st.phoneGroups)
	return out
}

// User returns one user from a snapshot, or nil.
func (sn Snapshot) User(name string) *api.User {
	for i := range sn.Users {
		if sn.Users[i].UserName == name {
			return &sn.Users[i]
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// SetPassword changes a user's password (PIN), as an administrator would in
// the web UI; tests use it to revoke and restore the credentials of the
// account the adapter logs in with.
func (s *Sim) SetPassword(userName, password string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.users[userName]
	if u == nil {
		return false
	}
	u.pintoken = pintoken(userName, s.opts.Realm, password)
	return true
}
