package sim

import (
	"slices"
	"strings"
)

// The in-memory sipXconfig. Every method runs under Sim.mu and either
// changes nothing and returns a fault, or applies the whole request for the
// record it is working on (as a database transaction would).

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

func dedupe(in []string) []string {
	var out []string
	for _, v := range in {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
