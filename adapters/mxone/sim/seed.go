package sim

import (
	"fmt"

	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Seed is a starting inventory in the import format: records of the mxone
// kinds with schema field paths and references by name, as `pbxbatch
// export` writes them. Build one with Add, or from a workbook with
// batch/seed and NewSeed.
type Seed struct {
	rows map[string][]seedRow
}

type seedRow struct {
	rec    schemas.Record
	origin string // where the row came from, for messages
}

// seedOrder is the order kinds are loaded in: every kind after those it
// references. Extensions come before users; owners are linked last.
var seedOrder = []string{"location", "subsystem", "department", "security_profile", "extension", "user"}

// Add appends a record of a kind (location, subsystem, department,
// security_profile, extension, user). Other kinds are catalogues the
// simulator has built in; they are ignored.
func (s *Seed) Add(kind string, r schemas.Record) {
	s.add(kind, r, fmt.Sprintf("%s #%d", kind, len(s.rows[kind])+1))
}

func (s *Seed) add(kind string, r schemas.Record, origin string) {
	if s.rows == nil {
		s.rows = map[string][]seedRow{}
	}
	s.rows[kind] = append(s.rows[kind], seedRow{rec: r, origin: origin})
}

// NewSeed takes a seed read from a workbook (batch/seed); nil stays nil,
// a fresh system.
func NewSeed(records simkit.Seed) *Seed {
	if records == nil {
		return nil
	}
	counts := map[string]int{}
	for _, r := range records {
		counts[r.Kind]++
	}
	s := &Seed{rows: map[string][]seedRow{}}
	for kind, n := range counts {
		s.rows[kind] = make([]seedRow, 0, n)
	}
	for _, r := range records {
		s.add(r.Kind, r.Record, r.Origin)
	}
	return s
}

// load builds the state from a seed through the same checks as the API,
// so a seed the real PM would refuse is refused here too.
func (st *state) load(seed *Seed) error {
	for _, kind := range seedOrder {
		rows := seed.rows[kind]
		if kind == "department" {
			rows = parentsFirst(rows)
		}
		for _, row := range rows {
			if err := st.loadRecord(kind, row.rec); err != nil {
				return fmt.Errorf("seed %s (%s): %v", row.origin, kind, err)
			}
		}
	}
	for _, row := range seed.rows["extension"] {
		if err := st.loadOwner(row.rec); err != nil {
			return fmt.Errorf("seed %s (extension): %v", row.origin, err)
		}
	}
	return nil
}

// parentsFirst orders departments so that each comes after its parent.
func parentsFirst(rows []seedRow) []seedRow {
	done := map[string]bool{}
	var out []seedRow
	for len(rows) > 0 {
		var rest []seedRow
		for _, r := range rows {
			if p := r.rec.String("parentDepartment"); p == "" || done[p] || !hasName(rows, p) {
				out = append(out, r)
				done[r.rec.String("departmentName")] = true
			} else {
				rest = append(rest, r)
			}
		}
		if len(rest) == len(rows) { // a cycle: let loadRecord report it
			return append(out, rest...)
		}
		rows = rest
	}
	return out
}

func hasName(rows []seedRow, name string) bool {
	for _, r := range rows {
		if r.rec.String("departmentName") == name {
			return true
		}
	}
	return false
}

// body copies a record's fields into a wire body, dropping the given paths.
func body(r schemas.Record, drop ...string) map[string]any {
	m := cloneMap(r)
	for _, d := range drop {
		delete(m, d)
	}
	return m
}

func (st *state) loadRecord(kind string, r schemas.Record) error {
	switch kind {
	case "location":
		b, err := pick("location", body(r), locationSpec)
		if err != nil {
			return err
		}
		return st.createLocation(b)
	case "subsystem":
		raw := body(r, "location", "numberSeries")
		raw["locationName"] = r.String("location")
		b, err := pick("subsystem", raw, subsystemSpec)
		if err != nil {
			return err
		}
		series, _ := r.Get("numberSeries")
		return st.createSubsystem(b, series)
	case "department":
		raw := body(r, "location", "parentDepartment")
		raw["location"] = map[string]any{"locationName": r.String("location")}
		if p := r.String("parentDepartment"); p != "" {
			d := st.departmentByName(p)
			if d == nil {
				return errReference("parent department %q does not exist", p)
			}
			raw["parentDepartmentId"] = d.id
		}
		b, err := pick("department", raw, departmentSpec)
		if err != nil {
			return err
		}
		return st.createDepartment(b)
	case "security_profile":
		raw := body(r, "accessPrivileges")
		var privs []any
		for _, name := range stringList(r["accessPrivileges"]) {
			privs = append(privs, map[string]any{"privilegeName": name})
		}
		raw["accessPrivileges"] = privs
		b, err := pick("security profile", raw, profileSpec)
		if err != nil {
			return err
		}
		return st.createProfile(b)
	case "extension":
		typ, ok := schemaExtensionTypes[r.String("extensionType")]
		if !ok {
			return errBadRequest("extensionType %q is not one of virtual, ip, mobile, cordless, multi_terminal", r.String("extensionType"))
		}
		b, err := pick("extension", body(r, "subsystemName", "extensionType", "owner"), extensionSpecs[typ])
		if err != nil {
			return err
		}
		_, err = st.createExtension(r.String("subsystemName"), typ, b)
		return err
	case "user":
		raw := body(r, "departments", "securityProfile")
		var ids []any
		for _, name := range stringList(r["departments"]) {
			d := st.departmentByName(name)
			if d == nil {
				return errReference("department %q does not exist", name)
			}
			ids = append(ids, d.id)
		}
		raw["departmentIds"] = ids
		b, err := pick("user", raw, userSpec)
		if err != nil {
			return err
		}
		if err := st.createUser(b); err != nil {
			return err
		}
		if name := r.String("securityProfile"); name != "" {
			p := st.profileByName(name)
			if p == nil {
				return errReference("security profile %q does not exist", name)
			}
			st.userByID[r.String("userId")].profileID = p.id
		}
	}
	return nil
}

// schemaExtensionTypes maps the schema's extensionType enum to PM's.
var schemaExtensionTypes = map[string]string{
	"virtual": "VIRTUAL", "ip": "IP", "mobile": "MOBILE", "cordless": "DECT", "multi_terminal": "MULTI_TERMINAL",
}

// loadOwner links an extension to the user its owner column names.
func (st *state) loadOwner(r schemas.Record) error {
	owner := r.String("owner")
	if owner == "" {
		return nil
	}
	usr := st.userByID[owner]
	if usr == nil {
		return errReference("owner %q of extension %s is not a user", owner, r.String("extensionNumber"))
	}
	s := st.subsystemByName(r.String("subsystemName"))
	x := st.exts[extKey{s.id, r.String("extensionNumber")}]
	if x.owner != nil && x.owner != usr {
		return errInUse("extension %s is already linked to user %s", x.number, x.owner.userID)
	}
	if x.owner == nil {
		usr.exts = append(usr.exts, userExt{ext: x})
		x.owner = usr
		st.index(usr)
	}
	return nil
}

// departmentByName finds a department by name; the import format keys
// departments by name across the target.
func (st *state) departmentByName(name string) *department {
	for _, id := range sortedIDs(st.depts) {
		if st.depts[id].name == name {
			return st.depts[id]
		}
	}
	return nil
}
