// Package api holds the wire types of the sipXconfig SOAP API (the
// "ConfigService" WSDLs of sipXcom's PermissionService, CallGroupService,
// UserService, ParkOrbitService, PhoneService, TestService and
// SystemService), shared by the adapter and its simulator so that the two
// cannot drift apart. Child elements are unqualified; every repeated field is
// a run of sibling elements without a wrapper, as Axis writes them.
package api

import (
	"fmt"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/soap"
)

// Namespace of every body root element.
const Namespace = "http://www.sipfoundry.org/2007/08/21/ConfigService"

// Prefix bound to Namespace in requests, as in the vendor's examples.
const Prefix = "con"

// Path under which the services live.
const Path = "/sipxconfig/services/"

// Service names (the last path segment).
const (
	PermissionService = "PermissionService"
	CallGroupService  = "CallGroupService"
	UserService       = "UserService"
	ParkOrbitService  = "ParkOrbitService"
	PhoneService      = "PhoneService"
	TestService       = "TestService"
	SystemService     = "SystemService"
)

// Services lists every service, in the order the documentation gives them.
var Services = []string{PermissionService, CallGroupService, UserService, ParkOrbitService, PhoneService, TestService, SystemService}

// Property is one edit of a Manage* request: the bean property to set and
// its new value (xsi:nil clears it).
type Property struct {
	Property string   `xml:"property"`
	Value    soap.Nil `xml:"value"`
}

// Set returns an edit that sets name to value.
func Set(name, value string) Property { return Property{Property: name, Value: soap.Nil{Value: value}} }

// Clear returns an edit that sets name to null.
func Clear(name string) Property { return Property{Property: name, Value: soap.Nil{Nil: true}} }

// xsiNil marks a search element sent as xsi:nil="true", which the server
// treats like an absent one (match everything).
type xsiNil struct {
	Nil string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr,omitempty"`
}

// IsNil reports whether the element was xsi:nil.
func (x xsiNil) IsNil() bool { return x.Nil == "true" || x.Nil == "1" }

// ---- PermissionService

type Permission struct {
	Name         string `xml:"name"`
	Label        string `xml:"label,omitempty"`
	Description  string `xml:"description,omitempty"`
	DefaultValue *bool  `xml:"defaultValue,omitempty"`
	Type         string `xml:"type,omitempty"`
	BuiltIn      *bool  `xml:"builtIn,omitempty"`
}

type AddPermission struct {
	Permission Permission `xml:"permission"`
}

type PermissionSearch struct {
	xsiNil
	ByName  string `xml:"byName,omitempty"`
	ByLabel string `xml:"byLabel,omitempty"`
}

type FindPermission struct {
	Search *PermissionSearch `xml:"search"`
}

type FindPermissionResponse struct {
	Permissions soap.Array[Permission] `xml:"permissions"`
}

type ManagePermission struct {
	Search           *PermissionSearch `xml:"search"`
	Edit             []Property        `xml:"edit,omitempty"`
	DeletePermission *bool             `xml:"deletePermission,omitempty"`
}

// ---- CallGroupService

type UserRing struct {
	Expiration int    `xml:"expiration"`
	Type       string `xml:"type"`
	Position   int    `xml:"position"`
	UserName   string `xml:"userName"`
}

// Ring types.
const (
	RingDelayed   = "delayed"
	RingImmediate = "immediate"
)

type CallGroup struct {
	Name        string     `xml:"name"`
	Extension   string     `xml:"extension,omitempty"`
	Description string     `xml:"description,omitempty"`
	Enabled     *bool      `xml:"enabled,omitempty"`
	Rings       []UserRing `xml:"rings,omitempty"`
}

type AddCallGroup struct {
	CallGroup CallGroup `xml:"callGroup"`
}

// RemoveCallGroup removes every hunt group whose name or extension equals
// CallGroup. It is in the upstream server since 2011, not in the seed WSDL.
type RemoveCallGroup struct {
	CallGroup string `xml:"callGroup"`
}

type GetCallGroupsResponse struct {
	CallGroups soap.Array[CallGroup] `xml:"callGroups"`
}

// ---- UserService

type User struct {
	UserName     string    `xml:"userName"`
	Pintoken     *soap.Nil `xml:"pintoken,omitempty"`
	LastName     *soap.Nil `xml:"lastName,omitempty"`
	FirstName    *soap.Nil `xml:"firstName,omitempty"`
	SipPassword  *soap.Nil `xml:"sipPassword,omitempty"`
	Aliases      []string  `xml:"aliases,omitempty"`
	EmailAddress *soap.Nil `xml:"emailAddress,omitempty"`
	Groups       []string  `xml:"groups,omitempty"`
	Permissions  []string  `xml:"permissions,omitempty"`
	BranchName   string    `xml:"branchName,omitempty"`
}

// Text returns a nillable element's value ("" when absent or nil).
func Text(n *soap.Nil) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// Nillable returns s as an element that is xsi:nil when s is empty: how
// Axis writes a null field that the schema requires.
func Nillable(s string) *soap.Nil {
	if s == "" {
		return &soap.Nil{Nil: true}
	}
	return &soap.Nil{Value: s}
}

// Opt returns s as an element that is omitted when s is empty.
func Opt(s string) *soap.Nil {
	if s == "" {
		return nil
	}
	return &soap.Nil{Value: s}
}

type AddUser struct {
	User User   `xml:"user"`
	Pin  string `xml:"pin"`
}

type UserSearch struct {
	xsiNil
	ByUserName             string `xml:"byUserName,omitempty"`
	ByFuzzyUserNameOrAlias string `xml:"byFuzzyUserNameOrAlias,omitempty"`
	ByGroup                string `xml:"byGroup,omitempty"`
}

type FindUser struct {
	Search *UserSearch `xml:"search"`
}

type FindUserResponse struct {
	Users soap.Array[User] `xml:"users"`
}

type ManageUser struct {
	Search       *UserSearch `xml:"search"`
	Edit         []Property  `xml:"edit,omitempty"`
	DeleteUser   *bool       `xml:"deleteUser,omitempty"`
	AddGroup     string      `xml:"addGroup,omitempty"`
	RemoveGroup  string      `xml:"removeGroup,omitempty"`
	UpdateBranch string      `xml:"updateBranch,omitempty"`
	// UpdateGroup is what the seed WSDL calls UpdateBranch; servers accept
	// it, clients send updateBranch.
	UpdateGroup string `xml:"updateGroup,omitempty"`
}

// ---- ParkOrbitService

type ParkOrbit struct {
	Name        string `xml:"name"`
	Extension   string `xml:"extension,omitempty"`
	Description string `xml:"description,omitempty"`
	Enabled     *bool  `xml:"enabled,omitempty"`
	Music       string `xml:"music,omitempty"`
}

type AddParkOrbit struct {
	ParkOrbit ParkOrbit `xml:"parkOrbit"`
}

type GetParkOrbitsResponse struct {
	ParkOrbits soap.Array[ParkOrbit] `xml:"parkOrbits"`
}

// ---- PhoneService

type Line struct {
	UserID string `xml:"userId"`
	URI    string `xml:"uri"`
}

type Phone struct {
	SerialNumber  string   `xml:"serialNumber"`
	ModelID       string   `xml:"modelId"`
	Description   string   `xml:"description,omitempty"`
	Groups        []string `xml:"groups,omitempty"`
	Lines         []Line   `xml:"lines,omitempty"`
	DeviceVersion string   `xml:"deviceVersion,omitempty"`
}

type AddPhone struct {
	Phone Phone `xml:"phone"`
}

type PhoneSearch struct {
	xsiNil
	BySerialNumber string `xml:"bySerialNumber,omitempty"`
	ByGroup        string `xml:"byGroup,omitempty"`
}

type FindPhone struct {
	Search *PhoneSearch `xml:"search"`
}

type FindPhoneResponse struct {
	Phones soap.Array[Phone] `xml:"phones"`
}

type AddExternalLine struct {
	UserID             string `xml:"userId"`
	DisplayName        string `xml:"displayName,omitempty"`
	Password           string `xml:"password,omitempty"`
	RegistrationServer string `xml:"registrationServer"`
	VoiceMail          string `xml:"voiceMail,omitempty"`
}

type ManagePhone struct {
	Search             *PhoneSearch     `xml:"search"`
	Edit               []Property       `xml:"edit,omitempty"`
	DeletePhone        *bool            `xml:"deletePhone,omitempty"`
	AddGroup           string           `xml:"addGroup,omitempty"`
	RemoveGroup        string           `xml:"removeGroup,omitempty"`
	AddLine            *Line            `xml:"addLine,omitempty"`
	AddExternalLine    *AddExternalLine `xml:"addExternalLine,omitempty"`
	RemoveLineByUserID string           `xml:"removeLineByUserId,omitempty"`
	RemoveLineByURI    string           `xml:"removeLineByUri,omitempty"`
	GenerateProfiles   *bool            `xml:"generateProfiles,omitempty"`
	Restart            *bool            `xml:"restart,omitempty"`
}

// ---- TestService

type ResetServices struct {
	CallGroup  *bool `xml:"callGroup,omitempty"`
	ParkOrbit  *bool `xml:"parkOrbit,omitempty"`
	Permission *bool `xml:"permission,omitempty"`
	Phone      *bool `xml:"phone,omitempty"`
	User       *bool `xml:"user,omitempty"`
	SuperAdmin *bool `xml:"superAdmin,omitempty"`
}

// ---- SystemService (upstream only)

type Domain struct {
	Name    string   `xml:"name"`
	Realm   string   `xml:"realm"`
	Aliases []string `xml:"aliases,omitempty"`
}

type SystemInfo struct {
	Domain Domain `xml:"domain"`
}

// ---- manage requests and their search

// Manage is a Manage* request. Without a search, sipXconfig applies a
// manage request to every record of the service (every user, every phone),
// so a client must never send one whose search is not one exact key: see
// ExactKey.
type Manage interface {
	// Service and Op name where the request goes.
	Service() string
	Op() string
	// ExactKey returns the one exact-match criterion of the request's
	// search, or an error saying why the search is not one.
	ExactKey() (criterion, value string, err error)
}

func (ManagePermission) Service() string { return PermissionService }
func (ManagePermission) Op() string      { return "ManagePermission" }
func (ManageUser) Service() string       { return UserService }
func (ManageUser) Op() string            { return "ManageUser" }
func (ManagePhone) Service() string      { return PhoneService }
func (ManagePhone) Op() string           { return "ManagePhone" }

// ExactKey accepts a search by name or by label, one of them only.
func (m ManagePermission) ExactKey() (string, string, error) {
	if m.Search == nil || m.Search.IsNil() {
		return "", "", errNoSearch(m.Op(), "permission")
	}
	return exactlyOne(m.Op(), map[string]string{"byName": m.Search.ByName, "byLabel": m.Search.ByLabel}, nil)
}

// ExactKey accepts a search by user name only: fuzzy and group searches
// match many users.
func (m ManageUser) ExactKey() (string, string, error) {
	if m.Search == nil || m.Search.IsNil() {
		return "", "", errNoSearch(m.Op(), "user")
	}
	return exactlyOne(m.Op(), map[string]string{"byUserName": m.Search.ByUserName},
		map[string]string{"byFuzzyUserNameOrAlias": m.Search.ByFuzzyUserNameOrAlias, "byGroup": m.Search.ByGroup})
}

// ExactKey accepts a search by serial number only.
func (m ManagePhone) ExactKey() (string, string, error) {
	if m.Search == nil || m.Search.IsNil() {
		return "", "", errNoSearch(m.Op(), "phone")
	}
	return exactlyOne(m.Op(), map[string]string{"bySerialNumber": m.Search.BySerialNumber},
		map[string]string{"byGroup": m.Search.ByGroup})
}

func errNoSearch(op, what string) error {
	return fmt.Errorf("refusing to send %s without a search: sipXconfig would apply it to every %s", op, what)
}

// exactlyOne checks that exactly one exact criterion is set (to a value
// without surrounding blanks) and no broad one.
func exactlyOne(op string, exact, broad map[string]string) (string, string, error) {
	for name, v := range broad {
		if v != "" {
			return "", "", fmt.Errorf("refusing to send %s with search %s: it can match many records; search by exact key", op, name)
		}
	}
	var crit, val string
	n := 0
	for name, v := range exact {
		if v == "" {
			continue
		}
		n++
		crit, val = name, v
	}
	switch {
	case n == 0:
		return "", "", fmt.Errorf("refusing to send %s with an empty search: search by exact key", op)
	case n > 1:
		return "", "", fmt.Errorf("refusing to send %s with more than one search criterion", op)
	case strings.TrimSpace(val) != val:
		return "", "", fmt.Errorf("refusing to send %s: search key %q has surrounding blanks", op, val)
	}
	return crit, val, nil
}
