package mxone

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func TestExtensionTypeVocabularies(t *testing.T) {
	for _, c := range []struct{ in, schema, segment, api string }{
		{"cordless", "cordless", "cordless", "DECT"},
		{"DECT", "cordless", "cordless", "DECT"},
		{"multi_terminal", "multi_terminal", "multi-terminal", "MULTI_TERMINAL"},
		{"multi-terminal", "multi_terminal", "multi-terminal", "MULTI_TERMINAL"},
		{"Ip", "ip", "ip", "IP"},
	} {
		got, ok := lookupType(c.in)
		if !ok || got.schema != c.schema || got.segment != c.segment || got.api != c.api {
			t.Errorf("lookupType(%q) = %+v", c.in, got)
		}
	}
	if _, ok := lookupType("REMOTE"); ok {
		t.Error("REMOTE has no create endpoint and must not map to a schema type")
	}
}

func TestExtensionRecordFromDetail(t *testing.T) {
	// VO leaves are strings; gedi as an array, niin as a bare object; the
	// authentication key must never come out.
	raw := `{"extensionId":17,"extensionNumber":"1004","subsystemId":3,"subsystemName":"MX1","extensionType":"DECT",
	 "description":"reception","extensionVO":{
	   "gedi":[{"dir":"1004","featureLevel":"2","cust":{"custnumber":"0"},"lim":{"limnumber":"2"},"csp":{"cspnumber":"5"},
	            "lang":{"langname":"English"},"bsec":"true","domainName":"ignored.example"}],
	   "niin":{"name1":"Ada","name2":"Lovelace","namDb":"true","restr":"false"},
	   "cxakp":[{"ipei":"0077712345","autkey":"12345678","sdur":"true"}],
	   "ipex":[{"macaddr":"00:11:22:33:44:55"}]},
	 "phoneDTO":{"phoneTypeKey":"DT690"}}`
	var d extensionDetail
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatal(err)
	}
	got := extensionRecord(&d, "ada")
	want := schemas.Record{
		"extensionNumber": "1004", "subsystemName": "MX1", "extensionType": "cordless", "owner": "ada",
		"description": "reception", "featureLevel": "2", "customer": "0",
		"serverNumber": json.Number("2"), "commonServiceProfile": json.Number("5"),
		"phoneLanguage": "English", "phoneType": "DT690",
		"nameIdentity":                           map[string]any{"firstName": "Ada", "lastName": "Lovelace", "includeinDialbyNameDatabase": true},
		"internationalPortableEquipmentIdentity": "0077712345", "sendDuration": true,
	}
	if !got.Equal(want) {
		t.Errorf("record =\n%v\nwant\n%v", got, want)
	}
	// bossSecretary and domainName are not cordless fields; macAddress is
	// ip-only: none may leak into a cordless record (plans would never
	// converge, and validation would reject the export).
	for _, p := range []string{"bossSecretary", "domainName", "macAddress", "authenticationKey"} {
		if _, ok := got.Get(p); ok {
			t.Errorf("cordless record carries %s", p)
		}
	}
	k := schemas.MustLoad(Name).Kind("extension")
	var doc any
	b, _ := json.Marshal(got)
	dec := json.NewDecoder(bytesReader(b))
	dec.UseNumber()
	_ = dec.Decode(&doc)
	if err := k.Schema.Validate(doc); err != nil {
		t.Errorf("the record read back does not validate against the schema: %v", err)
	}
}

func TestTypedBodies(t *testing.T) {
	r := schemas.Record{"extensionNumber": "1002", "subsystemName": "MX1", "extensionType": "ip", "owner": "jdoe",
		"macAddress": "00:11:22:33:44:55", "serverNumber": json.Number("1"), "nameIdentity": map[string]any{"firstName": "J"}}
	create := typedBody(r, "ip", false)
	want := map[string]any{"extensionNumber": "1002", "macAddress": "00:11:22:33:44:55", "serverNumber": int64(1),
		"nameIdentity": map[string]any{"firstName": "J"}}
	if !reflect.DeepEqual(create, want) {
		t.Errorf("create body = %v, want %v", create, want)
	}
	update := typedBody(r, "ip", true)
	for _, p := range []string{"subsystemName", "extensionType", "owner", "authenticationKey", "defaultRemoteNumber", "ipExtension"} {
		if _, ok := update[p]; ok {
			t.Errorf("ip update body carries %s", p)
		}
	}
	if update["description"] != "" || update["bossSecretary"] != false || update["freeOnSecondLine"] != int64(0) {
		t.Errorf("update body must clear absent fields: description=%v bossSecretary=%v freeOnSecondLine=%v",
			update["description"], update["bossSecretary"], update["freeOnSecondLine"])
	}
	virtual := typedBody(schemas.Record{"extensionNumber": "1", "extensionType": "virtual"}, "virtual", true)
	for _, p := range []string{"phoneLanguage", "phoneType", "hotlineNumber", "macAddress"} {
		if _, ok := virtual[p]; ok {
			t.Errorf("virtual update body carries %s", p)
		}
	}
	cordless := typedBody(schemas.Record{"extensionNumber": "1", "authenticationKey": "1234"}, "cordless", true)
	if cordless["authenticationKey"] != "1234" {
		t.Errorf("a set secret must be sent: %v", cordless)
	}
	if _, ok := typedBody(schemas.Record{"extensionNumber": "1"}, "cordless", true)["authenticationKey"]; ok {
		t.Error("an absent secret must not be sent (it would clear the stored key)")
	}
}

func TestUserMapping(t *testing.T) {
	raw := `{"userRecId":7,"userId":"jdoe","firstName":"Jane","lastName":"Doe","primaryDepartmentId":12,
	  "departments":[{"departmentId":11,"departmentName":"Support"},{"departmentId":12,"departmentName":"Sales"}],
	  "altFirstNames":[{"altFirstNameId":1,"altFirstName":"Janet"}],"keyWords":[{"keywordId":3,"keywordName":"vip"}],
	  "userExtensions":[{"extensionNumber":"1001","subsystemId":3,"subsystemName":"MX1","cmgSettings":{"mainUser":true}}],
	  "micollab":{"miCollabRole":"Standard"},"securityProfile":{"securityProfileName":"Helpdesk"},"udf3":"cc-42","useLastSelection":true}`
	var u userRecord
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &u); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(raw), &m)
	cn := newConn(&client{})
	got, err := cn.userRecord(context.Background(), u, m)
	if err != nil {
		t.Fatal(err)
	}
	want := schemas.Record{"userId": "jdoe", "firstName": "Jane", "lastName": "Doe",
		"departments": []any{"Sales", "Support"}, "altFirstNames": []any{"Janet"}, "keyWords": []any{"vip"},
		"securityProfile": "Helpdesk", "udf3": "cc-42", "useLastSelection": true}
	if !got.Equal(want) {
		t.Errorf("user record =\n%v\nwant\n%v", got, want)
	}
	base := updateBase(u, m)
	if !reflect.DeepEqual(base["departmentIds"], []int64{12, 11}) {
		t.Errorf("departmentIds = %v, want primary first [12 11]", base["departmentIds"])
	}
	links, _ := base["extensions"].([]userExtensionLink)
	if len(links) != 1 || links[0].ExtensionNumber != "1001" || links[0].SubsystemID != 3 || string(links[0].CmgSettings) != `{"mainUser":true}` {
		t.Errorf("extensions = %+v: the user's links must survive a full PUT", base["extensions"])
	}
	if base["micollab"] == nil {
		t.Error("micollab must survive a full PUT")
	}
	for _, k := range []string{"userRecId", "userExtensions", "departments", "securityProfile"} {
		if _, ok := base[k]; ok {
			t.Errorf("update body carries response-only field %s", k)
		}
	}
}

func TestLocks(t *testing.T) {
	got := locks(changeOf("extension", schemas.Record{"extensionNumber": "1", "owner": "bob"}, schemas.Record{"owner": "alice"}))
	if fmt.Sprint(got) != "[user/alice user/bob]" {
		t.Errorf("owner change locks %v, want both users", got)
	}
	if got := locks(changeOf("extension", schemas.Record{"extensionNumber": "1"}, nil)); len(got) != 0 {
		t.Errorf("extension without owner locks %v", got)
	}
	if got := locks(changeOf("user", schemas.Record{"userId": "bob"}, nil)); fmt.Sprint(got) != "[user/bob]" {
		t.Errorf("user write locks %v", got)
	}
	if why := supports("access_privilege", "create"); why == "" {
		t.Error("access privileges are a read-only catalogue")
	}
	if why := supports("extension", "update"); why != "" {
		t.Errorf("extension update refused: %s", why)
	}
}

func changeOf(kind string, r, before schemas.Record) adapters.Change {
	return adapters.Change{Kind: kind, Record: r, Before: before}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
