package sim

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters/apio/api"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

type client struct {
	t     *testing.T
	s     *Sim
	token string
}

func newClient(t *testing.T, o simkit.Options, seed simkit.Seed) *client {
	t.Helper()
	s, err := New(o, seed)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, s: s}
	var tok api.Token
	if st := c.do("POST", api.LoginPath, `{"username":"admin","password":"admin"}`, &tok); st != 200 || tok.Token == "" {
		t.Fatalf("login: %d %q", st, tok.Token)
	}
	c.token = tok.Token
	return c
}

// do sends one request (the body also on a GET, as APIO's list wants) and
// decodes the answer into out.
func (c *client) do(method, path, body string, out any) int {
	c.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:1"
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	w := httptest.NewRecorder()
	c.s.ServeHTTP(w, r)
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			c.t.Fatalf("%s %s: %d %q: %v", method, path, w.Code, w.Body.String(), err)
		}
	}
	return w.Code
}

func (c *client) want(method, path, body string, status int, contains string) {
	c.t.Helper()
	var e api.Error
	var out any = &e
	if status < 300 {
		out = nil
	}
	if got := c.do(method, path, body, out); got != status || !strings.Contains(e.Error, contains) {
		c.t.Errorf("%s %s %s: %d %q, want %d containing %q", method, path, body, got, e.Error, status, contains)
	}
}

var users = api.UsersPath("footenant", "foogroup")

func TestAuthIsRequired(t *testing.T) {
	now := time.Now()
	c := newClient(t, simkit.Options{Now: func() time.Time { return now }, TokenLifetime: time.Minute}, nil)
	c.want("GET", users, "", 200, "")
	good := c.token
	c.token = "forged"
	c.want("GET", users, "", 401, "invalid or expired token")
	c.token = ""
	c.want("GET", users, "", 401, "authentication required")
	c.want("POST", api.LoginPath, `{"username":"admin","password":"wrong"}`, 401, "invalid username or password")
	c.token = good
	now = now.Add(2 * time.Minute)
	c.want("GET", users, "", 401, "expired")
}

func TestPathsAndGroups(t *testing.T) {
	c := newClient(t, simkit.Options{Settings: map[string]string{SettingGroups: "footenant/foogroup;acme/hq"}}, nil)
	c.want("GET", api.UsersPath("acme", "hq"), "", 200, "")
	c.want("GET", api.UsersPath("acme", "nope"), "", 404, `group "nope" not found`)
	c.want("GET", api.UsersPath("nope", "hq"), "", 404, `tenant "nope" not found`)
	c.want("GET", strings.TrimSuffix(users, "/"), "", 404, "end with /")
	c.want("POST", users, `{"virtualOnNetUsers":[{"phoneNumber":"+3212345678","extension":"1111","firstName":"A","lastName":"B","callType":"default"}]}`, 201, "")
	var u api.User
	if st := c.do("GET", users+"%2B3212345678/", "", &u); st != 200 || u.Extension != "1111" || u.PhoneNumber != "" {
		t.Errorf("GET by %%2B: %d %+v", st, u)
	}
	var tenants api.Tenants
	c.do("GET", api.TenantsPath, "", &tenants)
	var groups api.Groups
	c.do("GET", api.GroupsPath("acme"), "", &groups)
	if len(tenants.Tenants) != 2 || tenants.Tenants[0].TenantID != "acme" || len(groups.Groups) != 1 || groups.Groups[0].GroupID != "hq" {
		t.Errorf("tenants %+v groups %+v", tenants, groups)
	}
}

func TestCreateListAndRange(t *testing.T) {
	c := newClient(t, simkit.Options{}, nil)
	var empty map[string]any
	if st := c.do("POST", users, `{"virtualOnNetUsersRange":{"phoneNumberRange":{"minPhoneNumber":"123456777","maxPhoneNumber":"123456779"},
		"extensionRange":{"minExtension":"0000","maxExtension":"0002"},"firstName":"f","lastName":"l","cliFirstName":"cf","cliLastName":"cl","callType":"default"}}`, &empty); st != 201 || len(empty) != 0 {
		t.Fatalf("range create: %d %v", st, empty)
	}
	got := c.s.Users()
	want := map[string]string{"123456777": "0000", "123456778": "0001", "123456779": "0002"}
	for p, ext := range want {
		u := got["footenant/foogroup/"+p]
		if u.Extension != ext || u.CLIFirstName != "cf" || u.CallType != "default" {
			t.Errorf("%s: %+v, want extension %s with the shared names", p, u, ext)
		}
	}
	var list api.Users
	c.do("GET", users, `{"extensionStarts":"000","responseSizeLimit":2}`, &list)
	if len(list.Users) != 2 || list.Users[0].PhoneNumber != "123456777" || list.Users[0].CLIFirstName != "" {
		t.Errorf("list: %+v (want 2 users, no CLI names)", list)
	}
	c.do("GET", users, `{"insensitiveUserLastNameEquals":"L","phoneNumberContains":"779"}`, &list)
	if len(list.Users) != 1 || list.Users[0].Extension != "0002" {
		t.Errorf("AND of criteria: %+v", list)
	}
	c.want("GET", users, `{"sensitiveDeviceNameContains":"Test"}`, 400, "unknown search criterion sensitiveDeviceNameContains")
	c.want("POST", users, `{"virtualOnNetUsers":[],"virtualOnNetUsersRange":{}}`, 400, "mutually exclusive")
}

func TestCreateIsAllOrNothing(t *testing.T) {
	c := newClient(t, simkit.Options{}, nil)
	user := func(p, x string) string {
		return `{"phoneNumber":"` + p + `","extension":"` + x + `","firstName":"A","lastName":"B","callType":"default"}`
	}
	c.want("POST", users, `{"virtualOnNetUsers":[`+user("+321", "10")+`]}`, 201, "")
	c.want("POST", users, `{"virtualOnNetUsers":[`+user("+322", "20")+`,`+user("+321", "21")+`]}`, 400, "phone number +321 already exists")
	c.want("POST", users, `{"virtualOnNetUsers":[`+user("+323", "30")+`,`+user("+324", "10")+`]}`, 400, "extension 10 already exists")
	c.want("POST", users, `{"virtualOnNetUsersRange":{"phoneNumberRange":{"minPhoneNumber":"+3250","maxPhoneNumber":"+3252"},
		"extensionRange":{"minExtension":"50","maxExtension":"51"},"firstName":"f","lastName":"l","callType":"default"}}`, 400, "holds 3 numbers and extensionRange 2")
	if n := len(c.s.Users()); n != 1 {
		t.Errorf("%d users after refused creates, want 1", n)
	}
	if d := c.s.Stats().TotalDuplicateCreates(); d != 1 {
		t.Errorf("duplicate creates %d, want 1", d)
	}
}

func TestCallTypes(t *testing.T) {
	noType := `{"virtualOnNetUsers":[{"phoneNumber":"+3299","extension":"99","firstName":"A","lastName":"B"}]}`
	c := newClient(t, simkit.Options{}, nil)
	c.want("POST", users, noType, 400, "DEFAULT_CALL_TYPE is not set")
	c.want("POST", users, strings.Replace(noType, `"B"`, `"B","callType":"gold"`, 1), 400, `callType "gold" is not a call type`)
	c = newClient(t, simkit.Options{Settings: map[string]string{SettingDefaultCallType: "remote"}}, nil)
	c.want("POST", users, noType, 201, "")
	if u := c.s.Users()["footenant/foogroup/+3299"]; u.CallType != "remote" {
		t.Errorf("call type %q, want DEFAULT_CALL_TYPE remote", u.CallType)
	}
	if _, err := New(simkit.Options{Settings: map[string]string{"DEFAULT_CALLTYPE": "x"}}, nil); err == nil || !strings.Contains(err.Error(), "did you mean DEFAULT_CALL_TYPE") {
		t.Errorf("unknown setting: %v", err)
	}
}

func TestUpdateDeleteQuirks(t *testing.T) {
	seed := simkit.Seed{{Kind: Kind, Origin: "VirtualUsers!2", Record: schemas.Record{"tenant": "footenant", "group": "foogroup",
		"phoneNumber": "+3210", "extension": "10", "firstName": "A", "lastName": "B", "cliFirstName": "C", "callType": "default"}}}
	c := newClient(t, simkit.Options{Settings: map[string]string{SettingGetUserStatus: "201"}}, seed)
	one := api.UserPath("footenant", "foogroup", "+3210")
	c.want("PUT", api.UserPath("footenant", "foogroup", "+3211"), `{"firstName":"X"}`, 400, "not found in the group")
	c.want("PUT", one, `{"firstName":"X","cliFirstName":"","callType":""}`, 200, "")
	var u api.User
	if st := c.do("GET", one, "", &u); st != 201 || u.FirstName != "X" || u.CLIFirstName != "" || u.CallType != "default" || u.LastName != "B" {
		t.Errorf("after PUT: %d %+v", st, u)
	}
	c.want("DELETE", one, "", 200, "")
	c.want("DELETE", one, "", 200, "")
	c.want("GET", one, "", 404, "not found")
	// /_sim/reset brings the seed back.
	r := httptest.NewRequest("POST", "/_sim/reset", &bytes.Buffer{})
	r.RemoteAddr = "127.0.0.1:1"
	c.s.ServeHTTP(httptest.NewRecorder(), r)
	if _, ok := c.s.Users()["footenant/foogroup/+3210"]; !ok {
		t.Error("reset did not restore the seed")
	}
}

// TestSeedCreatesItsGroups: an export's groups (even empty) and the groups
// its users name exist after seeding.
func TestSeedCreatesItsGroups(t *testing.T) {
	seed := simkit.Seed{
		{Kind: "group", Origin: "Groups!2", Record: schemas.Record{"tenant": "acme", "group": "empty"}},
		{Kind: Kind, Origin: "VirtualUsers!2", Record: schemas.Record{"tenant": "acme", "group": "hq",
			"phoneNumber": "+3210", "extension": "10", "firstName": "A", "lastName": "B", "callType": "default"}},
	}
	c := newClient(t, simkit.Options{}, seed)
	c.want("GET", api.UsersPath("acme", "empty"), "", 200, "")
	c.want("GET", api.UserPath("acme", "hq", "+3210"), "", 200, "")
	c.want("GET", users, "", 200, "")
}

// TestPhoneWithOrWithoutPlusIsOneUser: a range created without "+" (as the
// document's example) is found by the E.164 name, and taken for it.
func TestPhoneWithOrWithoutPlusIsOneUser(t *testing.T) {
	c := newClient(t, simkit.Options{}, nil)
	c.want("POST", users, `{"virtualOnNetUsers":[{"phoneNumber":"3212345678","extension":"1","firstName":"A","lastName":"B","callType":"default"}]}`, 201, "")
	c.want("GET", api.UserPath("footenant", "foogroup", "+3212345678"), "", 200, "")
	c.want("POST", users, `{"virtualOnNetUsers":[{"phoneNumber":"+3212345678","extension":"2","firstName":"A","lastName":"B","callType":"default"}]}`, 400, "already exists")
	c.want("DELETE", api.UserPath("footenant", "foogroup", "+3212345678"), "", 200, "")
	if n := len(c.s.Users()); n != 0 {
		t.Errorf("%d users after deleting by the E.164 name", n)
	}
}
