package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testNS = "http://www.sipfoundry.org/2007/08/21/ConfigService"

type testUser struct {
	UserName    string   `xml:"userName"`
	LastName    *Nil     `xml:"lastName,omitempty"`
	FirstName   string   `xml:"firstName,omitempty"`
	Aliases     []string `xml:"aliases,omitempty"`
	Permissions []string `xml:"permissions,omitempty"`
}

type testAddUser struct {
	User testUser `xml:"user"`
	Pin  string   `xml:"pin"`
}

type testFindUserResponse struct {
	Users Array[testUser] `xml:"users"`
}

type testProperty struct {
	Property string `xml:"property"`
	Value    Nil    `xml:"value"`
}

type testManage struct {
	Search struct {
		ByUserName string `xml:"byUserName"`
	} `xml:"search"`
	Edit []testProperty `xml:"edit"`
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("%s differs from golden\n got: %s\nwant: %s", name, got, want)
	}
}

func TestEncodeRequestGolden(t *testing.T) {
	var b bytes.Buffer
	in := testAddUser{
		User: testUser{UserName: "223", FirstName: "Albert & Co", Permissions: []string{"Voicemail", "perm_8"}},
		Pin:  "1234",
	}
	if err := EncodeRequest(&b, testNS, "con", "AddUser", in); err != nil {
		t.Fatal(err)
	}
	golden(t, "add_user_request.xml", b.Bytes())

	b.Reset()
	if err := EncodeRequest(&b, testNS, "con", "GetCallGroups", nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "empty_body_request.xml", b.Bytes())

	b.Reset()
	m := testManage{Edit: []testProperty{{Property: "emailAddress", Value: Nil{Nil: true}}, {Property: "lastName", Value: Nil{Value: "Smith"}}}}
	m.Search.ByUserName = "223"
	if err := EncodeRequest(&b, testNS, "con", "ManageUser", m); err != nil {
		t.Fatal(err)
	}
	golden(t, "manage_user_request.xml", b.Bytes())
}

func TestEncodeResponseGolden(t *testing.T) {
	var b bytes.Buffer
	out := testFindUserResponse{Users: Array[testUser]{ItemName: "item", Items: []testUser{
		{UserName: "223", LastName: &Nil{Nil: true}, Aliases: []string{"albert"}},
		{UserName: "224", LastName: &Nil{Value: "Bohr"}},
	}}}
	if err := EncodeResponse(&b, testNS, "FindUserResponse", out); err != nil {
		t.Fatal(err)
	}
	golden(t, "find_user_response.xml", b.Bytes())

	b.Reset()
	if err := EncodeResponse(&b, testNS, "addUserResponse", nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "void_response.xml", b.Bytes())

	b.Reset()
	f := UserException("java.lang.IllegalArgumentException", "phone model doesn't exist: <foo>")
	f.Detail = HostDetail("pbx.example.com")
	if err := EncodeFault(&b, f); err != nil {
		t.Fatal(err)
	}
	golden(t, "fault_response.xml", b.Bytes())
}

// decodeBody reads an envelope into v (nil to skip) and returns the Body
// element's local name.
func decodeBody(t *testing.T, env string, v any) (string, error) {
	t.Helper()
	name, err := ReadEnvelope(strings.NewReader(env), 0, func(d *xml.Decoder, start *xml.StartElement) error {
		if v == nil {
			return d.Skip()
		}
		return d.DecodeElement(v, start)
	})
	return name.Local, err
}

func TestRoundTripThroughGoldens(t *testing.T) {
	// What the encoder writes, the decoder reads back unchanged.
	for _, name := range []string{"find_user_response.xml"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var got testFindUserResponse
		if _, err := decodeBody(t, string(raw), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Users.Items) != 2 || !got.Users.Items[0].LastName.Nil || got.Users.Items[1].LastName.Value != "Bohr" ||
			got.Users.Items[0].Aliases[0] != "albert" {
			t.Fatalf("decoded %+v", got)
		}
	}
}

func TestDecodeToleratesArrayItemNames(t *testing.T) {
	for _, item := range []string{"item", "user", "User", "anything"} {
		env := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
			`<FindUserResponse xmlns="` + testNS + `"><users xmlns="">` +
			`<` + item + `><userName>1</userName></` + item + `><` + item + `><userName>2</userName><permissions>A</permissions><permissions>B</permissions></` + item + `>` +
			`</users></FindUserResponse></soapenv:Body></soapenv:Envelope>`
		var got testFindUserResponse
		name, err := decodeBody(t, env, &got)
		if err != nil {
			t.Fatalf("%s: %v", item, err)
		}
		if name != "FindUserResponse" || len(got.Users.Items) != 2 || got.Users.Items[1].UserName != "2" ||
			strings.Join(got.Users.Items[1].Permissions, ",") != "A,B" {
			t.Fatalf("items named %s: got %s %+v", item, name, got)
		}
	}
}

func TestDecodeQualifiedChildrenAndNil(t *testing.T) {
	// The Perl sample puts the namespace on the root as default, so the
	// children are qualified; fields still match by local name. xsi is
	// declared on the Envelope only.
	env := `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
	  <s:Header><x:auth xmlns:x="urn:x">ignored</x:auth></s:Header>
	  <!-- a comment --><s:Body>
	    <AddUser xmlns="` + testNS + `"><user><userName>223</userName><lastName xsi:nil="true"/></user><pin>1</pin></AddUser>
	  </s:Body></s:Envelope>`
	var got testAddUser
	name, err := decodeBody(t, env, &got)
	if err != nil {
		t.Fatal(err)
	}
	if name != "AddUser" || got.User.UserName != "223" || got.Pin != "1" || got.User.LastName == nil || !got.User.LastName.Nil {
		t.Fatalf("got %s %+v", name, got)
	}
}

func TestDecodeVoidAndEmpty(t *testing.T) {
	for env, want := range map[string]string{
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>`:                                          "",
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header/><soapenv:Body> </soapenv:Body></soapenv:Envelope>`:          "",
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><addUserResponse xmlns=""/></soapenv:Body></soapenv:Envelope>`: "addUserResponse",
	} {
		name, err := decodeBody(t, env, nil)
		if err != nil || name != want {
			t.Errorf("%s: got %q, %v; want %q", env, name, err, want)
		}
	}
}

func TestDecodeRefusals(t *testing.T) {
	cases := map[string]string{
		`<html><body>Gateway Timeout</body></html>`:                                                       "root element is <html>",
		`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>`:            "SOAP 1.2",
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><a>`:   "unexpected EOF",
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"></soapenv:Envelope>`: "no Body",
		``: "no Envelope",
	}
	for env, want := range cases {
		_, err := decodeBody(t, env, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", env, err, want)
		}
	}
}

func TestFaultDecodingAndException(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "fault_response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = decodeBody(t, string(raw), nil)
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("got %v, want a *Fault", err)
	}
	class, msg := f.Exception()
	if class != "java.lang.IllegalArgumentException" || msg != "phone model doesn't exist: <foo>" || !f.IsServer() || f.IsClient() {
		t.Fatalf("got %q %q %+v", class, msg, f)
	}
	if !strings.Contains(f.Detail, "pbx.example.com") {
		t.Fatalf("detail %q", f.Detail)
	}
	plain := &Fault{Code: "Client", String: "No such operation 'Foo'"}
	if c, m := plain.Exception(); c != "" || m != plain.String || !plain.IsClient() {
		t.Fatalf("plain: %q %q", c, m)
	}
}

func TestSizeLimit(t *testing.T) {
	big := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><r>` +
		strings.Repeat("<x>aaaaaaaa</x>", 1000) + `</r></soapenv:Body></soapenv:Envelope>`
	_, err := ReadEnvelope(strings.NewReader(big), 1024, func(d *xml.Decoder, s *xml.StartElement) error { return d.Skip() })
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1024 bytes") {
		t.Fatalf("got %v, want ErrTooLarge naming the limit", err)
	}
	if _, err := ReadEnvelope(strings.NewReader(big), int64(len(big)), func(d *xml.Decoder, s *xml.StartElement) error { return d.Skip() }); err != nil {
		t.Fatalf("at exactly the limit: %v", err)
	}
}

func TestClientSendsBasicPreemptively(t *testing.T) {
	var got struct {
		auth, action, ctype, path string
		body                      testAddUser
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.auth, got.action, got.ctype, got.path = r.Header.Get("Authorization"), r.Header.Get("SOAPAction"), r.Header.Get("Content-Type"), r.URL.Path
		if _, err := ReadEnvelope(r.Body, 0, func(d *xml.Decoder, s *xml.StartElement) error { return d.DecodeElement(&got.body, s) }); err != nil {
			t.Error(err)
		}
		_ = EncodeResponse(w, testNS, "addUserResponse", nil)
	}))
	defer srv.Close()
	c := testClient(srv.URL+"/sipxconfig/services", "superadmin", "s3cret", srv.Client())
	if err := c.Call(context.Background(), "UserService", "AddUser", testAddUser{User: testUser{UserName: "223"}, Pin: "9"}, nil); err != nil {
		t.Fatal(err)
	}
	if got.auth != "Basic c3VwZXJhZG1pbjpzM2NyZXQ=" || got.action != `""` || got.ctype != "text/xml; charset=utf-8" ||
		got.path != "/sipxconfig/services/UserService" || got.body.User.UserName != "223" {
		t.Fatalf("request: %+v", got)
	}
	if s := fmt.Sprintf("%+v", *c); strings.Contains(s, "s3cret") {
		t.Fatalf("password visible: %s", s)
	}
}

func TestClientErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/s/Challenge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Digest realm="x", nonce="n"`)
		w.WriteHeader(401)
	})
	mux.HandleFunc("/s/Fault", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
		w.WriteHeader(500)
		_ = EncodeFault(w, UserException("org.x.NameInUseException", "&error.nameInUse.short"))
	})
	mux.HandleFunc("/s/Busy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(503)
		_, _ = w.Write([]byte("try later"))
	})
	mux.HandleFunc("/s/Empty", func(w http.ResponseWriter, r *http.Request) {
		_ = EncodeResponse(w, testNS, "x", nil)
		w.(http.Flusher).Flush()
	})
	mux.HandleFunc("/s/Drop", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5000")
		_, _ = w.Write([]byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><FindUserResponse><users>`))
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := testClient(srv.URL+"/s/", "u", "p", srv.Client())
	ctx := context.Background()

	var he *adapters.Error
	if err := c.Call(ctx, "Challenge", "FindUser", struct{}{}, nil); !errors.As(err, &he) || he.Status != 401 || he.Class != adapters.Auth || !strings.Contains(he.Message, "asks for Digest") {
		t.Errorf("challenge: %v", err)
	}
	var f *Fault
	if err := c.Call(ctx, "Fault", "AddUser", struct{}{}, nil); !errors.As(err, &f) || f.HTTPStatus != 500 || !strings.Contains(f.String, "NameInUse") {
		t.Errorf("fault: %v", err)
	}
	if err := c.Call(ctx, "Busy", "AddUser", struct{}{}, nil); !errors.As(err, &he) || he.Status != 503 || he.Class != adapters.Throttled || he.RetryAfter != 7*time.Second || !strings.HasSuffix(he.Message, "try later") {
		t.Errorf("busy: %v", err)
	}
	var out testFindUserResponse
	if err := c.Call(ctx, "Empty", "FindUser", struct{}{}, &out); err != nil {
		t.Errorf("void element for a data operation is decoded as empty content: %v", err)
	}
	if err := c.Call(ctx, "Drop", "FindUser", struct{}{}, &out); adapters.ClassOf(err) != adapters.Unknown {
		t.Errorf("dropped mid-response: got %v, want class unknown (it was sent)", err)
	}
	if err := c.Read(ctx, "Drop", "FindUser", struct{}{}, &out); adapters.ClassOf(err) != adapters.Retryable {
		t.Errorf("read dropped mid-response: got %v, want class retryable", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	refused := testClient("http://"+addr+"/s/", "u", "p", nil)
	if err := refused.Call(ctx, "X", "FindUser", struct{}{}, nil); adapters.ClassOf(err) != adapters.Retryable {
		t.Errorf("refused: got %v, want class retryable (nothing was sent)", err)
	}
}

func TestClientEmptyBodyForDataOperation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>`))
	}))
	defer srv.Close()
	c := testClient(srv.URL, "u", "p", srv.Client())
	var out testFindUserResponse
	if err := c.Call(context.Background(), "UserService", "FindUser", struct{}{}, &out); !errors.Is(err, ErrEmptyBody) {
		t.Fatalf("got %v, want ErrEmptyBody", err)
	}
	if err := c.Call(context.Background(), "UserService", "AddUser", struct{}{}, nil); err != nil {
		t.Fatalf("void op with empty Body: %v", err)
	}
}

func TestEndpointDispatch(t *testing.T) {
	var added []string
	ep := &Endpoint{
		Namespace: testNS,
		Host:      "sim.local",
		EmptyBody: "GetCallGroups",
		WSDL:      func(r *http.Request) []byte { return []byte("<wsdl:definitions/>") },
		Ops: map[string]Operation{
			"AddUser": {
				New:      func() any { return new(testAddUser) },
				Response: "addUserResponse",
				Handle: func(r *http.Request, in any) (any, error) {
					u := in.(*testAddUser).User.UserName
					if u == "dup" {
						return nil, UserException("org.sipfoundry.sipxconfig.common.NameInUseException", "&error.nameInUse.short")
					}
					added = append(added, u)
					return nil, nil
				},
			},
			"GetCallGroups": {
				Response: "GetCallGroupsResponse",
				Handle: func(r *http.Request, in any) (any, error) {
					return testFindUserResponse{Users: Array[testUser]{Items: []testUser{{UserName: "g"}}}}, nil
				},
			},
		},
	}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	c := testClient(srv.URL, "u", "p", srv.Client())
	ctx := context.Background()
	if err := c.Call(ctx, "", "AddUser", testAddUser{User: testUser{UserName: "7"}}, nil); err != nil || len(added) != 1 || added[0] != "7" {
		t.Fatalf("add: %v %v", err, added)
	}
	var f *Fault
	if err := c.Call(ctx, "", "AddUser", testAddUser{User: testUser{UserName: "dup"}}, nil); !errors.As(err, &f) || f.Code != CodeUserException || !strings.Contains(f.Detail, "sim.local") {
		t.Fatalf("dup: %v", err)
	}
	if err := c.Call(ctx, "", "Bogus", struct{}{}, nil); !errors.As(err, &f) || !f.IsClient() || f.String != "No such operation 'Bogus'" {
		t.Fatalf("bogus: %v", err)
	}
	var out testFindUserResponse
	if err := c.Call(ctx, "", "ignored", nil, &out); err != nil || len(out.Users.Items) != 1 || out.Users.Items[0].UserName != "g" {
		t.Fatalf("empty body: %v %+v", err, out)
	}
	resp, err := srv.Client().Get(srv.URL + "?wsdl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || b.String() != "<wsdl:definitions/>" {
		t.Fatalf("wsdl: %d %q", resp.StatusCode, b.String())
	}
}

func testClient(url, user, password string, hc *http.Client) *Client {
	return NewClient(url, testNS, "con", Basic(user, adapters.NewSecret(password)), httpclient.New(adapters.Target{HTTPClient: hc}))
}

// tokenAuth is a fake of a platform (Verba) that takes a session token
// inside the operation's body, not in a header.
type tokenAuth struct{ token string }

type withToken struct {
	Token    string `xml:"token"`
	UserName string `xml:"userName"`
}

func (a tokenAuth) Authorize(_ http.Header, _ string, in any) any {
	return withToken{Token: a.token, UserName: in.(testUser).UserName}
}

type statusResponse struct {
	Status  string `xml:"status"`
	Message string `xml:"message"`
}

func TestPluggableAuthAndInBandStatus(t *testing.T) {
	var got struct {
		header string
		body   withToken
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.header = r.Header.Get("Authorization")
		if _, err := ReadEnvelope(r.Body, 0, func(d *xml.Decoder, s *xml.StartElement) error { return d.DecodeElement(&got.body, s) }); err != nil {
			t.Error(err)
		}
		// Errors come inside HTTP 200.
		_ = EncodeResponse(w, testNS, "getUserResponse", statusResponse{Status: "ERROR", Message: "no such user " + got.body.UserName})
	}))
	defer srv.Close()
	c := NewClient(srv.URL, testNS, "con", tokenAuth{token: "tok-123"}, httpclient.New(adapters.Target{HTTPClient: srv.Client()}))
	c.InBand = func(op string, out any) error {
		if r := out.(*statusResponse); r.Status != "OK" {
			return adapters.Errorf(adapters.NotFound, "%s: %s", op, r.Message)
		}
		return nil
	}
	var out statusResponse
	err := c.Read(context.Background(), "UserService", "GetUser", testUser{UserName: "jdoe"}, &out)
	if got.header != "" || got.body.Token != "tok-123" || got.body.UserName != "jdoe" {
		t.Errorf("request: header %q, body %+v; want the token in the body and no Authorization header", got.header, got.body)
	}
	if adapters.ClassOf(err) != adapters.NotFound || !strings.Contains(err.Error(), "no such user jdoe") {
		t.Errorf("an error reported inside HTTP 200: %v, want the in-band hook's not_found", err)
	}
}
