package sim

import (
	"fmt"
	"slices"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/internal/soap"
)

// The state behind PermissionService: built-in and custom permissions.

type permission struct {
	id                       int
	name, label, description string
	typ                      string
	def, builtIn             bool
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
