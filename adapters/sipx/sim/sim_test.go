package sim

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
	"github.com/pbxbatch/pbxbatch/internal/soap"
)

func start(t *testing.T, o Options) (*Sim, *httptest.Server, *soap.Client) {
	t.Helper()
	s := New(o)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	c := client(srv.URL+api.Path, "superadmin", "1234")
	return s, srv, c
}

func client(url, user, password string) *soap.Client {
	return soap.NewClient(url, api.Namespace, api.Prefix, soap.Basic(user, adapters.NewSecret(password)), httpclient.New(adapters.Target{}))
}

func yes() *bool { b := true; return &b }

func faultOf(t *testing.T, err error) *soap.Fault {
	t.Helper()
	var f *soap.Fault
	if !errors.As(err, &f) {
		t.Fatalf("got %v, want a SOAP fault", err)
	}
	if f.HTTPStatus != 500 || f.Code != soap.CodeUserException && f.Code != soap.CodeClient {
		t.Fatalf("fault %+v: want HTTP 500 with an Axis fault code", f)
	}
	return f
}

func addUser(t *testing.T, c *soap.Client, name string, aliases ...string) {
	t.Helper()
	in := api.AddUser{User: api.User{UserName: name, FirstName: api.Opt("F" + name), LastName: api.Opt("L" + name), Aliases: aliases, Groups: []string{"staff"}}, Pin: "1111"}
	if err := c.Call(context.Background(), api.UserService, "AddUser", in, nil); err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
}

func findUsers(t *testing.T, c *soap.Client, search *api.UserSearch) []api.User {
	t.Helper()
	var out api.FindUserResponse
	if err := c.Call(context.Background(), api.UserService, "FindUser", api.FindUser{Search: search}, &out); err != nil {
		t.Fatal(err)
	}
	return out.Users.Items
}

func names(us []api.User) string {
	var n []string
	for _, u := range us {
		n = append(n, u.UserName)
	}
	return strings.Join(n, ",")
}

func TestWSDLPerService(t *testing.T) {
	_, srv, _ := start(t, Options{})
	for _, svc := range api.Services {
		resp, err := http.Get(srv.URL + api.Path + svc + "?wsdl")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := `location="` + srv.URL + api.Path + svc + `"`
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) || !strings.Contains(string(body), `<wsdl:port binding="impl:`+svc+`SoapBinding"`) {
			t.Errorf("%s?wsdl: %d, want the service's WSDL with %s", svc, resp.StatusCode, want)
		}
	}
}

func TestAuthentication(t *testing.T) {
	_, srv, admin := start(t, Options{})
	addUser(t, admin, "201")
	ctx := context.Background()
	url := srv.URL + api.Path

	// No credentials: a Digest challenge, never a Basic one.
	resp, err := http.Post(url+api.UserService, "text/xml", strings.NewReader("<x/>"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || !strings.HasPrefix(ch, `Digest realm="pbx.example.com"`) {
		t.Fatalf("anonymous: %d %q", resp.StatusCode, ch)
	}

	var he *adapters.Error
	bad := client(url, "superadmin", "wrong")
	if err := bad.Call(ctx, api.UserService, "FindUser", api.FindUser{}, nil); !errors.As(err, &he) || he.Status != 401 || !strings.Contains(he.Message, "asks for Basic") {
		t.Fatalf("bad password: %v", err)
	}
	// A user who is not an administrator authenticates with the PIN and is refused.
	plain := client(url, "201", "1111")
	if err := plain.Call(ctx, api.UserService, "FindUser", api.FindUser{}, nil); !errors.As(err, &he) || he.Status != 403 {
		t.Fatalf("non-admin: %v", err)
	}

	// Digest, answering the challenge as a browser would.
	nonce := between(ch, `nonce="`, `"`)
	uri := api.Path + api.UserService
	ha1 := md5s("superadmin:pbx.example.com:1234")
	respHash := md5s(strings.Join([]string{ha1, nonce, "00000001", "abc", "auth", md5s("POST:" + uri)}, ":"))
	req, _ := http.NewRequest("POST", url+api.UserService, strings.NewReader(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><FindUser/></soapenv:Body></soapenv:Envelope>`))
	req.Header.Set("Authorization", fmt.Sprintf(`Digest username="superadmin", realm="pbx.example.com", nonce="%s", uri="%s", qop=auth, nc=00000001, cnonce="abc", response="%s"`, nonce, uri, respHash))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "FindUserResponse") {
		t.Fatalf("digest: %d %s", resp.StatusCode, body)
	}
}

func TestDigestNonceGoesStale(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := newAuthenticator("r", func() time.Time { return now })
	lookup := func(string) (string, bool, bool) { return md5s("admin:r:pw"), true, true }
	nonce := a.nonce()
	sign := func() map[string]string {
		return map[string]string{"username": "admin", "realm": "r", "nonce": nonce, "uri": "/x", "qop": "auth", "nc": "1", "cnonce": "c",
			"response": md5s(strings.Join([]string{md5s("admin:r:pw"), nonce, "1", "c", "auth", md5s("POST:/x")}, ":"))}
	}
	if admin, ok, stale := a.checkDigest("POST", sign(), lookup); !admin || !ok || stale {
		t.Fatalf("fresh nonce refused")
	}
	now = now.Add(11 * time.Second)
	if _, ok, stale := a.checkDigest("POST", sign(), lookup); ok || !stale {
		t.Fatalf("expired nonce: ok=%v stale=%v, want refused as stale", ok, stale)
	}
}

func TestEmptyBodyDispatchAndUnknownOperation(t *testing.T) {
	_, _, c := start(t, Options{})
	ctx := context.Background()
	if err := c.Call(ctx, api.CallGroupService, "AddCallGroup", api.AddCallGroup{CallGroup: api.CallGroup{Name: "sales", Extension: "500"}}, nil); err != nil {
		t.Fatal(err)
	}
	var out api.GetCallGroupsResponse
	if err := c.Call(ctx, api.CallGroupService, "ignored", nil, &out); err != nil || len(out.CallGroups.Items) != 1 || out.CallGroups.Items[0].Extension != "500" {
		t.Fatalf("empty Body: %v %+v", err, out)
	}
	f := faultOf(t, c.Call(ctx, api.UserService, "DeleteEverything", struct{}{}, nil))
	if !f.IsClient() || !strings.Contains(f.String, "No such operation 'DeleteEverything'") {
		t.Fatalf("unknown op: %+v", f)
	}
}

func TestAliasNamespaceIsShared(t *testing.T) {
	_, _, c := start(t, Options{})
	ctx := context.Background()
	addUser(t, c, "201", "jdoe")
	cases := []struct {
		svc, op string
		in      any
	}{
		{api.UserService, "AddUser", api.AddUser{User: api.User{UserName: "jdoe"}, Pin: "1"}},                          // a user named like an alias
		{api.UserService, "AddUser", api.AddUser{User: api.User{UserName: "202", Aliases: []string{"201"}}, Pin: "1"}}, // an alias named like a user
		{api.CallGroupService, "AddCallGroup", api.AddCallGroup{CallGroup: api.CallGroup{Name: "jdoe"}}},               // a hunt group named like an alias
		{api.CallGroupService, "AddCallGroup", api.AddCallGroup{CallGroup: api.CallGroup{Name: "hg", Extension: "201"}}},
		{api.ParkOrbitService, "AddParkOrbit", api.AddParkOrbit{ParkOrbit: api.ParkOrbit{Name: "park", Extension: "201"}}},
	}
	for _, tc := range cases {
		f := faultOf(t, c.Call(ctx, tc.svc, tc.op, tc.in, nil))
		if class, _ := f.Exception(); !strings.HasSuffix(class, "NameInUseException") && !strings.HasSuffix(class, "ExtensionInUseException") {
			t.Errorf("%s %+v: got %s, want a name-in-use fault", tc.op, tc.in, f.String)
		}
	}
	// And a park orbit extension blocks a later user alias.
	if err := c.Call(ctx, api.ParkOrbitService, "AddParkOrbit", api.AddParkOrbit{ParkOrbit: api.ParkOrbit{Name: "p", Extension: "700"}}, nil); err != nil {
		t.Fatal(err)
	}
	faultOf(t, c.Call(ctx, api.UserService, "AddUser", api.AddUser{User: api.User{UserName: "203", Aliases: []string{"700"}}, Pin: "1"}, nil))
}

func TestUserSearch(t *testing.T) {
	_, _, c := start(t, Options{})
	for _, n := range []string{"2201", "2202", "3300"} {
		addUser(t, c, n)
	}
	addUser(t, c, "4400", "reception22")
	if got := names(findUsers(t, c, nil)); got != "2201,2202,3300,4400,superadmin" {
		t.Errorf("no search: %s, want every user", got)
	}
	if got := names(findUsers(t, c, &api.UserSearch{})); got != "" {
		t.Errorf("<search/>: %s, want nothing", got)
	}
	if got := names(findUsers(t, c, &api.UserSearch{ByUserName: "2201"})); got != "2201" {
		t.Errorf("exact: %s", got)
	}
	if got := names(findUsers(t, c, &api.UserSearch{ByUserName: "220"})); got != "" {
		t.Errorf("exact is not a prefix match: %s", got)
	}
	if got := names(findUsers(t, c, &api.UserSearch{ByFuzzyUserNameOrAlias: "22"})); got != "2201,2202,4400" {
		t.Errorf("fuzzy is a substring match on names and aliases: %s", got)
	}
	if got := names(findUsers(t, c, &api.UserSearch{ByFuzzyUserNameOrAlias: "L33"})); got != "3300" {
		t.Errorf("fuzzy matches last names case-insensitively: %s", got)
	}
	var out api.FindUserResponse
	f := faultOf(t, c.Call(context.Background(), api.UserService, "FindUser", api.FindUser{Search: &api.UserSearch{ByGroup: "nosuch"}}, &out))
	if f.String != "java.lang.NullPointerException" {
		t.Errorf("unknown group: %s", f.String)
	}
}

func TestManageWithoutSearchAppliesToEveryone(t *testing.T) {
	// The documented danger the adapter guards against: it must hold here,
	// or the adapter's guard is tested against a harmless server.
	s, _, c := start(t, Options{})
	for _, n := range []string{"1", "2", "3"} {
		addUser(t, c, n)
	}
	if err := c.Call(context.Background(), api.UserService, "ManageUser", api.ManageUser{DeleteUser: yes()}, nil); err == nil {
		t.Fatal("deleting superadmin should fault")
	}
	snap := s.Snapshot()
	if snap.User("1") != nil || snap.User("2") != nil || snap.User("3") != nil {
		t.Fatalf("users left: %v", names(snap.Users))
	}
	if snap.User("superadmin") == nil {
		t.Fatal("superadmin deleted")
	}
}

func TestIntegrityFaults(t *testing.T) {
	s, _, c := start(t, Options{})
	ctx := context.Background()
	addUser(t, c, "201")
	cases := []struct {
		name, svc, op string
		in            any
		want          string
	}{
		{"unknown model", api.PhoneService, "AddPhone", api.AddPhone{Phone: api.Phone{SerialNumber: "0004f2000001", ModelID: "nokia3310"}}, "phone model doesn't exist: nokia3310"},
		{"bad MAC", api.PhoneService, "AddPhone", api.AddPhone{Phone: api.Phone{SerialNumber: "0004F2000001", ModelID: "polycom335"}}, "InvalidSerialNumberException"},
		{"short MAC", api.PhoneService, "AddPhone", api.AddPhone{Phone: api.Phone{SerialNumber: "0004f2", ModelID: "polycom335"}}, "InvalidSerialNumberException"},
		{"bad firmware", api.PhoneService, "AddPhone", api.AddPhone{Phone: api.Phone{SerialNumber: "0004f2000001", ModelID: "snom370", DeviceVersion: "polycom4.0"}}, "Invalid device version id 'polycom4.0'"},
		{"ring unknown user", api.CallGroupService, "AddCallGroup", api.AddCallGroup{CallGroup: api.CallGroup{Name: "hg", Rings: []api.UserRing{{UserName: "999", Type: "delayed", Expiration: 10}}}}, "Cannot find user with userName: 999"},
		{"ring bad type", api.CallGroupService, "AddCallGroup", api.AddCallGroup{CallGroup: api.CallGroup{Name: "hg", Rings: []api.UserRing{{UserName: "201", Type: "loud"}}}}, "unknown ring type: loud"},
		{"ring empty user", api.CallGroupService, "AddCallGroup", api.AddCallGroup{CallGroup: api.CallGroup{Name: "hg", Rings: []api.UserRing{{Type: "delayed"}}}}, "null or empty userName"},
		{"unknown property", api.UserService, "ManageUser", api.ManageUser{Search: &api.UserSearch{ByUserName: "201"}, Edit: []api.Property{api.Set("shoeSize", "44")}}, "Error accessing property shoeSize"},
		{"rename without pintoken", api.UserService, "ManageUser", api.ManageUser{Search: &api.UserSearch{ByUserName: "201"}, Edit: []api.Property{api.Set("userName", "209")}}, "ChangePintokenRequiredException"},
	}
	for _, tc := range cases {
		f := faultOf(t, c.Call(ctx, tc.svc, tc.op, tc.in, nil))
		if !strings.Contains(f.String, tc.want) {
			t.Errorf("%s: fault %q, want %q", tc.name, f.String, tc.want)
		}
	}
	snap := s.Snapshot()
	if len(snap.Phones) != 0 || len(snap.CallGroups) != 0 || snap.User("201") == nil {
		t.Fatalf("a refused request changed state: %+v", snap)
	}
}

func TestPhonesLinesAndManageOrder(t *testing.T) {
	s, _, c := start(t, Options{})
	ctx := context.Background()
	addUser(t, c, "201")
	if err := c.Call(ctx, api.PhoneService, "AddPhone", api.AddPhone{Phone: api.Phone{SerialNumber: "0004f2000001", ModelID: "polycom335", Groups: []string{"floor1"}}}, nil); err != nil {
		t.Fatal(err)
	}
	search := &api.PhoneSearch{BySerialNumber: "00:04:F2:00:00:01"} // normalised by the server
	// generateProfiles wins over everything else in the same request.
	if err := c.Call(ctx, api.PhoneService, "ManagePhone", api.ManagePhone{Search: search, AddLine: &api.Line{UserID: "201"}, GenerateProfiles: yes()}, nil); err != nil {
		t.Fatal(err)
	}
	if p := s.Snapshot().Phones[0]; len(p.Lines) != 0 || p.ProfilesGenerated != 1 {
		t.Fatalf("generateProfiles with addLine: %+v, want profiles only", p)
	}
	if err := c.Call(ctx, api.PhoneService, "ManagePhone", api.ManagePhone{Search: search, AddLine: &api.Line{UserID: "201"}}, nil); err != nil {
		t.Fatal(err)
	}
	var out api.FindPhoneResponse
	if err := c.Call(ctx, api.PhoneService, "FindPhone", api.FindPhone{Search: search}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Phones.Items) != 1 || len(out.Phones.Items[0].Lines) != 1 || out.Phones.Items[0].Lines[0].URI != "201@pbx.example.com" {
		t.Fatalf("find phone: %+v", out)
	}
	// Deleting the user takes the line with it, and a second addLine of the
	// same user is refused and counted.
	faultOf(t, c.Call(ctx, api.PhoneService, "ManagePhone", api.ManagePhone{Search: search, AddLine: &api.Line{UserID: "201"}}, nil))
	if got := s.Stats().Snapshot().DuplicateCreates["line"]; got != 1 {
		t.Errorf("duplicate line attempts = %d, want 1", got)
	}
	if err := c.Call(ctx, api.UserService, "ManageUser", api.ManageUser{Search: &api.UserSearch{ByUserName: "201"}, DeleteUser: yes()}, nil); err != nil {
		t.Fatal(err)
	}
	if p := s.Snapshot().Phones[0]; len(p.Lines) != 0 {
		t.Fatalf("line of a deleted user kept: %+v", p)
	}
}

func TestStatsCountCreatesAndDuplicates(t *testing.T) {
	s, _, c := start(t, Options{})
	ctx := context.Background()
	addUser(t, c, "201")
	faultOf(t, c.Call(ctx, api.UserService, "AddUser", api.AddUser{User: api.User{UserName: "201"}, Pin: "1"}, nil))
	if err := c.Call(ctx, api.PermissionService, "AddPermission", api.AddPermission{Permission: api.Permission{Label: "Intl"}}, nil); err != nil {
		t.Fatal(err)
	}
	faultOf(t, c.Call(ctx, api.PermissionService, "AddPermission", api.AddPermission{Permission: api.Permission{Label: "Intl"}}, nil))
	st := s.Stats().Snapshot()
	if st.Creates["user"] != 1 || st.DuplicateCreates["user"] != 1 || st.Creates["permission"] != 1 || st.DuplicateCreates["permission"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	if st.Requests["UserService.AddUser"] != 2 {
		t.Fatalf("routes %+v", st.Requests)
	}
}

func TestUpstreamItemNamesAndStrictAdds(t *testing.T) {
	s, srv, c := start(t, Options{UpstreamItemNames: true, UpstreamStrict: true})
	ctx := context.Background()
	if err := c.Call(ctx, api.UserService, "AddUser", api.AddUser{User: api.User{UserName: "201", Permissions: []string{"InternationalDialing"}}, Pin: "1"}, nil); err != nil {
		t.Fatal(err)
	}
	if u := s.Snapshot().User("201"); len(u.Permissions) != 0 {
		t.Fatalf("upstream ignores permissions on add: %+v", u)
	}
	req, _ := http.NewRequest("POST", srv.URL+api.Path+api.UserService, strings.NewReader(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><FindUser xmlns="`+api.Namespace+`"/></soapenv:Body></soapenv:Envelope>`))
	req.SetBasicAuth("superadmin", "1234")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "<users><user><userName>201</userName>") {
		t.Fatalf("upstream item names: %s", body)
	}
}

func TestResetServices(t *testing.T) {
	s, _, c := start(t, Options{})
	ctx := context.Background()
	addUser(t, c, "201")
	if err := c.Call(ctx, api.CallGroupService, "AddCallGroup", api.AddCallGroup{CallGroup: api.CallGroup{Name: "hg", Extension: "500"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, api.TestService, "ResetServices", api.ResetServices{CallGroup: yes(), User: yes()}, nil); err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	if len(snap.CallGroups) != 0 || len(snap.Users) != 1 || snap.Users[0].UserName != "superadmin" {
		t.Fatalf("after reset: %+v", snap)
	}
	// The freed names can be used again.
	addUser(t, c, "500")
}

func md5s(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

func TestPhoneSerialRenameAndDelete(t *testing.T) {
	s, _, c := start(t, Options{})
	ctx := context.Background()
	for _, serial := range []string{"0004f2000001", "0004f2000002"} {
		if err := c.Call(ctx, api.PhoneService, "AddPhone", api.AddPhone{Phone: api.Phone{SerialNumber: serial, ModelID: "snom370"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	rename := func(from, to string) error {
		return c.Call(ctx, api.PhoneService, "ManagePhone", api.ManagePhone{Search: &api.PhoneSearch{BySerialNumber: from}, Edit: []api.Property{api.Set("serialNumber", to)}}, nil)
	}
	if f := faultOf(t, rename("0004f2000001", "0004f2000002")); !strings.Contains(f.String, "DuplicateSerialNumber") {
		t.Fatalf("rename onto another phone: %s", f.String)
	}
	if err := rename("0004f2000001", "0004f2000009"); err != nil {
		t.Fatal(err)
	}
	for serial, want := range map[string]int{"0004f2000001": 0, "0004f2000009": 1} {
		var out api.FindPhoneResponse
		if err := c.Call(ctx, api.PhoneService, "FindPhone", api.FindPhone{Search: &api.PhoneSearch{BySerialNumber: serial}}, &out); err != nil || len(out.Phones.Items) != want {
			t.Fatalf("find %s after rename: %v, %d phones, want %d", serial, err, len(out.Phones.Items), want)
		}
	}
	if err := c.Call(ctx, api.PhoneService, "ManagePhone", api.ManagePhone{Search: &api.PhoneSearch{BySerialNumber: "0004f2000009"}, DeletePhone: yes()}, nil); err != nil {
		t.Fatal(err)
	}
	if snap := s.Snapshot(); len(snap.Phones) != 1 || snap.Phones[0].SerialNumber != "0004f2000002" {
		t.Fatalf("after delete: %+v", snap.Phones)
	}
	// The serial is free again.
	if err := c.Call(ctx, api.PhoneService, "AddPhone", api.AddPhone{Phone: api.Phone{SerialNumber: "0004f2000009", ModelID: "snom370"}}, nil); err != nil {
		t.Fatal(err)
	}
}
