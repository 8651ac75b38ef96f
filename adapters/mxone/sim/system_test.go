package sim

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

const locPath = "/system-ms/location/v1"

func TestLocations(t *testing.T) {
	s, c := start(t, Options{})
	if b := c.call("POST", locPath, map[string]any{"locationId": 0, "locationName": "Oslo", "cmgCustomerGroup": "7"}, 201, nil); len(b) != 0 {
		t.Errorf("create answered a body: %s", b)
	}
	c.fail("POST", locPath, map[string]any{"locationName": "Oslo"}, 400, "DUPLICATE_ENTRY", "already exists")
	c.fail("POST", locPath, map[string]any{"description": "no name"}, 400, "VALIDATION_FAILED", "locationName is required")
	c.fail("POST", locPath, map[string]any{"locationName": 5, "description": []any{"x"}}, 400, "VALIDATION_FAILED", "field description")

	page := c.pageA(locPath + "?search=*&pageno=0&pageSize=200&orderby=locationId%20asc")
	locs := items(page, "items")
	if len(locs) != 1 || locs[0]["locationName"] != "Oslo" || locs[0]["cmgCustomerGroup"] != "7" || page["count"] != json.Number("1") {
		t.Fatalf("list %v", page)
	}
	// Preface rule: the empty description is omitted.
	if _, ok := locs[0]["description"]; ok {
		t.Errorf("empty description present: %v", locs[0])
	}
	id := locs[0]["locationId"].(json.Number).String()

	var upd map[string]any
	c.call("PUT", locPath+"/"+id, map[string]any{"description": "Norway"}, 200, &upd)
	if upd["locationName"] != "Oslo" || upd["description"] != "Norway" {
		t.Errorf("PUT answered %v", upd)
	}
	if _, ok := upd["cmgCustomerGroup"]; ok {
		t.Errorf("PUT response has cmgCustomerGroup, the document's has not: %v", upd)
	}
	// No GET by id: the path exists only for PUT and DELETE.
	c.fail("GET", locPath+"/"+id, nil, 405, "METHOD_NOT_ALLOWED", "not supported")
	c.fail("PUT", locPath+"/999", map[string]any{"description": "x"}, 404, "NOT_FOUND", "location 999")

	c.call("POST", "/system-ms/department/v1", map[string]any{"departmentName": "Ops", "location": map[string]any{"locationId": 1}}, 201, nil)
	c.fail("DELETE", locPath+"/"+id, nil, 400, "ENTITY_IN_USE", "department Ops")
	c.call("DELETE", "/system-ms/department/v1/1", nil, 204, nil)
	c.call("DELETE", locPath+"/"+id, nil, 204, nil)
	c.fail("DELETE", locPath+"/"+id, nil, 404, "NOT_FOUND", "does not exist")

	st := s.Stats()
	if st.Creates["location"] != 1 || st.DuplicateCreates["location"] != 1 || st.Creates["department"] != 1 {
		t.Errorf("stats creates %v duplicates %v", st.Creates, st.DuplicateCreates)
	}
	if st.Requests["POST /system-ms/location/v1"] != 4 {
		t.Errorf("requests %v", st.Requests)
	}
}

func TestPageNumbering(t *testing.T) {
	for _, oneBased := range []bool{false, true} {
		t.Run(fmt.Sprint("oneBased=", oneBased), func(t *testing.T) {
			_, c := start(t, Options{OneBasedPages: oneBased})
			for i := range 5 {
				c.call("POST", locPath, map[string]any{"locationName": fmt.Sprintf("L%d", i)}, 201, nil)
			}
			first := 0
			if oneBased {
				first = 1
				c.fail("GET", locPath+"?pageno=0&pageSize=2", nil, 400, "VALIDATION_FAILED", "numbered from 1")
			}
			var names []string
			for p := first; p < first+4; p++ {
				page := c.pageA(fmt.Sprintf("%s?search=*&pageno=%d&pageSize=2&orderby=locationName%%20desc", locPath, p))
				if page["count"] != json.Number("5") || page["pageNo"] != json.Number(fmt.Sprint(p)) || page["pageSize"] != json.Number("2") {
					t.Errorf("page %d envelope %v", p, page)
				}
				for _, it := range items(page, "items") {
					names = append(names, it["locationName"].(string))
				}
			}
			if fmt.Sprint(names) != "[L4 L3 L2 L1 L0]" {
				t.Errorf("pages gave %v", names)
			}
			// The location table spells it pageNo: accepted too.
			page := c.pageA(fmt.Sprintf("%s?pageNo=%d&pageSize=3", locPath, first+1))
			if got := items(page, "items"); len(got) != 2 || got[0]["locationName"] != "L3" {
				t.Errorf("pageNo spelling: %v", page)
			}
		})
	}
}

func TestSubsystemsAndNumberSeries(t *testing.T) {
	_, c := start(t, Options{})
	c.call("POST", locPath, map[string]any{"locationName": "Stockholm"}, 201, nil)
	body := map[string]any{
		"subsystemType": "TelephonyServer", "subsystemName": "MX1", "location": "1", "locationName": "Stockholm",
		"mxoneSubsystem": map[string]any{"ipOrFQDNAddress": "10.0.0.5", "port": "443", "userId": "pm", "password": "hunter2", "useHttps": true},
		"numberSeries":   []any{map[string]any{"numberType": "EX", "start": "1000", "end": "1999"}, map[string]any{"numberType": "R1", "start": "5000", "end": "5009"}},
	}
	c.call("POST", "/system-ms/subsystem/v1", body, 201, nil)
	c.fail("POST", "/system-ms/subsystem/v1", body, 400, "DUPLICATE_ENTRY", "already exists")
	bad := map[string]any{"subsystemType": "TelephonyServer", "subsystemName": "MX2", "locationName": "Nowhere"}
	c.fail("POST", "/system-ms/subsystem/v1", bad, 400, "INVALID_REFERENCE", `location "Nowhere" does not exist`)
	bad = map[string]any{"subsystemType": "Toaster", "subsystemName": "MX2", "locationName": "Stockholm"}
	c.fail("POST", "/system-ms/subsystem/v1", bad, 400, "VALIDATION_FAILED", "subsystemType")
	bad = map[string]any{"subsystemType": "TelephonyServer", "subsystemName": "MX2", "locationName": "Stockholm", "numberSeries": "EX:10-2"}
	c.fail("POST", "/system-ms/subsystem/v1", bad, 400, "VALIDATION_FAILED", "numberSeries")

	var list []map[string]any
	c.call("GET", "/system-ms/subsystem/v1?subsystemType=All", nil, 200, &list)
	if len(list) != 1 || list[0]["subsystemId"] != json.Number("1") || list[0]["locationName"] != "Stockholm" {
		t.Fatalf("list %v", list)
	}
	if blk := list[0]["mxoneSubsystem"].(map[string]any); blk["password"] != nil || blk["ipOrFQDNAddress"] != "10.0.0.5" {
		t.Errorf("list block %v (password must never be answered)", blk)
	}
	c.call("GET", "/system-ms/subsystem/v1?subsystemType=CMGServer", nil, 200, &list)
	if len(list) != 0 {
		t.Errorf("CMGServer list %v", list)
	}
	c.fail("GET", "/system-ms/subsystem/v1", nil, 400, "VALIDATION_FAILED", "subsystemType")

	// A refused PUT changes nothing, not even the fields checked before the
	// one that failed (PM's updates are transactions).
	c.fail("PUT", "/system-ms/subsystem/v1/1", map[string]any{"subsystemName": "Renamed", "locationName": "Nowhere"}, 400, "INVALID_REFERENCE", "Nowhere")
	if got := c.obj("/system-ms/subsystem/v1/1")["subsystemName"]; got != "MX1" {
		t.Errorf("a refused update renamed the subsystem to %v", got)
	}

	rec := c.obj("/system-ms/subsystem/v1/1")
	loc, _ := rec["location"].(map[string]any)
	if rec["ipaddress"] != "10.0.0.5" || rec["loginName"] != "pm" || loc["locationName"] != "Stockholm" || rec["loginPasswordPlain"] != nil {
		t.Errorf("record %v", rec)
	}

	var series []map[string]any
	c.call("GET", "/pm-extension-ms/pm-extension/v1/number-series/All?subsystemName=MX1", nil, 200, &series)
	if len(series) != 2 || series[0]["numberType"] != "EX" || series[0]["start"] != "1000" || series[0]["end"] != "1999" {
		t.Errorf("All series %v", series)
	}
	c.call("GET", "/pm-extension-ms/pm-extension/v1/number-series/R1?subsystemName=MX1", nil, 200, &series)
	if len(series) != 1 || series[0]["start"] != "5000" {
		t.Errorf("R1 series %v", series)
	}
	c.call("GET", "/pm-extension-ms/pm-extension/v1/number-series/AC?subsystemName=MX1", nil, 200, &series)
	if len(series) != 0 {
		t.Errorf("AC series %v", series)
	}
	c.fail("GET", "/pm-extension-ms/pm-extension/v1/number-series/EX?subsystemName=MX9", nil, 404, "NOT_FOUND", "MX9")

	// A PUT without numberSeries keeps them; with, replaces them.
	c.call("PUT", "/system-ms/subsystem/v1/1", map[string]any{"expirationDate": "2030-01-01"}, 200, nil)
	c.call("GET", "/pm-extension-ms/pm-extension/v1/number-series/EX?subsystemName=MX1", nil, 200, &series)
	if len(series) != 1 {
		t.Errorf("series lost by PUT: %v", series)
	}
	c.call("PUT", "/system-ms/subsystem/v1/1", map[string]any{"numberSeries": "EX:2000-2099"}, 200, nil)
	c.call("GET", "/pm-extension-ms/pm-extension/v1/number-series/All?subsystemName=MX1", nil, 200, &series)
	if len(series) != 1 || series[0]["start"] != "2000" {
		t.Errorf("series after PUT %v", series)
	}

	c.call("POST", "/pm-extension-ms/pm-extension/v1/virtual?subsystemName=MX1", map[string]any{"extensionNumber": "2001"}, 200, nil)
	c.fail("DELETE", "/system-ms/subsystem/v1/1", nil, 400, "ENTITY_IN_USE", "holds 1 extensions")
	c.fail("DELETE", locPath+"/1", nil, 400, "ENTITY_IN_USE", "subsystem MX1")
	c.call("DELETE", "/pm-extension-ms/pm-extension/v1/MX1?extensionNumber=2001&extensionType=VIRTUAL", nil, 204, nil)
	c.call("DELETE", "/system-ms/subsystem/v1/1", nil, 204, nil)
}

func TestDepartments(t *testing.T) {
	_, c := start(t, Options{Seed: seedBase()})
	const p = "/system-ms/department/v1"
	// Sales is 1 (seed). Same name under another parent is fine.
	c.call("POST", p, map[string]any{"departmentName": "Nordic", "parentDepartmentId": 1, "location": map[string]any{"locationId": 1}, "udf3": "x"}, 201, nil)
	c.call("POST", p, map[string]any{"departmentName": "Sales", "parentDepartmentId": 2, "location": map[string]any{"locationId": 1}}, 201, nil)
	c.fail("POST", p, map[string]any{"departmentName": "Sales", "location": map[string]any{"locationId": 1}}, 400, "DUPLICATE_ENTRY", "already exists")
	c.fail("POST", p, map[string]any{"departmentName": "X", "parentDepartmentId": 99, "location": map[string]any{"locationId": 1}}, 400, "INVALID_REFERENCE", "parent department 99")
	c.fail("POST", p, map[string]any{"departmentName": "X", "location": map[string]any{"locationId": 42}}, 400, "INVALID_REFERENCE", "location 42")
	c.fail("POST", p, map[string]any{"departmentName": "X"}, 400, "VALIDATION_FAILED", "location")

	var pages []map[string]any
	c.call("GET", p+"?pageNo=0&pageSize=2&sortBy=departmentId&sortDir=ASC", nil, 200, &pages)
	if len(pages) != 1 {
		t.Fatalf("PageB %v", pages)
	}
	info := pages[0]["page"].(map[string]any)
	depts := items(pages[0], "departmentList")
	if len(depts) != 2 || depts[0]["departmentName"] != "Sales" || info["totalElements"] != json.Number("3") ||
		info["totalPages"] != json.Number("2") || info["first"] != true || info["last"] != false || info["numberOfElements"] != json.Number("2") {
		t.Errorf("page 0: %v", pages[0])
	}
	if loc := depts[1]["location"].(map[string]any); loc["locationName"] != "Stockholm" || depts[1]["parentDepartmentId"] != json.Number("1") || depts[1]["udf3"] != "x" {
		t.Errorf("department %v", depts[1])
	}
	c.call("GET", p+"?pageNo=1&pageSize=2", nil, 200, &pages)
	if info := pages[0]["page"].(map[string]any); info["last"] != true || len(items(pages[0], "departmentList")) != 1 {
		t.Errorf("page 1: %v", pages[0])
	}
	c.call("GET", p+"/by-parent/1?pageNo=0&pageSize=10&sortBy=departmentName&sortDir=DESC", nil, 200, &pages)
	if got := items(pages[0], "departmentList"); len(got) != 1 || got[0]["departmentName"] != "Nordic" {
		t.Errorf("by-parent %v", pages)
	}

	d := c.obj(p + "/2")
	if d["departmentName"] != "Nordic" {
		t.Errorf("GET %v", d)
	}
	c.fail("PUT", p+"/1", map[string]any{"parentDepartmentId": 3}, 400, "VALIDATION_FAILED", "under itself")
	c.call("PUT", p+"/2", map[string]any{"description": "Nordics"}, 200, &d)
	if d["description"] != "Nordics" || d["udf3"] != "x" {
		t.Errorf("PUT merge lost fields: %v", d)
	}
	c.fail("DELETE", p+"/1", nil, 400, "ENTITY_IN_USE", "sub-department Nordic")
	c.call("POST", "/user-ms/user/v1", map[string]any{"userId": "u1", "departmentIds": []int{3}}, 201, nil)
	c.fail("DELETE", p+"/3", nil, 400, "ENTITY_IN_USE", "user u1")
	c.fail("GET", p+"/77", nil, 404, "NOT_FOUND", "department 77")
}

func TestSecurityProfilesPrivilegesUDFsOptions(t *testing.T) {
	_, c := start(t, Options{})
	const sp = "/administrator-ms/security-profiles/v1"
	c.call("POST", sp, map[string]any{"securityProfileId": 0, "securityProfileName": "Helpdesk",
		"accessPrivileges": []any{map[string]any{"privilegeId": 1}, map[string]any{"privilegeName": "View Only"}}}, 201, nil)
	c.fail("POST", sp, map[string]any{"securityProfileName": "Helpdesk"}, 400, "DUPLICATE_ENTRY", "already exists")
	c.fail("POST", sp, map[string]any{"securityProfileName": "X", "accessPrivileges": []any{map[string]any{"privilegeId": 99}}}, 400, "INVALID_REFERENCE", "privilege 99")
	prof := c.obj(sp + "/1")
	privs := prof["accessPrivileges"].([]any)
	if prof["securityProfileName"] != "Helpdesk" || len(privs) != 2 || privs[1].(map[string]any)["privilegeName"] != "View Only" {
		t.Errorf("profile %v", prof)
	}
	if got := items(c.pageA(sp+"?search=help&pageno=0&pageSize=200&orderby=securityProfileId%20asc"), "items"); len(got) != 1 {
		t.Errorf("search %v", got)
	}
	c.fail("GET", sp+"?orderby=shoeSize%20asc", nil, 400, "VALIDATION_FAILED", "cannot order by")
	c.call("DELETE", sp+"/1", nil, 204, nil)

	page := c.pageA("/administrator-ms/access-privileges/v1?search=*&pageno=0&pageSize=5&orderby=privilegeId%20desc")
	if got := items(page, "items"); len(got) != 5 || got[0]["privilegeId"] != json.Number(fmt.Sprint(len(accessPrivileges))) || page["count"] != json.Number(fmt.Sprint(len(accessPrivileges))) {
		t.Errorf("privileges %v", page)
	}

	var udfs []map[string]any
	c.call("GET", "/system-ms/udf-definition/v1", nil, 200, &udfs)
	if len(udfs) != 44 {
		t.Errorf("%d UDF definitions, want 34 USERS + 10 DEPARTMENTS", len(udfs))
	}
	c.call("GET", "/system-ms/udf-definition/v1/by-udf-type/DEPARTMENTS", nil, 200, &udfs)
	if len(udfs) != 10 {
		t.Errorf("%d department UDFs", len(udfs))
	}
	var u map[string]any
	c.call("PUT", "/system-ms/udf-definition/v1/USERS/7", map[string]any{"udfDisplayName": "Cost centre", "readonly": true}, 200, &u)
	if u["udfDisplayName"] != "Cost centre" || u["readonly"] != true || u["udfId"] != json.Number("7") {
		t.Errorf("UDF PUT %v", u)
	}
	if got := c.obj("/system-ms/udf-definition/v1/USERS/7"); got["udfDisplayName"] != "Cost centre" {
		t.Errorf("UDF GET %v", got)
	}
	c.fail("GET", "/system-ms/udf-definition/v1/USERS/35", nil, 404, "NOT_FOUND", "1..34")

	opts := items(c.pageA("/system-ms/options/v1?search=*&pageno=0&pageSize=200&orderby=optionid%20asc"), "items")
	if len(opts) != len(systemOptionNames) {
		t.Fatalf("options %v", opts)
	}
	var o map[string]any
	c.call("PUT", "/system-ms/options/v1/update", map[string]any{"options": []any{map[string]any{"optionid": 2, "value": true}}}, 200, &o)
	if o["optionid"] != json.Number("2") || o["value"] != true {
		t.Errorf("option PUT answered %v", o)
	}
	c.fail("PUT", "/system-ms/options/v1/update", map[string]any{"options": []any{map[string]any{"optionid": 99, "value": true}}}, 404, "NOT_FOUND", "option 99")
}

// TestAfterFaultTemptsDuplicate shows the trap the "after" faults set: the
// create landed, the client saw a 500, and a blind retry is a duplicate the
// stats count.
func TestAfterFaultTemptsDuplicate(t *testing.T) {
	o := Options{}
	o.FaultRate = 1
	o.Faults = []simkit.Fault{{Kind: simkit.Fault500, After: true, Class: simkit.ClassWrite}}
	s, c := start(t, o)
	c.fail("POST", locPath, map[string]any{"locationName": "Oslo"}, 500, "SERVICE_ERROR", "injected")
	if snap := s.Snapshot(); len(snap.Locations) != 1 {
		t.Fatalf("the create did not land: %+v", snap.Locations)
	}
	c.fail("POST", locPath, map[string]any{"locationName": "Oslo"}, 500, "SERVICE_ERROR", "injected")
	st := s.Stats()
	if st.DuplicateCreates["location"] != 1 || st.Creates["location"] != 1 || st.Faults["write/500@after"] != 2 {
		t.Errorf("stats %+v", st)
	}
	// Reads and auth are not writes: untouched.
	c.call("GET", locPath, nil, 200, nil)
}

func TestRoutingErrors(t *testing.T) {
	_, c := start(t, Options{})
	c.fail("GET", "/system-ms/nothing/v1", nil, 404, "NOT_FOUND", "no endpoint GET /system-ms/nothing/v1")
	c.fail("PATCH", locPath+"/1", nil, 405, "METHOD_NOT_ALLOWED", "PATCH is not supported")
	c.fail("PUT", locPath+"/abc", map[string]any{}, 400, "VALIDATION_FAILED", "must be an integer")
	status, _ := c.do("POST", locPath, nil)
	if status != 400 {
		t.Errorf("POST without a body: %d, want 400", status)
	}
	// Literal segments win over the {userRecId} and {subsystemName} templates.
	c.fail("GET", extPath+"/details?extensionNumber=1&extensionType=ALL&subsystemName=X", nil, 404, "NOT_FOUND", `subsystem "X"`)
	c.fail("GET", extPath+"/number-series/EX", nil, 400, "VALIDATION_FAILED", "'subsystemName' is not present")
	c.fail("GET", extPath+"/notanumber", nil, 400, "VALIDATION_FAILED", "userRecId must be an integer")
}
