// Package api holds the wire types and paths of Netaxis APIO's "Group
// Virtual On Net Extensions" API (seed 004), shared by the adapter and its
// simulator so that both speak exactly the same JSON.
package api

import (
	"net/url"
	"strings"
)

// LoginPath is APIO's login: POST {"username","password"} → {"token"}.
const LoginPath = "/api/v01/login"

// TenantsPath lists the tenants (APIO's tenant pages; not in seed 004).
const TenantsPath = "/api/v1/tenants/"

// GroupsPath lists a tenant's groups (APIO's group pages; not in seed 004).
func GroupsPath(tenant string) string { return TenantsPath + Escape(tenant) + "/groups/" }

// UsersPath is the virtual users of one group, trailing slash included as
// the document writes every path.
func UsersPath(tenant, group string) string {
	return GroupsPath(tenant) + Escape(group) + "/services/virtual_users/"
}

// UserPath is one virtual user; its instance name is the phone number.
func UserPath(tenant, group, phone string) string {
	return UsersPath(tenant, group) + Escape(phone) + "/"
}

// Escape escapes a path segment, "+" included ("%2B"): url.PathEscape
// leaves "+" alone, which some servers read as a space.
func Escape(s string) string { return strings.ReplaceAll(url.PathEscape(s), "+", "%2B") }

// Login is the login request.
type Login struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Token is the login answer.
type Token struct {
	Token string `json:"token"`
}

// User is a virtual on-net user: an item of the list answer (without CLI
// names), of the create list, the single GET answer (without phoneNumber:
// the path names it) and the PUT body.
type User struct {
	PhoneNumber  string `json:"phoneNumber,omitempty"`
	Extension    string `json:"extension,omitempty"`
	FirstName    string `json:"firstName,omitempty"`
	LastName     string `json:"lastName,omitempty"`
	CLIFirstName string `json:"cliFirstName,omitempty"`
	CLILastName  string `json:"cliLastName,omitempty"`
	CallType     string `json:"callType,omitempty"`
}

// Update is the PUT body: every field is sent, "" clears a name
// (callType "" keeps the call type, as the document's example sends it).
type Update struct {
	Extension    string `json:"extension"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
	CLIFirstName string `json:"cliFirstName"`
	CLILastName  string `json:"cliLastName"`
	CallType     string `json:"callType"`
}

// Users is the list answer.
type Users struct {
	Users []User `json:"users"`
}

// Create is the POST body: exactly one of its fields.
type Create struct {
	Users []User `json:"virtualOnNetUsers,omitempty"`
	Range *Range `json:"virtualOnNetUsersRange,omitempty"`
}

// Range creates one user per phone number of an inclusive range, paired by
// position with the extensions of an equally long one, sharing the names
// and call type.
type Range struct {
	PhoneNumberRange PhoneNumberRange `json:"phoneNumberRange"`
	ExtensionRange   ExtensionRange   `json:"extensionRange"`
	FirstName        string           `json:"firstName,omitempty"`
	LastName         string           `json:"lastName,omitempty"`
	CLIFirstName     string           `json:"cliFirstName,omitempty"`
	CLILastName      string           `json:"cliLastName,omitempty"`
	CallType         string           `json:"callType,omitempty"`
}

type PhoneNumberRange struct {
	Min string `json:"minPhoneNumber"`
	Max string `json:"maxPhoneNumber"`
}

type ExtensionRange struct {
	Min string `json:"minExtension"`
	Max string `json:"maxExtension"`
}

// Error is the error body (the document gives none; the simulator's choice).
type Error struct {
	Error string `json:"error"`
}

// Tenants and Groups are the answers of TenantsPath and GroupsPath.
type Tenants struct {
	Tenants []Tenant `json:"tenants"`
}

type Tenant struct {
	TenantID string `json:"tenantId"`
}

type Groups struct {
	Groups []Group `json:"groups"`
}

type Group struct {
	GroupID string `json:"groupId"`
}

// ErrAlreadyExists is the words of a 400 for a phone number or extension
// that is taken ("already existent code instance" in the document).
const ErrAlreadyExists = "already exists"
