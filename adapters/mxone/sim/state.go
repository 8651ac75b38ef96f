package sim

import (
	"slices"
	"strconv"
	"time"
)

// state is everything Provisioning Manager stores. It is guarded by api.mu.
// Ids are sequential per kind, so runs are reproducible.
type state struct {
	next map[string]int

	locations  map[int]*location
	subsystems map[int]*subsystem
	depts      map[int]*department
	profiles   map[int]*profile
	users      map[int]*user
	userList   []*user // by userRecId: lists walk it instead of sorting the map
	userByID   map[string]*user
	exts       map[extKey]*extension
	udfs       map[udfKey]map[string]any
	options    []*option
	refresh    map[string]refreshGrant
}

type location struct {
	id                             int
	name, description, cmgCustomer string
}

type subsystem struct {
	id         int
	typ, name  string
	locationID int
	attrs      map[string]any // expirationDate and the type's block (mxoneSubsystem, …)
	series     []numberSeries
}

type numberSeries struct {
	NumberType string `json:"numberType"`
	Start      string `json:"start"`
	End        string `json:"end"`
}

type department struct {
	id, parentID, locationID int
	name                     string
	attrs                    map[string]any // description, udf1..10
}

type profile struct {
	id                int
	name, description string
	privileges        []int
}

type user struct {
	recID        int
	userID       string
	password     string
	deptIDs      []int
	exts         []userExt
	attrs        map[string]any
	profileID    int
	locked       bool
	failedLogins int
	search       string // lower-case userId, names, extension numbers, departments
}

// userExt is one link of a user to an extension, with its CMG settings.
type userExt struct {
	ext         *extension
	cmgSettings map[string]any
}

type extKey struct {
	subsystemID int
	number      string
}

type extension struct {
	id     int
	number string
	sub    *subsystem
	typ    string         // VIRTUAL, IP, MOBILE, DECT, MULTI_TERMINAL
	body   map[string]any // the typed create/update body, minus extensionNumber
	owner  *user
}

type udfKey struct {
	typ string
	id  int
}

type option struct {
	id    int
	name  string
	value bool
}

func newState() *state {
	st := &state{
		next:       map[string]int{"user": adminRecID},
		locations:  map[int]*location{},
		subsystems: map[int]*subsystem{},
		depts:      map[int]*department{},
		profiles:   map[int]*profile{},
		users:      map[int]*user{},
		userByID:   map[string]*user{},
		exts:       map[extKey]*extension{},
		udfs:       map[udfKey]map[string]any{},
		refresh:    map[string]refreshGrant{},
	}
	for i := 1; i <= 34; i++ {
		st.udfs[udfKey{"USERS", i}] = map[string]any{"udfDisplayName": "User field " + strconv.Itoa(i), "udfFieldTypeName": "None"}
	}
	for i := 1; i <= 10; i++ {
		st.udfs[udfKey{"DEPARTMENTS", i}] = map[string]any{"udfDisplayName": "Department field " + strconv.Itoa(i), "udfFieldTypeName": "None"}
	}
	for i, name := range systemOptionNames {
		st.options = append(st.options, &option{id: i + 1, name: name, value: i%2 == 0})
	}
	return st
}

// id hands out the next sequential id of a kind.
func (st *state) id(kind string) int {
	st.next[kind]++
	return st.next[kind]
}

func (st *state) grant(recID int, now time.Time) string {
	t := newUUID()
	st.refresh[t] = refreshGrant{recID: recID, expires: now.Add(refreshLifetime)}
	return t
}

// sortedIDs returns the keys of an id map in ascending order.
func sortedIDs[T any](m map[int]T) []int {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (st *state) locationByName(name string) *location {
	for _, l := range st.locations {
		if l.name == name {
			return l
		}
	}
	return nil
}

func (st *state) subsystemByName(name string) *subsystem {
	for _, s := range st.subsystems {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (st *state) profileByName(name string) *profile {
	for _, p := range st.profiles {
		if p.name == name {
			return p
		}
	}
	return nil
}

// systemOptionNames is a small fixed catalogue of PM system options.
var systemOptionNames = []string{
	"Allow duplicate e-mail addresses",
	"Show hidden departments",
	"Enable Active Directory import",
	"Require password change at first login",
	"Enable CMG integration",
	"Enable MiCollab integration",
	"Enable CloudLink integration",
	"Delete extensions with their user",
}

// accessPrivileges is the fixed privilege catalogue.
var accessPrivileges = []struct {
	id                int
	name, description string
}{
	{1, "User Administration", "Create, change and delete users"},
	{2, "Extension Administration", "Create, change and delete extensions"},
	{3, "Department Administration", "Create, change and delete departments"},
	{4, "Location Administration", "Create, change and delete locations"},
	{5, "Subsystem Administration", "Create, change and delete subsystems"},
	{6, "Security Profile Administration", "Create, change and delete security profiles"},
	{7, "System Options", "Change system options"},
	{8, "Personal Number Administration", "Change personal number lists"},
	{9, "Phone Setup", "Change phone keys"},
	{10, "Import and Export", "Import extensions and export data"},
	{11, "View Only", "Read every record, change nothing"},
}
