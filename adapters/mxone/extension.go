package mxone

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

type extensionOps struct{ cn *Conn }

// extType is one extension type in its three vocabularies: the schema's
// enum, the create/update path segment, and the extensionType parameter of
// details and delete.
type extType struct{ schema, segment, api string }

var extTypes = []extType{
	{"virtual", "virtual", "VIRTUAL"},
	{"ip", "ip", "IP"},
	{"mobile", "mobile", "MOBILE"},
	{"cordless", "cordless", "DECT"},
	{"multi_terminal", "multi-terminal", "MULTI_TERMINAL"},
}

// lookupType accepts any of the three spellings, case-insensitively.
func lookupType(s string) (extType, bool) {
	s = strings.TrimSpace(s)
	for _, t := range extTypes {
		if strings.EqualFold(s, t.schema) || strings.EqualFold(s, t.segment) || strings.EqualFold(s, t.api) {
			return t, true
		}
	}
	return extType{}, false
}

// extFields maps schema paths to ExtensionDetail (README.md §3). A field is
// read only for the types whose schema allows it.
var extFields = []struct {
	path string
	conv byte // 's' text, 'b' boolean text, 'i' integer text
	read func(d *extensionDetail) flexString
}{
	{"description", 's', func(d *extensionDetail) flexString { return d.Description }},
	{"nameIdentity.firstName", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Niin.first().Name1 }},
	{"nameIdentity.lastName", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Niin.first().Name2 }},
	{"nameIdentity.includeinDialbyNameDatabase", 'b', func(d *extensionDetail) flexString { return d.ExtensionVO.Niin.first().NamDb }},
	{"nameIdentity.namePresentationOrder", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Niin.first().N1OrN2 }},
	{"nameIdentity.restrictPresentation", 'b', func(d *extensionDetail) flexString { return d.ExtensionVO.Niin.first().Restr }},
	{"nameIdentity.information", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Niin.first().InfoText }},
	{"featureLevel", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().FeatureLevel }},
	{"customer", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Cust.Custnumber }},
	{"serverNumber", 'i', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Lim.Limnumber }},
	{"commonServiceProfile", 'i', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Csp.Cspnumber }},
	{"domainName", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().DomainName }},
	{"phoneLanguage", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Lang.Langname }},
	{"phoneType", 's', func(d *extensionDetail) flexString { return d.PhoneDTO.PhoneTypeKey }},
	{"hotlineNumber", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Spexp.NonDialledConnNumber }},
	{"maximumChargingCost", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Mcost }},
	{"bossSecretary", 'b', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Bsec }},
	{"homeAreaCode", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Hacode }},
	{"publicCLINumber.publicCLINumber", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().PublicCliNumber }},
	{"publicCLINumber.activateCLInumber", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Cliactive }},
	{"publicCLINumber.typeOfCLInumber", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().TypeOfNumber }},
	{"publicCLINumber.publicCLINumberPresentationRestriction", 'b', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Clirestriction }},
	{"macAddress", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Ipex.first().Macaddr }},
	{"ipExtensionType", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Ipex.first().Iptype }},
	{"backupAnsweringPositionNumber", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Bckpos }},
	{"allowSecurityException", 'b', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Secexc }},
	{"freeOnSecondLine", 'i', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().FreeOnSecondLine }},
	{"extensionRouteType", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Reexvos.first().MobType }},
	{"defaultRemoteNumber", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Reexvos.first().DefMobNum }},
	{"internationalPortableEquipmentIdentity", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Cxakp.first().Ipei }},
	{"sendDuration", 'b', func(d *extensionDetail) flexString { return d.ExtensionVO.Cxakp.first().Sdur }},
	{"ipExtension.macAddress", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Ipex.first().Macaddr }},
	{"ipExtension.maximumTerminals", 'i', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().Maxter }},
	{"ipExtension.freeOnSecondLine", 'i', func(d *extensionDetail) flexString { return d.ExtensionVO.Gedi.first().FreeOnSecondLine }},
	{"dectExtension.internationalPortableEquipmentIdentity", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Cxakp.first().Ipei }},
	{"dectExtension.sendDuration", 'b', func(d *extensionDetail) flexString { return d.ExtensionVO.Cxakp.first().Sdur }},
	{"mobileExtension.defaultRemoteNumber", 's', func(d *extensionDetail) flexString { return d.ExtensionVO.Reexvos.first().DefMobNum }},
}

var (
	bannedOnce sync.Once
	banned     map[string]map[string]bool // schema type -> top-level properties it may not carry
)

// bannedFields reads, from the extension schema's allOf of if/then, which
// top-level properties each type may not carry, so the schema stays the one
// place that says which fields belong to which type.
func bannedFields(typ string) map[string]bool {
	bannedOnce.Do(func() {
		banned = map[string]map[string]bool{}
		var doc struct {
			AllOf []struct {
				If struct {
					Properties struct {
						ExtensionType struct {
							Const string `json:"const"`
						} `json:"extensionType"`
					} `json:"properties"`
				} `json:"if"`
				Then struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"then"`
			} `json:"allOf"`
		}
		if err := json.Unmarshal(schemas.MustLoad(Name).Kind("extension").Raw, &doc); err != nil {
			panic("mxone: extension schema: " + err.Error())
		}
		for _, c := range doc.AllOf {
			t := c.If.Properties.ExtensionType.Const
			if t == "" {
				continue
			}
			set := map[string]bool{}
			for p, v := range c.Then.Properties {
				if string(v) == "false" {
					set[p] = true
				}
			}
			banned[t] = set
		}
	})
	return banned[typ]
}

func allowed(typ, path string) bool {
	top, _, _ := strings.Cut(path, ".")
	return !bannedFields(typ)[top]
}

// extensionRecord maps an ExtensionDetail to the schema shape.
func extensionRecord(d *extensionDetail, owner string) schemas.Record {
	r := schemas.Record{}
	number := cmp.Or(d.ExtensionNumber, d.ExtensionVO.Gedi.first().Dir)
	putString(r, "extensionNumber", number)
	putString(r, "subsystemName", d.SubsystemName)
	t, ok := lookupType(string(d.ExtensionType))
	if ok {
		r.Set("extensionType", t.schema)
	}
	putString(r, "owner", flexString(owner))
	for _, f := range extFields {
		if ok && !allowed(t.schema, f.path) {
			continue
		}
		v := f.read(d)
		switch f.conv {
		case 'b':
			putBoolText(r, f.path, v)
		case 'i':
			putIntText(r, f.path, v)
		default:
			putString(r, f.path, v)
		}
	}
	return r
}

// getDetail reads an extension by number and subsystem, of any type.
func (cn *Conn) getDetail(ctx context.Context, number, subsystem string) (*extensionDetail, error) {
	q := url.Values{"extensionNumber": {number}, "extensionType": {"ALL"}, "subsystemName": {subsystem}}
	var details list[extensionDetail]
	if err := cn.c.do(ctx, http.MethodGet, pathExtensionDetail, q, nil, &details); err != nil {
		return nil, err
	}
	for i := range details {
		d := &details[i]
		n := cmp.Or(d.ExtensionNumber, d.ExtensionVO.Gedi.first().Dir)
		if string(n) == number && (d.SubsystemName == "" || string(d.SubsystemName) == subsystem) {
			if d.SubsystemName == "" {
				d.SubsystemName = flexString(subsystem)
			}
			if d.ExtensionNumber == "" {
				d.ExtensionNumber = n
			}
			return d, nil
		}
	}
	return nil, notFound("extension", number+" / "+subsystem)
}

// extensionOwner finds the user linked to an extension. The user search
// matches extension numbers (document §11.2), so one search and a check of
// each hit's links suffices.
func (cn *Conn) extensionOwner(ctx context.Context, number, subsystem string) (string, error) {
	// id, not lookup: a fresh connection has no subsystems cached yet, and a
	// link that carries only the subsystem's id must still match. (When the
	// id cannot be had, links are matched by subsystem name alone.)
	subID, _ := cn.subsystems.id(ctx, subsystem, "extension "+number)
	var owner string
	err := cn.walkUsers(ctx, number, func(u userRecord, _ map[string]any) error {
		for _, l := range u.links() {
			if string(l.ExtensionNumber) == number && (string(l.SubsystemName) == subsystem || (l.SubsystemName == "" && int64(l.SubsystemID) == subID)) {
				owner = string(u.UserID)
				return errFound{}
			}
		}
		return nil
	})
	if err != nil && !isFound(err) {
		return "", err
	}
	return owner, nil
}

func (o extensionOps) get(ctx context.Context, key schemas.Record) (schemas.Record, error) {
	number, subsystem := key.String("extensionNumber"), key.String("subsystemName")
	d, err := o.cn.getDetail(ctx, number, subsystem)
	if err != nil {
		return nil, err
	}
	owner, err := o.cn.extensionOwner(ctx, number, subsystem)
	if err != nil {
		return nil, err
	}
	return extensionRecord(d, owner), nil
}

// list reads every extension of every telephony server: numbers from
// server-details (there is no list endpoint), each read by details; owners
// from one walk over the users.
func (o extensionOps) list(ctx context.Context, fn func(schemas.Record) error) error {
	owners := map[string]string{} // subsystemName + "/" + number -> userId
	subs, err := o.cn.listSubsystemItems(ctx)
	if err != nil {
		return err
	}
	subNames := map[int64]string{}
	for _, s := range subs {
		subNames[int64(s.SubsystemID)] = string(s.SubsystemName)
	}
	err = o.cn.walkUsers(ctx, "*", func(u userRecord, _ map[string]any) error {
		for _, l := range u.links() {
			sub := cmp.Or(string(l.SubsystemName), subNames[int64(l.SubsystemID)])
			owners[sub+"/"+string(l.ExtensionNumber)] = string(u.UserID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, s := range subs {
		if t := string(s.SubsystemType); t != "" && t != telephonyServer {
			continue
		}
		name := string(s.SubsystemName)
		var sd serverDetails
		if err := o.cn.c.do(ctx, http.MethodGet, pathServerDetails+url.PathEscape(name), url.Values{"extensionNumber": {"All"}}, nil, &sd); err != nil {
			if adapters.IsNotFound(err) {
				continue
			}
			return err
		}
		for _, e := range sd.ExtensionLimVOs {
			number := strings.TrimSpace(string(e.Extension))
			if number == "" {
				continue
			}
			d, err := o.cn.getDetail(ctx, number, name)
			if adapters.IsNotFound(err) {
				continue // deleted meanwhile
			}
			if err != nil {
				return err
			}
			if err := fn(extensionRecord(d, owners[name+"/"+number])); err != nil {
				return err
			}
		}
	}
	return nil
}

// typedBody builds the typed create/update body of the record's type.
func typedBody(r schemas.Record, typ string, update bool) map[string]any {
	k := schemas.MustLoad(Name).Kind("extension")
	return bodyFromRecord(k, r, nil, update, func(f *schemas.Field) bool {
		switch f.Path {
		case "subsystemName", "extensionType", "owner":
			return true
		}
		return !allowed(typ, f.Path)
	})
}

func recordType(r schemas.Record) (extType, error) {
	t, ok := lookupType(recString(r, "extensionType"))
	if !ok {
		return t, adapters.Errorf(adapters.Permanent, "extensionType %q is not one of virtual, ip, mobile, cordless, multi_terminal", recString(r, "extensionType"))
	}
	return t, nil
}

func extensionID(d *extensionDetail, number, subsystem string) string {
	if d != nil && d.ExtensionID != 0 {
		return "extensionId=" + strconv.FormatInt(int64(d.ExtensionID), 10)
	}
	return subsystem + "/" + number
}

func (o extensionOps) create(ctx context.Context, r schemas.Record) (adapters.Result, error) {
	t, err := recordType(r)
	if err != nil {
		return adapters.Result{}, err
	}
	number, subsystem := recString(r, "extensionNumber"), recString(r, "subsystemName")
	q := url.Values{"subsystemName": {subsystem}}
	if err := o.cn.c.do(ctx, http.MethodPost, pathExtensions+"/"+t.segment, q, typedBody(r, t.schema, false), nil); err != nil {
		return adapters.Result{}, err
	}
	// The echo carries no extensionId: read it back.
	d, err := o.cn.getDetail(ctx, number, subsystem)
	if err != nil {
		return adapters.Result{}, createdButUnread(err)
	}
	res := adapters.Result{ID: extensionID(d, number, subsystem)}
	if owner := recString(r, "owner"); owner != "" {
		if err := o.cn.setLink(ctx, owner, number, subsystem, true); err != nil {
			return res, linkFailed(err, owner)
		}
	}
	return res, nil
}

// linkFailed classifies a failed owner link after the extension itself was
// written: unless the link can never work, the outcome is Unknown, so the
// runner reads the extension back (and finds the owner missing) instead of
// repeating the create.
func linkFailed(err error, owner string) error {
	err = annotate(err, "the extension was written, but linking it to user %s failed", owner)
	var e *adapters.Error
	if asError(err, &e) && e.Class != adapters.Permanent && e.Class != adapters.Auth {
		e.Class = adapters.Unknown
	}
	return err
}

func (o extensionOps) update(ctx context.Context, r, before schemas.Record) (adapters.Result, error) {
	t, err := recordType(r)
	if err != nil {
		return adapters.Result{}, err
	}
	number, subsystem := recString(r, "extensionNumber"), recString(r, "subsystemName")
	if before == nil {
		if before, err = o.get(ctx, r); err != nil {
			return adapters.Result{}, err
		}
	}
	if bt := recString(before, "extensionType"); bt != "" && bt != t.schema {
		return adapters.Result{}, adapters.Errorf(adapters.Permanent,
			"extension %s / %s is %s on the target; Provisioning Manager cannot change an extension's type: delete it and create it again as %s (two rows: action delete, then create)",
			number, subsystem, bt, t.schema)
	}
	q := url.Values{"subsystemName": {subsystem}}
	body := typedBody(r, t.schema, true)
	if err := o.cn.c.do(ctx, http.MethodPut, pathExtensions+"/"+t.segment, q, body, nil); err != nil {
		return adapters.Result{}, err
	}
	res := adapters.Result{ID: subsystem + "/" + number}
	oldOwner, newOwner := recString(before, "owner"), recString(r, "owner")
	if oldOwner != newOwner && oldOwner != "" {
		if err := o.cn.setLink(ctx, oldOwner, number, subsystem, false); err != nil {
			return res, linkFailed(err, oldOwner)
		}
	}
	if oldOwner != newOwner && newOwner != "" {
		if err := o.cn.setLink(ctx, newOwner, number, subsystem, true); err != nil {
			return res, linkFailed(err, newOwner)
		}
	}
	return res, nil
}

func (o extensionOps) delete(ctx context.Context, r, before schemas.Record) (adapters.Result, error) {
	number, subsystem := recString(r, "extensionNumber"), recString(r, "subsystemName")
	typ := cmp.Or(recString(r, "extensionType"), recString(before, "extensionType"))
	owner := cmp.Or(recString(before, "owner"), recString(r, "owner"))
	if typ == "" || before == nil {
		cur, err := o.get(ctx, r)
		if err != nil {
			return adapters.Result{}, err
		}
		typ = cmp.Or(recString(cur, "extensionType"), typ)
		owner = recString(cur, "owner")
	}
	t, ok := lookupType(typ)
	if !ok {
		return adapters.Result{}, adapters.Errorf(adapters.Permanent, "extension %s / %s: unknown type %q", number, subsystem, typ)
	}
	// A linked extension is unlinked first: PM refuses (or would leave a
	// dangling link) otherwise.
	if owner != "" {
		if err := o.cn.setLink(ctx, owner, number, subsystem, false); err != nil {
			return adapters.Result{}, annotate(err, "unlink from user %s before deleting", owner)
		}
	}
	q := url.Values{"extensionNumber": {number}, "extensionType": {t.api}}
	err := o.cn.c.do(ctx, http.MethodDelete, pathExtensions+"/"+url.PathEscape(subsystem), q, nil, nil)
	return adapters.Result{ID: subsystem + "/" + number}, err
}
