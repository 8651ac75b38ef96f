package sim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// extensionTypes maps the create/update path segment to the extensionType
// enum of DELETE and details.
var extensionTypes = map[string]string{
	"virtual": "VIRTUAL", "ip": "IP", "mobile": "MOBILE", "cordless": "DECT", "multi-terminal": "MULTI_TERMINAL",
}

var commonExtSpec = fieldSpec{
	"extensionNumber": tStr, "featureLevel": tStr, "customer": tStr, "description": tStr, "domainName": tStr,
	"serverNumber": tInt, "commonServiceProfile": tInt, "phoneLanguage": tStr, "maximumChargingCost": tStr,
	"bossSecretary": tBool, "homeAreaCode": tStr, "nameIdentity": tObj, "welcomeAnnouncement": tStr,
	"continuousAnnouncement": tStr, "authorizationCodes": tList, "ringSignals": tList, "publicCLINumber": tObj,
	"parallelRinging": tObj, "phoneType": tStr, "hotlineNumber": tStr, "aliasNumberToUse": tStr,
	"individualAliasNumber": tStr, "huntGroup": tObj, "callPickupGroup": tStr, "groupDoNotDisturb": tStr,
}

func without(s fieldSpec, keys ...string) fieldSpec {
	out := specWith(s, nil)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// extensionSpecs are the typed bodies, per extensionType (digest §5.3).
var extensionSpecs = map[string]fieldSpec{
	"VIRTUAL": without(commonExtSpec, "phoneLanguage", "phoneType", "hotlineNumber"),
	"MULTI_TERMINAL": specWith(commonExtSpec, map[string]fieldType{
		"backupAnsweringPositionNumber": tStr, "allowSecurityException": tBool, "dectExtension": tObj,
		"mobileExtension": tObj, "ipExtension": tObj, "sipRemoteExtension": tList, "automaticSIPRegistration": tObj,
	}),
	"MOBILE": specWith(commonExtSpec, map[string]fieldType{
		"extensionRouteType": tStr, "mobileDirectAccessDest": tStr, "defaultRemoteNumber": tStr,
		"receivedANumber": tStr, "forceMobileThroughPBX": tBool,
	}),
	"IP": specWith(commonExtSpec, map[string]fieldType{
		"macAddress": tStr, "allowThirdPartyClient": tBool, "backupAnsweringPositionNumber": tStr,
		"allowSecurityException": tBool, "ipExtensionType": tStr, "freeOnSecondLine": tInt,
		"allowExtensioninCallParkPoolGroup": tBool, "automaticSIPRegistration": tObj, "sipRemoteExtension": tObj,
	}),
	"DECT": specWith(without(commonExtSpec, "domainName", "bossSecretary"), map[string]fieldType{
		"authenticationKey": tStr, "internationalPortableEquipmentIdentity": tStr, "sendDuration": tBool,
		"allowThirdPartyClient": tBool,
	}),
}

// detailEnum are the extensionType values details and DELETE accept.
var detailEnum = []string{"IP", "MOBILE", "DECT", "VIRTUAL", "MULTI_TERMINAL", "REMOTE"}

func (a *api) extensionRoutes() {
	const base = "/pm-extension-ms/pm-extension/v1"
	for seg, typ := range extensionTypes {
		a.handle("POST "+base+"/"+seg, anyRole, func(c *call) (int, any, error) { return c.writeExtension(typ, true) })
		a.handle("PUT "+base+"/"+seg, anyRole, func(c *call) (int, any, error) { return c.writeExtension(typ, false) })
	}
	a.handle("GET "+base+"/details", anyRole, func(c *call) (int, any, error) {
		num, err := c.query("extensionNumber")
		if err != nil {
			return 0, nil, err
		}
		typ, err := c.query("extensionType")
		if err != nil {
			return 0, nil, err
		}
		subName, err := c.query("subsystemName")
		if err != nil {
			return 0, nil, err
		}
		x, err := c.st.findExtension(subName, num, typ)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, x.detail(), nil
	})
	// The document shows one ExtensionDetail; a user may own several, so
	// this answers an array of them (see the package comment).
	a.handle("GET "+base+"/{userRecId}", anyRole, func(c *call) (int, any, error) {
		id, err := c.intPath("userRecId")
		if err != nil {
			return 0, nil, err
		}
		usr := c.st.users[id]
		if usr == nil {
			return 0, nil, errNotFound("user with userRecId %d does not exist", id)
		}
		out := []any{}
		for _, l := range usr.exts {
			out = append(out, l.ext.detail())
		}
		return http.StatusOK, out, nil
	})
	a.handle("DELETE "+base+"/{subsystemName}", adminOnly, func(c *call) (int, any, error) {
		num, err := c.query("extensionNumber")
		if err != nil {
			return 0, nil, err
		}
		typ, err := c.query("extensionType")
		if err != nil {
			return 0, nil, err
		}
		if strings.EqualFold(typ, "ALL") {
			return 0, nil, errBadRequest("extensionType must be the extension's type (%s), not ALL", strings.Join(detailEnum, ", "))
		}
		x, err := c.st.findExtension(c.r.PathValue("subsystemName"), num, typ)
		if err != nil {
			return 0, nil, err
		}
		if x.owner != nil {
			return 0, nil, errInUse("extension %s in subsystem %s is linked to user %s; remove it from the user first", x.number, x.sub.name, x.owner.userID)
		}
		delete(c.st.exts, extKey{x.sub.id, x.number})
		return http.StatusNoContent, nil, nil
	})
	a.handle("GET "+base+"/number-series/{numberSeriesType}", anyRole, func(c *call) (int, any, error) {
		subName, err := c.query("subsystemName")
		if err != nil {
			return 0, nil, err
		}
		typ := c.r.PathValue("numberSeriesType")
		if strings.EqualFold(typ, "All") {
			typ = "All"
		}
		if !slices.Contains(numberSeriesTypes, typ) {
			return 0, nil, errBadRequest("number series type %q is not one of %s", typ, strings.Join(numberSeriesTypes, ", "))
		}
		s := c.st.subsystemByName(subName)
		if s == nil {
			return 0, nil, errNotFound("subsystem %q does not exist", subName)
		}
		// Always an array (README.md §1 of the adapter); the document shows
		// one object.
		out := []any{}
		for _, ns := range s.series {
			if typ == "All" || ns.NumberType == typ {
				out = append(out, ns)
			}
		}
		return http.StatusOK, out, nil
	})
	a.handle("PUT "+base+"/update", anyRole, func(c *call) (int, any, error) {
		num, err := c.query("extensionNumber")
		if err != nil {
			return 0, nil, err
		}
		raw, err := c.body()
		if err != nil {
			return 0, nil, err
		}
		x, err := c.st.extensionForUpdate(num, raw)
		if err != nil {
			return 0, nil, err
		}
		if err := x.applyDetail(raw); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, x.detail(), nil
	})
	a.handle("PUT "+base+"/import", adminOnly, func(c *call) (int, any, error) {
		num, err := c.query("extensionNumber")
		if err != nil {
			return 0, nil, err
		}
		sid, err := c.query("subsystemId")
		if err != nil {
			return 0, nil, err
		}
		id, err := strconv.Atoi(sid)
		if err != nil {
			return 0, nil, errBadRequest("subsystemId must be an integer, got %q", sid)
		}
		s := c.st.subsystems[id]
		if s == nil {
			return 0, nil, errNotFound("subsystem %d does not exist", id)
		}
		// Every extension of this simulated exchange is already in PM, so an
		// import finds it or nothing.
		x := c.st.exts[extKey{s.id, num}]
		if x == nil {
			return 0, nil, errNotFound("extension %s does not exist in subsystem %s", num, s.name)
		}
		return http.StatusOK, x.detail(), nil
	})
	a.handle("GET /pm-extension-ms/pm-extension/server-details/{subsystemName}", anyRole, func(c *call) (int, any, error) {
		s := c.st.subsystemByName(c.r.PathValue("subsystemName"))
		if s == nil {
			return 0, nil, errNotFound("subsystem %q does not exist", c.r.PathValue("subsystemName"))
		}
		which, err := c.query("extensionNumber")
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, c.st.serverDetails(s, which), nil
	})
}

// writeExtension is the typed POST (create) and PUT (update) of one type.
func (c *call) writeExtension(typ string, create bool) (int, any, error) {
	subName, err := c.query("subsystemName")
	if err != nil {
		return 0, nil, err
	}
	b, err := c.pickBody(strings.ToLower(typ)+" extension", extensionSpecs[typ])
	if err != nil {
		return 0, nil, err
	}
	if create {
		x, err := c.st.createExtension(subName, typ, b)
		if err = c.created("extension", err); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, x.echo(), nil
	}
	x, err := c.st.updateExtension(subName, typ, b)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, x.echo(), nil
}

func (st *state) extSubsystem(name string) (*subsystem, error) {
	s := st.subsystemByName(name)
	if s == nil {
		return nil, errReference("subsystem %q does not exist; create the subsystem first", name)
	}
	if s.typ != "TelephonyServer" {
		return nil, errBadRequest("subsystem %s is a %s; extensions live in a TelephonyServer subsystem", name, s.typ)
	}
	return s, nil
}

func (st *state) createExtension(subName, typ string, b map[string]any) (*extension, error) {
	s, err := st.extSubsystem(subName)
	if err != nil {
		return nil, err
	}
	num := str(b, "extensionNumber")
	if !digits(num) {
		return nil, errBadRequest("extensionNumber %q must be 1 to 10 digits", num)
	}
	if x := st.exts[extKey{s.id, num}]; x != nil {
		return nil, errDuplicate("extension %s already exists in subsystem %s (as %s)", num, s.name, x.typ)
	}
	if !s.inSeries("EX", num) {
		return nil, &apiError{status: http.StatusBadRequest, code: "NUMBER_NOT_IN_SERIES",
			msg: "extension " + num + " is outside the EX number series of subsystem " + s.name + " (" + s.seriesText("EX") + ")"}
	}
	x := &extension{id: st.id("extension"), number: num, sub: s, typ: typ, body: map[string]any{}}
	delete(b, "extensionNumber")
	merge(x.body, b)
	st.exts[extKey{s.id, num}] = x
	return x, nil
}

func (s *subsystem) seriesText(typ string) string {
	var parts []string
	for _, ns := range s.series {
		if ns.NumberType == typ {
			parts = append(parts, ns.Start+"-"+ns.End)
		}
	}
	if len(parts) == 0 {
		return "it has none"
	}
	return strings.Join(parts, ", ")
}

func (st *state) updateExtension(subName, typ string, b map[string]any) (*extension, error) {
	s, err := st.extSubsystem(subName)
	if err != nil {
		return nil, err
	}
	num := str(b, "extensionNumber")
	if num == "" {
		return nil, errBadRequest("extensionNumber is required in the body")
	}
	x := st.exts[extKey{s.id, num}]
	if x == nil {
		return nil, errNotFound("extension %s does not exist in subsystem %s", num, s.name)
	}
	if x.typ != typ {
		return nil, errBadRequest("extension %s in subsystem %s is of type %s, not %s; update it through its own type", num, s.name, x.typ, typ)
	}
	delete(b, "extensionNumber")
	merge(x.body, b)
	return x, nil
}

// findExtension resolves the details/DELETE parameters. ALL matches any type.
func (st *state) findExtension(subName, num, typ string) (*extension, error) {
	typ = strings.ToUpper(typ)
	if typ != "ALL" && !slices.Contains(detailEnum, typ) {
		return nil, errBadRequest("extensionType %q is not ALL or one of %s", typ, strings.Join(detailEnum, ", "))
	}
	s := st.subsystemByName(subName)
	if s == nil {
		return nil, errNotFound("subsystem %q does not exist", subName)
	}
	x := st.exts[extKey{s.id, num}]
	if x == nil || (typ != "ALL" && x.typ != typ) {
		return nil, errNotFound("no %s extension %s in subsystem %s", strings.ToLower(typ), num, s.name)
	}
	return x, nil
}

// extensionForUpdate finds the target of PUT v1/update: the subsystem comes
// from the body (subsystemName or subsystemId) or, when the number is unique
// across subsystems, from the number alone.
func (st *state) extensionForUpdate(num string, raw map[string]any) (*extension, error) {
	p, err := pick("extension detail", raw, fieldSpec{"subsystemName": tStr, "subsystemId": tInt})
	if err != nil {
		return nil, err
	}
	var s *subsystem
	if id, ok := integer(p, "subsystemId"); ok && id != 0 {
		s = st.subsystems[id]
	} else if name := str(p, "subsystemName"); name != "" {
		s = st.subsystemByName(name)
	}
	if s != nil {
		if x := st.exts[extKey{s.id, num}]; x != nil {
			return x, nil
		}
		return nil, errNotFound("extension %s does not exist in subsystem %s", num, s.name)
	}
	var found []*extension
	for k, x := range st.exts {
		if k.number == num {
			found = append(found, x)
		}
	}
	switch len(found) {
	case 0:
		return nil, errNotFound("extension %s does not exist", num)
	case 1:
		return found[0], nil
	}
	return nil, errBadRequest("extension %s exists in several subsystems; name one with subsystemName in the body", num)
}

// echo is the answer of a typed POST/PUT: the typed body, without an
// extensionId (documented) and without secrets.
func (x *extension) echo() map[string]any {
	m := cloneMap(x.body)
	m["extensionNumber"] = x.number
	stripExtensionSecrets(m)
	return prune(m).(map[string]any)
}

func stripExtensionSecrets(m map[string]any) {
	delete(m, "authenticationKey")
	if d, ok := m["dectExtension"].(map[string]any); ok {
		delete(d, "authenticationKey")
	}
	if codes, ok := m["authorizationCodes"].([]any); ok {
		for _, c := range codes {
			if cm, ok := c.(map[string]any); ok {
				delete(cm, "authorizationCode")
			}
		}
	}
}

// detailMap is the typed body ↔ ExtensionDetail table of the adapter's
// README.md §3. In detail paths "[]" is element 0 of a VO array; VO leaves
// are strings.
var detailMap = []struct {
	body, detail string
	t            fieldType
}{
	{"description", "description", tStr},
	{"featureLevel", "extensionVO.gedi[].featureLevel", tStr},
	{"customer", "extensionVO.gedi[].cust.custnumber", tStr},
	{"serverNumber", "extensionVO.gedi[].lim.limnumber", tInt},
	{"commonServiceProfile", "extensionVO.gedi[].csp.cspnumber", tInt},
	{"domainName", "extensionVO.gedi[].domainName", tStr},
	{"phoneLanguage", "extensionVO.gedi[].lang.langname", tStr},
	{"maximumChargingCost", "extensionVO.gedi[].mcost", tStr},
	{"bossSecretary", "extensionVO.gedi[].bsec", tBool},
	{"homeAreaCode", "extensionVO.gedi[].hacode", tStr},
	{"publicCLINumber.publicCLINumber", "extensionVO.gedi[].publicCliNumber", tStr},
	{"publicCLINumber.activateCLInumber", "extensionVO.gedi[].cliactive", tStr},
	{"publicCLINumber.typeOfCLInumber", "extensionVO.gedi[].typeOfNumber", tStr},
	{"publicCLINumber.publicCLINumberPresentationRestriction", "extensionVO.gedi[].clirestriction", tBool},
	{"freeOnSecondLine", "extensionVO.gedi[].freeOnSecondLine", tInt},
	{"ipExtension.freeOnSecondLine", "extensionVO.gedi[].freeOnSecondLine", tInt},
	{"ipExtension.maximumTerminals", "extensionVO.gedi[].maxter", tInt},
	{"backupAnsweringPositionNumber", "extensionVO.gedi[].bckpos", tStr},
	{"allowSecurityException", "extensionVO.gedi[].secexc", tBool},
	{"nameIdentity.firstName", "extensionVO.niin[].name1", tStr},
	{"nameIdentity.lastName", "extensionVO.niin[].name2", tStr},
	{"nameIdentity.includeinDialbyNameDatabase", "extensionVO.niin[].namDb", tBool},
	{"nameIdentity.namePresentationOrder", "extensionVO.niin[].n1OrN2", tStr},
	{"nameIdentity.restrictPresentation", "extensionVO.niin[].restr", tBool},
	{"nameIdentity.information", "extensionVO.niin[].infoText", tStr},
	{"phoneType", "phoneDTO.phoneTypeKey", tStr},
	{"hotlineNumber", "extensionVO.spexp.nonDialledConnNumber", tStr},
	{"macAddress", "extensionVO.ipex[].macaddr", tStr},
	{"ipExtension.macAddress", "extensionVO.ipex[].macaddr", tStr},
	{"ipExtensionType", "extensionVO.ipex[].iptype", tStr},
	{"internationalPortableEquipmentIdentity", "extensionVO.cxakp[].ipei", tStr},
	{"dectExtension.internationalPortableEquipmentIdentity", "extensionVO.cxakp[].ipei", tStr},
	{"sendDuration", "extensionVO.cxakp[].sdur", tBool},
	{"dectExtension.sendDuration", "extensionVO.cxakp[].sdur", tBool},
	{"defaultRemoteNumber", "extensionVO.reexvos[].defMobNum", tStr},
	{"mobileExtension.defaultRemoteNumber", "extensionVO.reexvos[].defMobNum", tStr},
	{"extensionRouteType", "extensionVO.reexvos[].mobType", tStr},
}

// detail renders the ExtensionDetail of an extension.
func (x *extension) detail() map[string]any {
	d := map[string]any{
		"extensionId": x.id, "extensionNumber": x.number, "subsystemId": x.sub.id, "subsystemName": x.sub.name,
		"extensionType": x.typ, "extensionVO": map[string]any{"gedi": []any{map[string]any{}}},
	}
	for _, m := range detailMap {
		if v, ok := getPath(x.body, m.body); ok && !isZero(v) {
			setPath(d, m.detail, voString(v))
		}
	}
	if x.typ == "MOBILE" || (x.typ == "MULTI_TERMINAL" && x.body["mobileExtension"] != nil) {
		d["mobExtSupport"] = true
	}
	vo := d["extensionVO"].(map[string]any)
	for _, list := range []string{"gedi", "niin", "ipex", "cxakp", "reexvos"} {
		if l, ok := vo[list].([]any); ok {
			l[0].(map[string]any)["dir"] = x.number
		}
	}
	if sp, ok := vo["spexp"].(map[string]any); ok {
		sp["dir"] = x.number
	}
	var auco []any
	if codes, ok := x.body["authorizationCodes"].([]any); ok {
		for _, c := range codes {
			cm, _ := c.(map[string]any)
			auco = append(auco, map[string]any{
				"dir": x.number, "hashtype": voString(cm["hashType"]), "cilcode": voString(cm["callLoggingCode"]),
				"cust": voString(cm["customer"]), "newCUST": voString(cm["newCustomer"]),
				"restrict": voString(cm["restrictUsageToThisExtensionOnly"]),
				"category": map[string]any{"csp": map[string]any{"cspnumber": voString(cm["commonServiceProfile"])}},
			})
		}
	}
	if len(auco) > 0 {
		vo["auco"] = auco
	}
	return prune(d).(map[string]any)
}

// applyDetail is PUT v1/update: the mapped ExtensionDetail fields present in
// the body replace the typed fields the extension's type has.
func (x *extension) applyDetail(raw map[string]any) error {
	spec := extensionSpecs[x.typ]
	for _, m := range detailMap {
		top, _, _ := strings.Cut(m.body, ".")
		if _, ok := spec[top]; !ok {
			continue
		}
		v, ok := getPath(raw, m.detail)
		if !ok {
			continue
		}
		if v == nil || v == "" {
			deletePath(x.body, m.body)
			continue
		}
		cv, err := convert(v, m.t)
		if err != nil {
			return errBadRequest("extension %s: %s: %v", x.number, strings.ReplaceAll(m.detail, "[]", "[0]"), err)
		}
		setPath(x.body, m.body, cv)
	}
	return nil
}

func voString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

// getPath reads a dotted path; a segment ending in "[]" steps into element
// 0 of a list (or into an object given where a list was expected).
func getPath(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, seg := range strings.Split(path, ".") {
		name, list := strings.CutSuffix(seg, "[]")
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = obj[name]
		if !ok {
			return nil, false
		}
		if list {
			if l, isList := cur.([]any); isList {
				if len(l) == 0 {
					return nil, false
				}
				cur = l[0]
			}
		}
	}
	return cur, true
}

func setPath(m map[string]any, path string, v any) {
	segs := strings.Split(path, ".")
	cur := m
	for i, seg := range segs {
		name, list := strings.CutSuffix(seg, "[]")
		if i == len(segs)-1 {
			cur[name] = v
			return
		}
		var next map[string]any
		switch x := cur[name].(type) {
		case map[string]any:
			next = x
		case []any:
			if len(x) > 0 {
				next, _ = x[0].(map[string]any)
			}
		}
		if next == nil {
			next = map[string]any{}
			if list {
				cur[name] = []any{next}
			} else {
				cur[name] = next
			}
		}
		cur = next
	}
}

func deletePath(m map[string]any, path string) {
	parent, leaf, ok := strings.Cut(path, ".")
	if !ok {
		delete(m, path)
		return
	}
	if sub, ok := m[parent].(map[string]any); ok {
		deletePath(sub, leaf)
	}
}

// serverDetails answers server-details: which extension is on which LIM
// (serverNumber, default 1), for "All" or a comma-separated list.
func (st *state) serverDetails(s *subsystem, which string) map[string]any {
	var want map[string]bool
	if !strings.EqualFold(which, "All") {
		want = map[string]bool{}
		for _, n := range strings.Split(which, ",") {
			want[strings.TrimSpace(n)] = true
		}
	}
	var nums []string
	for k := range st.exts {
		if k.subsystemID == s.id && (want == nil || want[k.number]) {
			nums = append(nums, k.number)
		}
	}
	slices.Sort(nums)
	vos := []any{}
	lims := map[string]bool{}
	for _, n := range nums {
		lim := "1"
		if v, ok := st.exts[extKey{s.id, n}].body["serverNumber"].(int); ok && v != 0 {
			lim = strconv.Itoa(v)
		}
		lims[lim] = true
		vos = append(vos, map[string]any{"extension": n, "limnumber": lim})
	}
	addr, _ := getPath(s.attrs, "mxoneSubsystem.ipOrFQDNAddress")
	limList := []any{}
	for _, l := range slices.Sorted(maps.Keys(lims)) {
		limList = append(limList, prune(map[string]any{"limnumber": l, "limtype": "MX-ONE Service Node",
			"limaddress": map[string]any{"ipv4": addr}}))
	}
	return map[string]any{"extensionLimVOs": vos, "lim": limList}
}
