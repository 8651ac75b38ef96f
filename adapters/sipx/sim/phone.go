package sim

import (
	"regexp"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/internal/soap"
)

// The state behind PhoneService: phones, their lines and serial numbers.

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

// polycomVersions are the device versions Polycom models accept; other
// models have a single firmware line and accept none.
var polycomVersions = []string{"polycom3.1", "polycom3.2", "polycom4.0", "polycom4.1", "polycom5.0"}

// serialRE is sipXconfig's default serial number rule.
var serialRE = regexp.MustCompile(`^[a-f\d]{12}$`)

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
