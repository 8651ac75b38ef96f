// Package sampledata generates deterministic MX-ONE rollout data: locations
// with a subsystem and a department tree each, security profiles, users and
// their extensions of all five types. It writes the sample workbooks under
// testdata/mxone (go generate ./internal/sampledata, or make testdata) and
// scales for benchmarks: New(Users(100000)) is a 100,000-user rollout.
// Its sheet writers (WriteXLSX, WriteCSVDir) and name lists serve every
// platform's sample generator (adapters/sipx/sample is another).
//
// Records are computed from their index, never stored, so writing a
// million rows costs no more memory than writing ten.
package sampledata

import (
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// Config sizes a rollout.
type Config struct {
	Locations  int // each with one subsystem and a department tree
	Users      int
	Extensions int // at least Users: every user owns one; the rest are second extensions
}

// Default is the sample rollout of testdata/mxone: 3 locations, 500 users,
// 700 extensions.
func Default() Config { return Config{Locations: 3, Users: 500, Extensions: 700} }

// Users is a rollout scaled to n users with 1.2 extensions per user
// (10,000 users → 12,000 extensions).
func Users(n int) Config { return Config{Locations: 3, Users: n, Extensions: n + n/5} }

// Rollout is a generated rollout; its records are computed on demand.
type Rollout struct {
	cfg     Config
	numBase []int // first extension number per location
	width   int   // digits of a location's number block
}

// New returns the rollout for cfg.
func New(cfg Config) *Rollout {
	cfg.Locations = max(1, min(cfg.Locations, len(locationNames)))
	cfg.Extensions = max(cfg.Extensions, cfg.Users)
	r := &Rollout{cfg: cfg, width: 3}
	// A location's block holds its share of first extensions, then second
	// extensions numbered on from there.
	perLoc := (cfg.Users+cfg.Locations-1)/cfg.Locations + cfg.Extensions - cfg.Users
	for limit := 1000; perLoc >= limit; limit *= 10 {
		r.width++
	}
	for i := range cfg.Locations {
		r.numBase = append(r.numBase, (i+1)*pow10(r.width))
	}
	return r
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// Kinds lists the kinds of a rollout in dependency order.
func Kinds() []string {
	return []string{"location", "subsystem", "department", "security_profile", "user", "extension"}
}

// Len returns the number of records of a kind.
func (r *Rollout) Len(kind string) int {
	switch kind {
	case "location", "subsystem":
		return r.cfg.Locations
	case "department":
		return r.cfg.Locations * len(deptTree)
	case "security_profile":
		return len(profiles)
	case "user":
		return r.cfg.Users
	case "extension":
		return r.cfg.Extensions
	}
	return 0
}

// Records yields the records of a kind in order.
func (r *Rollout) Records(kind string) iter.Seq[schemas.Record] {
	return func(yield func(schemas.Record) bool) {
		for i := range r.Len(kind) {
			if !yield(r.Record(kind, i)) {
				return
			}
		}
	}
}

var (
	locationNames = []string{"Stockholm", "Göteborg", "Malmö", "Uppsala", "Luleå"}
	locationCodes = []string{"STO", "GOT", "MMO", "UPP", "LLA"}
	firstNames    = []string{"Anna", "Björn", "Carla", "David", "Eva", "Fredrik", "Greta", "Hugo", "Ines", "Jonas", "Karin", "Lars", "Märta", "Nils", "Olle", "Petra", "Åsa"}
	lastNames     = []string{"Berg", "Lindqvist", "Nilsson", "Åström", "Svensson", "Karlsson", "Olsson", "Persson", "Holm", "Sandberg", "Ek", "Dahl", "Öberg"}
	// deptTree is each location's department tree: name suffix and parent
	// index (-1 for the root).
	deptTree = []struct {
		name   string
		parent int
	}{
		{"Office", -1}, {"Sales", 0}, {"Support", 0}, {"Engineering", 0},
		{"Sales Nordic", 1}, {"Sales Export", 1}, {"Support Level 2", 2},
	}
	profiles = []struct {
		name, description string
		privileges        []string
	}{
		{"Site Admin", "Administers users, extensions and departments of a site", []string{"User Administration", "Extension Administration", "Department Administration"}},
		{"Helpdesk", "Changes users and phone keys", []string{"User Administration", "Phone Setup", "View Only"}},
		{"Auditor", "Reads everything", []string{"View Only"}},
	}
	extTypes = []string{"ip", "virtual", "mobile", "cordless", "multi_terminal", "ip"}
)

func (r *Rollout) departmentName(loc, d int) string {
	return locationNames[loc] + " " + deptTree[d].name
}

func subsystemName(loc int) string { return "MX-" + locationCodes[loc] }

// userLocation spreads users round-robin over the locations.
func (r *Rollout) userLocation(u int) int { return u % r.cfg.Locations }

func userID(u int) string { return fmt.Sprintf("u%06d", u) }

func (r *Rollout) userName(u int) (first, last string) {
	return firstNames[u%len(firstNames)], lastNames[(u/len(firstNames))%len(lastNames)]
}

// Record returns the i-th record of a kind.
func (r *Rollout) Record(kind string, i int) schemas.Record {
	rec := schemas.Record{}
	switch kind {
	case "location":
		rec.Set("locationName", locationNames[i])
		rec.Set("description", fmt.Sprintf("%s site (%s)", locationNames[i], locationCodes[i]))
	case "subsystem":
		base := r.numBase[i]
		rec.Set("subsystemName", subsystemName(i))
		rec.Set("subsystemType", "TelephonyServer")
		rec.Set("location", locationNames[i])
		rec.Set("numberSeries", []any{
			fmt.Sprintf("EX:%d-%d", base, base+pow10(r.width)-1),
			fmt.Sprintf("R1:%d-%d", base*10+pow10(r.width+1)-10, base*10+pow10(r.width+1)-1),
		})
		rec.Set("mxoneSubsystem.ipOrFQDNAddress", fmt.Sprintf("mx-%s.example.net", strings.ToLower(locationCodes[i])))
		rec.Set("mxoneSubsystem.port", "443")
		rec.Set("mxoneSubsystem.useHttps", true)
	case "department":
		loc, d := i/len(deptTree), i%len(deptTree)
		rec.Set("departmentName", r.departmentName(loc, d))
		rec.Set("location", locationNames[loc])
		if p := deptTree[d].parent; p >= 0 {
			rec.Set("parentDepartment", r.departmentName(loc, p))
		}
		rec.Set("description", deptTree[d].name+" at "+locationNames[loc])
	case "security_profile":
		p := profiles[i]
		rec.Set("securityProfileName", p.name)
		rec.Set("description", p.description)
		privs := make([]any, len(p.privileges))
		for j, x := range p.privileges {
			privs[j] = x
		}
		rec.Set("accessPrivileges", privs)
	case "user":
		r.user(rec, i)
	case "extension":
		r.extension(rec, i)
	}
	return rec
}

func (r *Rollout) user(rec schemas.Record, u int) {
	loc := r.userLocation(u)
	first, last := r.userName(u)
	rec.Set("userId", userID(u))
	rec.Set("firstName", first)
	rec.Set("lastName", last)
	rec.Set("emailAddress", fmt.Sprintf("%s.%s.%d@example.com", asciiLower(first), asciiLower(last), u))
	// Leaf departments (index 1..) get the users; every fifth user also
	// belongs to the site's root department.
	d := 1 + (u/r.cfg.Locations)%(len(deptTree)-1)
	depts := []any{r.departmentName(loc, d)}
	if u%5 == 0 {
		depts = append(depts, r.departmentName(loc, 0))
	}
	rec.Set("departments", depts)
	rec.Set("language", []string{"en", "sv"}[u%2])
	rec.Set("mobileNumber", fmt.Sprintf("+4670%07d", u%10000000))
	rec.Set("secretMobile", u%4 == 0)
	// No securityProfile: the API cannot set it (read-only, exported for
	// audits), and a rollout that fills it would promise what import
	// cannot do.
}

// extension i: the first Users extensions belong one to each user; the
// rest are second extensions (a mobile or cordless one) of users spread
// evenly over the rollout.
func (r *Rollout) extension(rec schemas.Record, i int) {
	var owner int
	var typ string
	if i < r.cfg.Users {
		owner, typ = i, extTypes[i%len(extTypes)]
	} else {
		j := i - r.cfg.Users
		second := r.cfg.Extensions - r.cfg.Users
		owner = j * r.cfg.Users / second
		typ = []string{"mobile", "cordless"}[j%2]
	}
	loc := r.userLocation(owner)
	// Numbers are dense per location in extension order.
	num := r.numBase[loc] + i/r.cfg.Locations
	if i >= r.cfg.Users {
		num = r.numBase[loc] + (r.cfg.Users+r.cfg.Locations-1)/r.cfg.Locations + (i - r.cfg.Users)
	}
	first, last := r.userName(owner)
	rec.Set("extensionNumber", fmt.Sprint(num))
	rec.Set("subsystemName", subsystemName(loc))
	rec.Set("extensionType", typ)
	rec.Set("owner", userID(owner))
	rec.Set("nameIdentity.firstName", first)
	rec.Set("nameIdentity.lastName", last)
	switch typ {
	case "ip":
		rec.Set("macAddress", mac(i))
		rec.Set("ipExtensionType", "IPManualLogin")
	case "mobile":
		rec.Set("defaultRemoteNumber", fmt.Sprintf("+4670%07d", owner%10000000))
	case "cordless":
		rec.Set("authenticationKey", fmt.Sprintf("%08d", (i*7919)%100000000))
		rec.Set("internationalPortableEquipmentIdentity", fmt.Sprintf("%05X%05X", 0x10000+i%0xEFFFF, i))
	case "multi_terminal":
		rec.Set("ipExtension.macAddress", mac(i))
		rec.Set("ipExtension.maximumTerminals", json.Number("2")) // Record numbers are json.Number
	}
}

// mac is a unique MAC address per extension, in the form pbxbatch stores.
func mac(i int) string { return fmt.Sprintf("001A2B%06X", i) }

func asciiLower(s string) string {
	repl := strings.NewReplacer("å", "a", "ä", "a", "ö", "o", "Å", "a", "Ä", "a", "Ö", "o", "é", "e")
	return strings.ToLower(repl.Replace(s))
}
