package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

const (
	extPath  = "/pm-extension-ms/pm-extension/v1"
	userPath = "/user-ms/user/v1"
)

func TestUsers(t *testing.T) {
	s, c := start(t, Options{Seed: seedBase()})
	c.call("POST", extPath+"/ip?subsystemName=MX1", map[string]any{"extensionNumber": "1001"}, 200, nil)
	c.call("POST", extPath+"/virtual?subsystemName=MX1", map[string]any{"extensionNumber": "1002"}, 200, nil)
	create := map[string]any{
		"userId": "jdoe", "firstName": "Jane", "lastName": "Doe", "newPassword": "pw", "emailAddress": "jane@example.com",
		"altFirstNames": []string{"J"}, "keyWords": []string{"sales", "emea"}, "departmentIds": []int{1},
		"extensions":   []any{map[string]any{"extensionNumber": "1001", "subsystemId": 1, "subsystemName": "MX1", "cmgSettings": map[string]any{"ivr": true}}},
		"mobileNumber": "+46701234567", "udf5": "CC-42", "useLastSelection": false,
	}
	if b := c.call("POST", userPath, create, 201, nil); len(b) != 0 {
		t.Errorf("create answered a body: %s", b)
	}
	c.fail("POST", userPath, create, 400, "DUPLICATE_ENTRY", `user "jdoe" already exists`)
	c.fail("POST", userPath, map[string]any{"userId": "x", "departmentIds": []int{9}}, 400, "INVALID_REFERENCE", "department 9")
	c.fail("POST", userPath, map[string]any{"userId": "x", "extensions": []any{map[string]any{"extensionNumber": "1999", "subsystemName": "MX1"}}},
		400, "INVALID_REFERENCE", "extension 1999 does not exist")
	c.fail("POST", userPath, map[string]any{"userId": "x", "extensions": []any{map[string]any{"extensionNumber": "1001", "subsystemName": "MX1"}}},
		400, "ENTITY_IN_USE", "already linked to user jdoe")
	c.fail("POST", userPath, map[string]any{"firstName": "nobody"}, 400, "VALIDATION_FAILED", "userId is required")

	rec := c.obj("/user-ms/user/by-user-id/v1/jdoe")
	if rec["userRecId"] != json.Number("2") {
		t.Errorf("first user's userRecId %v, want 2 (1 is the administrator)", rec["userRecId"])
	}
	for _, absent := range []string{"newPassword", "password", "mobileNumber", "extensions", "departmentIds", "useLastSelection", "altLastNames"} {
		if _, ok := rec[absent]; ok {
			t.Errorf("UserRecord has %s: %v", absent, rec)
		}
	}
	depts := rec["departments"].([]any)
	d0 := depts[0].(map[string]any)
	if rec["primaryDepartmentId"] != json.Number("1") || d0["departmentName"] != "Sales" || d0["location"].(map[string]any)["locationName"] != "Stockholm" {
		t.Errorf("departments %v primary %v", depts, rec["primaryDepartmentId"])
	}
	alt := rec["altFirstNames"].([]any)[0].(map[string]any)
	kw := rec["keyWords"].([]any)[1].(map[string]any)
	if alt["altFirstName"] != "J" || alt["altFirstNameId"] != json.Number("1") || kw["keywordName"] != "emea" {
		t.Errorf("alt names %v keywords %v", rec["altFirstNames"], rec["keyWords"])
	}
	ue := rec["userExtensions"].([]any)[0].(map[string]any)
	if ue["extensionNumber"] != "1001" || ue["subsystemName"] != "MX1" || ue["subsystemId"] != json.Number("1") || ue["cmgSettings"].(map[string]any)["ivr"] != true {
		t.Errorf("userExtensions %v", ue)
	}
	if got := c.obj("/user-ms/user/by-rec-id/v1/2"); got["userId"] != "jdoe" {
		t.Errorf("by-rec-id %v", got)
	}
	c.fail("GET", "/user-ms/user/by-rec-id/v1/1", nil, 404, "NOT_FOUND", "userRecId 1")

	// PUT merges; extensions present replace the user's links.
	var upd map[string]any
	c.call("PUT", userPath+"/2", map[string]any{"lastName": "Smith", "extensions": []any{
		map[string]any{"extensionNumber": "1002", "subsystemName": "MX1"}, map[string]any{"extensionNumber": "1001", "subsystemId": 1}}}, 200, &upd)
	if upd["lastName"] != "Smith" || upd["firstName"] != "Jane" || upd["udf5"] != "CC-42" || len(upd["userExtensions"].([]any)) != 2 {
		t.Errorf("PUT answered %v", upd)
	}
	c.fail("PUT", userPath+"/99", map[string]any{"lastName": "x"}, 404, "NOT_FOUND", "userRecId 99")

	// List: search matches names, extension numbers and departments.
	c.call("POST", userPath, map[string]any{"userId": "bob", "firstName": "Bob"}, 201, nil)
	for search, want := range map[string]string{"1002": "jdoe", "smi": "jdoe", "bob": "bob", "Sales": "jdoe", "*": "jdoe,bob"} {
		page := c.pageA(userPath + "?search=" + search + "&importedFrom=ALL&pageno=0&pageSize=200&orderby=userRecId%20asc")
		var got []string
		for _, it := range items(page, "items") {
			got = append(got, it["userId"].(string))
		}
		if strings.Join(got, ",") != want {
			t.Errorf("search %q: %v, want %s", search, got, want)
		}
	}
	if got := items(c.pageA(userPath+"?search=*&importedFrom=Active%20Directory"), "items"); len(got) != 0 {
		t.Errorf("AD users %v", got)
	}

	// The extension linked to a user cannot go; after the user is deleted it can.
	c.fail("DELETE", extPath+"/MX1?extensionNumber=1001&extensionType=IP", nil, 400, "ENTITY_IN_USE", "linked to user jdoe")
	c.call("DELETE", userPath+"/jdoe", nil, 204, nil)
	c.fail("DELETE", userPath+"/jdoe", nil, 404, "NOT_FOUND", "jdoe")
	c.call("DELETE", extPath+"/MX1?extensionNumber=1001&extensionType=IP", nil, 204, nil)

	snap := s.Snapshot()
	if len(snap.Users) != 1 || snap.Users[0].UserID != "bob" {
		t.Errorf("users %+v", snap.Users)
	}
	if x, _ := snap.Extension("1002", "MX1"); x.Owner != "" {
		t.Errorf("1002 still owned by %q after its user was deleted", x.Owner)
	}
}

func TestExtensions(t *testing.T) {
	s, c := start(t, Options{Seed: seedBase()})
	ip := map[string]any{
		"extensionNumber": "1001", "customer": "0", "serverNumber": 2, "commonServiceProfile": 5, "macAddress": "00:11:22:33:44:55",
		"ipExtensionType": "IPManualLogin", "bossSecretary": true, "phoneType": "R",
		"nameIdentity":       map[string]any{"firstName": "Jane", "lastName": "Doe", "restrictPresentation": false},
		"authorizationCodes": []any{map[string]any{"authorizationCode": "4711", "hashType": "CLEARTEXT"}},
	}
	var echo map[string]any
	c.call("POST", extPath+"/ip?subsystemName=MX1", ip, 200, &echo)
	if echo["extensionNumber"] != "1001" || echo["macAddress"] != "00:11:22:33:44:55" || echo["serverNumber"] != json.Number("2") {
		t.Errorf("echo %v", echo)
	}
	if _, ok := echo["extensionId"]; ok {
		t.Errorf("echo has extensionId: %v", echo)
	}
	if _, ok := echo["customer"]; !ok {
		t.Errorf("echo lost customer \"0\" (a string, not a zero): %v", echo)
	}
	if strings.Contains(fmt.Sprint(echo), "4711") {
		t.Errorf("echo leaks the authorization code: %v", echo)
	}
	c.fail("POST", extPath+"/virtual?subsystemName=MX1", map[string]any{"extensionNumber": "1001"}, 400, "DUPLICATE_ENTRY", "already exists")
	c.fail("POST", extPath+"/virtual?subsystemName=MX1", map[string]any{"extensionNumber": "2001"}, 400, "NUMBER_NOT_IN_SERIES", "1000-1999")
	c.fail("POST", extPath+"/virtual?subsystemName=MX1", map[string]any{"extensionNumber": "5001"}, 400, "NUMBER_NOT_IN_SERIES", "outside the EX")
	c.fail("POST", extPath+"/virtual?subsystemName=MX1", map[string]any{"extensionNumber": "10a"}, 400, "VALIDATION_FAILED", "digits")
	c.fail("POST", extPath+"/virtual?subsystemName=MX9", map[string]any{"extensionNumber": "1005"}, 400, "INVALID_REFERENCE", "MX9")
	c.fail("POST", extPath+"/virtual", map[string]any{"extensionNumber": "1005"}, 400, "VALIDATION_FAILED", "subsystemName")
	c.call("POST", extPath+"/cordless?subsystemName=MX1", map[string]any{"extensionNumber": "1003", "authenticationKey": "123456", "internationalPortableEquipmentIdentity": "0123456789"}, 200, &echo)
	if _, ok := echo["authenticationKey"]; ok {
		t.Errorf("cordless echo leaks the authentication key: %v", echo)
	}
	c.call("POST", extPath+"/mobile?subsystemName=MX1", map[string]any{"extensionNumber": "1004", "defaultRemoteNumber": "+46701234567", "extensionRouteType": "ISDN"}, 200, nil)
	c.call("POST", extPath+"/multi-terminal?subsystemName=MX1", map[string]any{"extensionNumber": "1005", "ipExtension": map[string]any{"macAddress": "aa:bb:cc:dd:ee:ff", "maximumTerminals": 2}}, 200, nil)

	d := c.obj(extPath + "/details?extensionNumber=1001&extensionType=ALL&subsystemName=MX1")
	vo := d["extensionVO"].(map[string]any)
	gedi := vo["gedi"].([]any)[0].(map[string]any)
	niin := vo["niin"].([]any)[0].(map[string]any)
	ipex := vo["ipex"].([]any)[0].(map[string]any)
	if d["extensionType"] != "IP" || d["extensionId"] != json.Number("1") || d["subsystemName"] != "MX1" || d["subsystemId"] != json.Number("1") ||
		gedi["dir"] != "1001" || gedi["lim"].(map[string]any)["limnumber"] != "2" || gedi["csp"].(map[string]any)["cspnumber"] != "5" ||
		gedi["bsec"] != "true" || niin["name1"] != "Jane" || ipex["macaddr"] != "00:11:22:33:44:55" || ipex["iptype"] != "IPManualLogin" ||
		d["phoneDTO"].(map[string]any)["phoneTypeKey"] != "R" {
		t.Errorf("details %v", d)
	}
	if auco := vo["auco"].([]any)[0].(map[string]any); auco["hashtype"] != "CLEARTEXT" || auco["auth"] != nil {
		t.Errorf("auco %v", auco)
	}
	if got := c.obj(extPath + "/details?extensionNumber=1001&extensionType=IP&subsystemName=MX1"); got["extensionNumber"] != "1001" {
		t.Errorf("details by type %v", got)
	}
	c.fail("GET", extPath+"/details?extensionNumber=1001&extensionType=MOBILE&subsystemName=MX1", nil, 404, "NOT_FOUND", "no mobile extension 1001")
	c.fail("GET", extPath+"/details?extensionNumber=1999&extensionType=ALL&subsystemName=MX1", nil, 404, "NOT_FOUND", "1999")
	c.fail("GET", extPath+"/details?extensionNumber=1001&extensionType=FAX&subsystemName=MX1", nil, 400, "VALIDATION_FAILED", "extensionType")
	dect := c.obj(extPath + "/details?extensionNumber=1003&extensionType=DECT&subsystemName=MX1")
	if cx := dect["extensionVO"].(map[string]any)["cxakp"].([]any)[0].(map[string]any); cx["ipei"] != "0123456789" || cx["autkey"] != nil {
		t.Errorf("cordless details %v", cx)
	}
	mt := c.obj(extPath + "/details?extensionNumber=1005&extensionType=ALL&subsystemName=MX1")
	if g := mt["extensionVO"].(map[string]any)["gedi"].([]any)[0].(map[string]any); g["maxter"] != "2" {
		t.Errorf("multi-terminal details %v", mt)
	}

	// Typed PUT merges; a cleared field ("" / false) disappears.
	c.call("PUT", extPath+"/ip?subsystemName=MX1", map[string]any{"extensionNumber": "1001", "macAddress": "", "bossSecretary": false, "description": "desk"}, 200, &echo)
	if echo["macAddress"] != nil || echo["bossSecretary"] != nil || echo["description"] != "desk" || echo["ipExtensionType"] != "IPManualLogin" {
		t.Errorf("PUT echo %v", echo)
	}
	c.fail("PUT", extPath+"/virtual?subsystemName=MX1", map[string]any{"extensionNumber": "1001"}, 400, "VALIDATION_FAILED", "of type IP")
	c.fail("PUT", extPath+"/virtual?subsystemName=MX1", map[string]any{"extensionNumber": "1888"}, 404, "NOT_FOUND", "1888")

	// PUT v1/update takes an ExtensionDetail.
	var upd map[string]any
	c.call("PUT", extPath+"/update?extensionNumber=1001", map[string]any{"subsystemName": "MX1",
		"extensionVO": map[string]any{"niin": []any{map[string]any{"name1": "Janet"}}, "gedi": []any{map[string]any{"bsec": "true", "lim": map[string]any{"limnumber": "3"}}}}}, 200, &upd)
	if x, _ := s.Snapshot().Extension("1001", "MX1"); x.Fields["nameIdentity"].(map[string]any)["firstName"] != "Janet" || x.Fields["bossSecretary"] != true || x.Fields["serverNumber"] != 3 {
		t.Errorf("update stored %v", x.Fields)
	}

	// Extensions of a user: an array of ExtensionDetail.
	c.call("POST", userPath, map[string]any{"userId": "jdoe", "extensions": []any{
		map[string]any{"extensionNumber": "1001", "subsystemName": "MX1"}, map[string]any{"extensionNumber": "1004", "subsystemName": "MX1"}}}, 201, nil)
	var mine []map[string]any
	c.call("GET", extPath+"/2", nil, 200, &mine)
	if len(mine) != 2 || mine[0]["extensionNumber"] != "1001" || mine[1]["extensionType"] != "MOBILE" {
		t.Errorf("extensions of user 2: %v", mine)
	}
	c.fail("GET", extPath+"/99", nil, 404, "NOT_FOUND", "userRecId 99")

	var sd struct {
		ExtensionLimVOs []map[string]any `json:"extensionLimVOs"`
		Lim             []map[string]any `json:"lim"`
	}
	c.call("GET", "/pm-extension-ms/pm-extension/server-details/MX1?extensionNumber=All", nil, 200, &sd)
	if len(sd.ExtensionLimVOs) != 4 || sd.ExtensionLimVOs[0]["extension"] != "1001" || sd.ExtensionLimVOs[0]["limnumber"] != "3" || len(sd.Lim) != 2 {
		t.Errorf("server-details %+v", sd)
	}
	c.call("GET", "/pm-extension-ms/pm-extension/server-details/MX1?extensionNumber=1003,1004,1999", nil, 200, &sd)
	if len(sd.ExtensionLimVOs) != 2 {
		t.Errorf("server-details subset %+v", sd)
	}

	c.call("PUT", extPath+"/import?extensionNumber=1003&subsystemId=1", nil, 200, nil)
	c.fail("PUT", extPath+"/import?extensionNumber=1999&subsystemId=1", nil, 404, "NOT_FOUND", "1999")

	c.fail("DELETE", extPath+"/MX1?extensionNumber=1003&extensionType=ALL", nil, 400, "VALIDATION_FAILED", "not ALL")
	c.fail("DELETE", extPath+"/MX1?extensionNumber=1003&extensionType=IP", nil, 404, "NOT_FOUND", "no ip extension 1003")
	c.call("DELETE", extPath+"/MX1?extensionNumber=1003&extensionType=DECT", nil, 204, nil)

	if st := s.Stats(); st.Creates["extension"] != 4 || st.DuplicateCreates["extension"] != 1 {
		t.Errorf("stats %v %v", st.Creates, st.DuplicateCreates)
	}
}

// TestConcurrentClients has 16 clients create users and link extensions at
// once: every create lands once, ids are unique, nobody's link is lost.
func TestConcurrentClients(t *testing.T) {
	s, admin := start(t, Options{Seed: seedBase()})
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := &client{t: t, base: admin.base, hc: admin.hc, token: admin.token}
			num := fmt.Sprint(1100 + i)
			c.call("POST", extPath+"/virtual?subsystemName=MX1", map[string]any{"extensionNumber": num}, 200, nil)
			c.call("POST", userPath, map[string]any{"userId": "u" + num, "departmentIds": []int{1},
				"extensions": []any{map[string]any{"extensionNumber": num, "subsystemName": "MX1"}}}, 201, nil)
			c.call("GET", "/user-ms/user/by-user-id/v1/u"+num, nil, 200, nil)
		})
	}
	wg.Wait()
	snap := s.Snapshot()
	if len(snap.Users) != n || len(snap.Extensions) != n {
		t.Fatalf("%d users, %d extensions", len(snap.Users), len(snap.Extensions))
	}
	for _, u := range snap.Users {
		if len(u.Extensions) != 1 || "u"+strings.TrimSuffix(u.Extensions[0], "@MX1") != u.UserID || u.Departments[0] != "Sales" {
			t.Errorf("user %+v", u)
		}
	}
	st := s.Stats()
	if st.Creates["user"] != n || st.TotalDuplicateCreates() != 0 || st.MaxInFlight < 1 {
		t.Errorf("stats %+v", st)
	}
}
