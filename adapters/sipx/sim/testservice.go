package sim

import (
	"slices"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
)

// The state behind TestService: resetting services for tests.

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
