package sim

import (
	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/internal/soap"
)

// The state behind ParkOrbitService.

type parkOrbit struct {
	name, extension, description, music string
	enabled                             *bool
}

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
