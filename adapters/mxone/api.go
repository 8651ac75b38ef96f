package mxone

// Wire types of the Provisioning Manager REST API (reference/mxone-pm-digest.md).
// Request bodies are exact; response types are tolerant, because the document
// leaves shapes ambiguous and says fields with 0 or "" are often left out:
// numbers may come as strings, booleans as "true"/"false", a VO array as a
// single object, a page wrapped in an array or bare.

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Paths, one per documented operation family.
const (
	pathLogin           = "/auth/login"
	pathRefresh         = "/auth/refresh-token"
	pathLocations       = "/system-ms/location/v1"
	pathDepartments     = "/system-ms/department/v1"
	pathSubsystems      = "/system-ms/subsystem/v1"
	pathUDFs            = "/system-ms/udf-definition/v1"
	pathProfiles        = "/administrator-ms/security-profiles/v1"
	pathPrivileges      = "/administrator-ms/access-privileges/v1"
	pathUsers           = "/user-ms/user/v1"
	pathUserByUserID    = "/user-ms/user/by-user-id/v1/"
	pathExtensions      = "/pm-extension-ms/pm-extension/v1"
	pathExtensionDetail = "/pm-extension-ms/pm-extension/v1/details"
	pathNumberSeries    = "/pm-extension-ms/pm-extension/v1/number-series/"
	pathServerDetails   = "/pm-extension-ms/pm-extension/server-details/"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type refreshRequest struct {
	UserRecID    int64  `json:"userRecId"`
	RefreshToken string `json:"refreshToken"`
}

type tokenResponse struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refreshToken"`
}

// errorEnvelope is documented for /auth only; the simulator (and, we assume,
// PM's Spring backend) uses it for every error.
type errorEnvelope struct {
	MitelErrorCode string `json:"mitelErrorCode"`
	ErrorMsg       string `json:"errorMsg"`
	DeveloperMsg   string `json:"developerMsg"`
	Message        string `json:"message"` // Spring's default error body
	Error          string `json:"error"`
}

// flexInt is an int that may arrive as a JSON number or a decimal string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil // a non-numeric id is as good as absent
	}
	*n = flexInt(v)
	return nil
}

// flexBool is a bool that may arrive as true/false or "true"/"false".
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.ToLower(strings.Trim(string(b), `"`))
	*f = flexBool(s == "true" || s == "1" || s == "yes")
	return nil
}

// flexString is a string that may arrive as a number or a bool.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	*f = flexString(b)
	return nil
}

// list is a JSON array that may also arrive as a single object (or null).
type list[T any] []T

func (l *list[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*l = nil
		return nil
	}
	if b[0] == '[' {
		var out []T
		if err := json.Unmarshal(b, &out); err != nil {
			return err
		}
		*l = out
		return nil
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*l = list[T]{one}
	return nil
}

// first returns the first element or the zero value.
func (l list[T]) first() T {
	var zero T
	if len(l) == 0 {
		return zero
	}
	return l[0]
}

// pageEnvelope covers both documented page styles: A {items,count,pageNo,
// pageSize} and B {departmentList, page{…}}.
type pageEnvelope struct {
	Items          []json.RawMessage `json:"items"`
	DepartmentList []json.RawMessage `json:"departmentList"`
	Count          *flexInt          `json:"count"`
	PageNo         *flexInt          `json:"pageNo"`
	PageNoLower    *flexInt          `json:"pageno"`
	PageSize       *flexInt          `json:"pageSize"`
	Page           *struct {
		PageNo        *flexInt  `json:"pageNo"`
		PageSize      *flexInt  `json:"pageSize"`
		TotalElements *flexInt  `json:"totalElements"`
		Last          *flexBool `json:"last"`
	} `json:"page"`
}

// --- locations

type locationBody struct {
	LocationID       int64  `json:"locationId,omitempty"`
	LocationName     string `json:"locationName"`
	Description      string `json:"description"`
	CmgCustomerGroup string `json:"cmgCustomerGroup"`
}

type locationItem struct {
	LocationID       flexInt    `json:"locationId"`
	LocationName     flexString `json:"locationName"`
	Description      flexString `json:"description"`
	CmgCustomerGroup flexString `json:"cmgCustomerGroup"`
	Cmgcustgrp       flexString `json:"cmgcustgrp"`
}

// --- departments

type locationRef struct {
	LocationID   int64  `json:"locationId"`
	LocationName string `json:"locationName,omitempty"`
}

type departmentItem struct {
	DepartmentID       flexInt    `json:"departmentId"`
	DepartmentName     flexString `json:"departmentName"`
	ParentDepartmentID flexInt    `json:"parentDepartmentId"`
	Location           struct {
		LocationID   flexInt    `json:"locationId"`
		LocationName flexString `json:"locationName"`
	} `json:"location"`
	Description flexString `json:"description"`
}

// --- subsystems

type numberSeriesItem struct {
	NumberType flexString `json:"numberType"`
	Start      flexString `json:"start"`
	End        flexString `json:"end"`
}

type numberSeriesBody struct {
	NumberType string `json:"numberType"`
	Start      string `json:"start"`
	End        string `json:"end"`
}

// mxoneSubsystemBlock is the TelephonyServer block of SubsystemConfig.
type mxoneSubsystemBlock struct {
	UseHTTPS                    flexBool   `json:"useHttps"`
	Version                     flexString `json:"version,omitempty"`
	IPOrFQDNAddress             flexString `json:"ipOrFQDNAddress,omitempty"`
	Port                        flexString `json:"port,omitempty"`
	UserID                      flexString `json:"userId,omitempty"`
	Password                    flexString `json:"password,omitempty"`
	TerminalPassword            flexString `json:"terminalPassword,omitempty"`
	IPPhoneServerURL            flexString `json:"ipPhoneServerUrl,omitempty"`
	IPPhoneServerOrDomainFolder flexString `json:"ipPhoneServerOrDomainFolder,omitempty"`
	CmgPbxID                    flexString `json:"cmgPbxId,omitempty"`
}

type subsystemBody struct {
	SubsystemType  string               `json:"subsystemType"`
	SubsystemName  string               `json:"subsystemName"`
	Location       string               `json:"location"`
	LocationName   string               `json:"locationName"`
	ExpirationDate string               `json:"expirationDate,omitempty"`
	MxoneSubsystem *mxoneSubsystemBlock `json:"mxoneSubsystem,omitempty"`
	// NumberSeries is not in the document: see README.md §1.
	NumberSeries []numberSeriesBody `json:"numberSeries,omitempty"`
}

// subsystemItem reads both the GET-all item (SubsystemConfig + subsystemId)
// and the GET-by-id SubsystemRecord, whose field names differ.
type subsystemItem struct {
	SubsystemID    flexInt              `json:"subsystemId"`
	SubsystemName  flexString           `json:"subsystemName"`
	SubsystemType  flexString           `json:"subsystemType"`
	Location       json.RawMessage      `json:"location"` // "3", 3 or {locationId, locationName}
	LocationName   flexString           `json:"locationName"`
	ExpirationDate flexString           `json:"expirationDate"`
	MxoneSubsystem *mxoneSubsystemBlock `json:"mxoneSubsystem"`
	// SubsystemRecord names.
	IPAddress          flexString `json:"ipaddress"`
	Port               flexString `json:"port"`
	LoginName          flexString `json:"loginName"`
	LoginPasswordPlain flexString `json:"loginPasswordPlain"`
	UseHTTPS           *flexBool  `json:"useHttps"`
	Version            flexString `json:"version"`
	IPPServerURL       flexString `json:"ippServerUrl"`
	IPPServerFolder    flexString `json:"ippServerFolder"`
	CmgPbxID           flexString `json:"cmgPbxId"`
	TerminalPassword   flexString `json:"terminalPassword"`
}

type serverDetails struct {
	ExtensionLimVOs list[struct {
		Extension flexString `json:"extension"`
	}] `json:"extensionLimVOs"`
}

// --- security profiles and privileges

type privilegeRef struct {
	PrivilegeID   int64  `json:"privilegeId"`
	PrivilegeName string `json:"privilegeName,omitempty"`
}

type profileBody struct {
	SecurityProfileID   int64          `json:"securityProfileId"`
	SecurityProfileName string         `json:"securityProfileName"`
	Description         string         `json:"description"`
	AccessPrivileges    []privilegeRef `json:"accessPrivileges"`
}

type privilegeItem struct {
	PrivilegeID   flexInt    `json:"privilegeId"`
	PrivilegeName flexString `json:"privilegeName"`
	Description   flexString `json:"description"`
}

type profileItem struct {
	SecurityProfileID   flexInt             `json:"securityProfileId"`
	SecurityProfileName flexString          `json:"securityProfileName"`
	Description         flexString          `json:"description"`
	AccessPrivileges    list[privilegeItem] `json:"accessPrivileges"`
}

type udfItem struct {
	UdfID             flexInt    `json:"udfId"`
	UdfType           flexString `json:"udfType"`
	UdfDisplayName    flexString `json:"udfDisplayName"`
	UdfCmgDisplayName flexString `json:"udfCmgDisplayName"`
	Readonly          flexBool   `json:"readonly"`
	Advance           flexBool   `json:"advance"`
	UdfCmgMiscNumber  flexString `json:"udfCmgMiscNumber"`
	UdfFieldTypeName  flexString `json:"udfFieldTypeName"`
	UdfAdDisplayName  flexString `json:"udfAdDisplayName"`
}

// --- users

// userExtensionLink is one element of UserCreate/UserUpdate.extensions and
// of UserRecord.userExtensions.
type userExtensionLink struct {
	ExtensionNumber string          `json:"extensionNumber"`
	SubsystemID     int64           `json:"subsystemId"`
	SubsystemName   string          `json:"subsystemName"`
	CmgSettings     json.RawMessage `json:"cmgSettings,omitempty"`
}

// userLinkItem reads a link tolerantly.
type userLinkItem struct {
	ExtensionNumber flexString      `json:"extensionNumber"`
	SubsystemID     flexInt         `json:"subsystemId"`
	SubsystemName   flexString      `json:"subsystemName"`
	CmgSettings     json.RawMessage `json:"cmgSettings"`
}

type userDepartment struct {
	DepartmentID   flexInt    `json:"departmentId"`
	DepartmentName flexString `json:"departmentName"`
}

// nameEntry reads one of altFirstNames/altLastNames/keyWords: a string in
// requests, an object {altFirstNameId, altFirstName} (etc.) in responses.
type nameEntry string

func (n *nameEntry) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		*n = nameEntry(s)
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	for _, k := range []string{"altFirstName", "altLastName", "keywordName", "keyWord", "name"} {
		if s, ok := m[k].(string); ok {
			*n = nameEntry(s)
			return nil
		}
	}
	return nil
}

type userRecord struct {
	UserRecID           flexInt              `json:"userRecId"`
	UserID              flexString           `json:"userId"`
	FirstName           flexString           `json:"firstName"`
	LastName            flexString           `json:"lastName"`
	PrimaryDepartmentID flexInt              `json:"primaryDepartmentId"`
	EmailAddress        flexString           `json:"emailAddress"`
	SMS                 flexString           `json:"sms"`
	Language            flexString           `json:"language"`
	UseLastSelection    flexBool             `json:"useLastSelection"`
	AltFirstNames       []nameEntry          `json:"altFirstNames"`
	AltLastNames        []nameEntry          `json:"altLastNames"`
	KeyWords            []nameEntry          `json:"keyWords"`
	Departments         list[userDepartment] `json:"departments"`
	DepartmentIDs       []flexInt            `json:"departmentIds"`
	UserExtensions      list[userLinkItem]   `json:"userExtensions"`
	Extensions          list[userLinkItem]   `json:"extensions"`
	MobileNumber        flexString           `json:"mobileNumber"`
	SecretMobile        flexBool             `json:"secretMobile"`
	AlternativeNumber   flexString           `json:"alternativeNumber"`
	SecurityProfile     struct {
		SecurityProfileName flexString `json:"securityProfileName"`
	} `json:"securityProfile"`
}

// links returns the user's extension links, whichever name they came under.
func (u *userRecord) links() []userLinkItem {
	if len(u.UserExtensions) > 0 {
		return u.UserExtensions
	}
	return u.Extensions
}

// --- extensions

// extensionDetail is the part of ExtensionDetail pbxbatch maps (README §3).
type extensionDetail struct {
	ExtensionID     flexInt    `json:"extensionId"`
	ExtensionNumber flexString `json:"extensionNumber"`
	SubsystemID     flexInt    `json:"subsystemId"`
	SubsystemName   flexString `json:"subsystemName"`
	Description     flexString `json:"description"`
	ExtensionType   flexString `json:"extensionType"`
	ExtensionVO     struct {
		Gedi list[struct {
			Dir              flexString `json:"dir"`
			DomainName       flexString `json:"domainName"`
			FeatureLevel     flexString `json:"featureLevel"`
			FreeOnSecondLine flexString `json:"freeOnSecondLine"`
			PublicCliNumber  flexString `json:"publicCliNumber"`
			TypeOfNumber     flexString `json:"typeOfNumber"`
			Lang             struct {
				Langname flexString `json:"langname"`
			} `json:"lang"`
			Mcost  flexString `json:"mcost"`
			Hacode flexString `json:"hacode"`
			Csp    struct {
				Cspnumber flexString `json:"cspnumber"`
			} `json:"csp"`
			Lim struct {
				Limnumber flexString `json:"limnumber"`
			} `json:"lim"`
			Cust struct {
				Custnumber flexString `json:"custnumber"`
			} `json:"cust"`
			Maxter         flexString `json:"maxter"`
			Cliactive      flexString `json:"cliactive"`
			Clirestriction flexString `json:"clirestriction"`
			Secexc         flexString `json:"secexc"`
			Bsec           flexString `json:"bsec"`
			Bckpos         flexString `json:"bckpos"`
		}] `json:"gedi"`
		Ipex list[struct {
			Macaddr flexString `json:"macaddr"`
			Iptype  flexString `json:"iptype"`
		}] `json:"ipex"`
		Niin list[struct {
			Name1    flexString `json:"name1"`
			Name2    flexString `json:"name2"`
			Restr    flexString `json:"restr"`
			N1OrN2   flexString `json:"n1OrN2"`
			NamDb    flexString `json:"namDb"`
			InfoText flexString `json:"infoText"`
		}] `json:"niin"`
		Cxakp list[struct {
			Sdur flexString `json:"sdur"`
			Ipei flexString `json:"ipei"`
		}] `json:"cxakp"`
		Reexvos list[struct {
			DefMobNum flexString `json:"defMobNum"`
			MobType   flexString `json:"mobType"`
		}] `json:"reexvos"`
		Spexp struct {
			NonDialledConnNumber flexString `json:"nonDialledConnNumber"`
		} `json:"spexp"`
	} `json:"extensionVO"`
	PhoneDTO struct {
		PhoneTypeKey flexString `json:"phoneTypeKey"`
	} `json:"phoneDTO"`
}
