package sim

import (
	"slices"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/internal/soap"
)

// The state behind CallGroupService: hunt groups and their rings.

type ring struct {
	userName, typ string
	expiration    int
}

type callGroup struct {
	name, extension, description string
	enabled                      *bool
	rings                        []ring
}

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
