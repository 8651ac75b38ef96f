package sim

import (
	"cmp"
	"slices"
)

// Snapshot is the simulator's state by name, for tests that assert the
// exact result of a run. Every list is sorted by natural key, so snapshots
// of two runs compare equal whatever order the runs created things in.
type Snapshot struct {
	Locations        []LocationState
	Subsystems       []SubsystemState
	Departments      []DepartmentState
	SecurityProfiles []ProfileState
	Users            []UserState
	Extensions       []ExtensionState
}

type LocationState struct {
	Name, Description, CMGCustomerGroup string
}

type SubsystemState struct {
	Name, Type, Location string
	NumberSeries         []string // "EX:1000-1999"
}

type DepartmentState struct {
	Name, Location, Parent string // Parent is "" for a top-level department
	Description            string
}

type ProfileState struct {
	Name, Description string
	Privileges        []string
}

type UserState struct {
	UserID, FirstName, LastName string
	Departments                 []string // primary first
	Extensions                  []string // "number@subsystem", in link order
	HasPassword, Locked         bool
}

type ExtensionState struct {
	Number, Subsystem, Type string
	Owner                   string         // userId, "" when unlinked
	Fields                  map[string]any // the typed body as stored (secrets included)
}

// Snapshot copies the current state.
func (s *Sim) Snapshot() Snapshot {
	a := s.api
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.st
	var snap Snapshot
	for _, l := range st.locations {
		snap.Locations = append(snap.Locations, LocationState{l.name, l.description, l.cmgCustomer})
	}
	for _, sub := range st.subsystems {
		ss := SubsystemState{Name: sub.name, Type: sub.typ, Location: st.locationName(sub.locationID)}
		for _, ns := range sub.series {
			ss.NumberSeries = append(ss.NumberSeries, ns.NumberType+":"+ns.Start+"-"+ns.End)
		}
		snap.Subsystems = append(snap.Subsystems, ss)
	}
	for _, d := range st.depts {
		ds := DepartmentState{Name: d.name, Location: st.locationName(d.locationID), Description: str(d.attrs, "description")}
		if p := st.depts[d.parentID]; p != nil {
			ds.Parent = p.name
		}
		snap.Departments = append(snap.Departments, ds)
	}
	for _, p := range st.profiles {
		ps := ProfileState{Name: p.name, Description: p.description}
		for _, id := range p.privileges {
			ps.Privileges = append(ps.Privileges, accessPrivileges[id-1].name)
		}
		snap.SecurityProfiles = append(snap.SecurityProfiles, ps)
	}
	for _, u := range st.users {
		us := UserState{UserID: u.userID, FirstName: str(u.attrs, "firstName"), LastName: str(u.attrs, "lastName"),
			HasPassword: u.password != "", Locked: u.locked}
		for _, id := range u.deptIDs {
			if d := st.depts[id]; d != nil {
				us.Departments = append(us.Departments, d.name)
			}
		}
		for _, l := range u.exts {
			us.Extensions = append(us.Extensions, l.ext.number+"@"+l.ext.sub.name)
		}
		snap.Users = append(snap.Users, us)
	}
	for _, x := range st.exts {
		xs := ExtensionState{Number: x.number, Subsystem: x.sub.name, Type: x.typ, Fields: cloneMap(x.body)}
		if x.owner != nil {
			xs.Owner = x.owner.userID
		}
		snap.Extensions = append(snap.Extensions, xs)
	}
	slices.SortFunc(snap.Locations, func(a, b LocationState) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(snap.Subsystems, func(a, b SubsystemState) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(snap.Departments, func(a, b DepartmentState) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Parent, b.Parent))
	})
	slices.SortFunc(snap.SecurityProfiles, func(a, b ProfileState) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(snap.Users, func(a, b UserState) int { return cmp.Compare(a.UserID, b.UserID) })
	slices.SortFunc(snap.Extensions, func(a, b ExtensionState) int {
		return cmp.Or(cmp.Compare(a.Subsystem, b.Subsystem), cmp.Compare(a.Number, b.Number))
	})
	return snap
}

func (st *state) locationName(id int) string {
	if l := st.locations[id]; l != nil {
		return l.name
	}
	return ""
}

// User returns a user of the snapshot by userId.
func (s Snapshot) User(userID string) (UserState, bool) {
	i := slices.IndexFunc(s.Users, func(u UserState) bool { return u.UserID == userID })
	if i < 0 {
		return UserState{}, false
	}
	return s.Users[i], true
}

// Extension returns an extension of the snapshot by number and subsystem.
func (s Snapshot) Extension(number, subsystem string) (ExtensionState, bool) {
	i := slices.IndexFunc(s.Extensions, func(x ExtensionState) bool { return x.Number == number && x.Subsystem == subsystem })
	if i < 0 {
		return ExtensionState{}, false
	}
	return s.Extensions[i], true
}

// Department returns a department of the snapshot by name.
func (s Snapshot) Department(name string) (DepartmentState, bool) {
	i := slices.IndexFunc(s.Departments, func(d DepartmentState) bool { return d.Name == name })
	if i < 0 {
		return DepartmentState{}, false
	}
	return s.Departments[i], true
}
