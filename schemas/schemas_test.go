package schemas

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestEmbeddedSchemasLoad compiles every adapter's embedded schemas, checks
// that every reference points at a kind that exists, and that the kinds can
// be ordered (no cycle between kinds).
func TestEmbeddedSchemasLoad(t *testing.T) {
	names := Adapters()
	if !slices.Contains(names, "mxone") {
		t.Fatalf("embedded adapters = %v, want mxone among them", names)
	}
	for _, a := range names {
		t.Run(a, func(t *testing.T) {
			s, err := Load(a)
			if err != nil {
				t.Fatal(err)
			}
			order, err := s.Order()
			if err != nil {
				t.Fatal(err)
			}
			pos := map[string]int{}
			for i, k := range order {
				pos[k.Name] = i
			}
			for _, k := range s.Kinds {
				if k.Title == "" || k.Description == "" {
					t.Errorf("kind %s: needs a title and a description", k.Name)
				}
				for _, r := range k.Refs {
					target := s.Kind(r.Kind)
					if target == nil {
						t.Errorf("kind %s: %s references unknown kind %s", k.Name, r.Field, r.Kind)
						continue
					}
					if target != k && pos[target.Name] >= pos[k.Name] {
						t.Errorf("order: %s (referenced by %s.%s) comes after %s", target.Name, k.Name, r.Field, k.Name)
					}
				}
			}
		})
	}
}

func TestMXONEKinds(t *testing.T) {
	s := MustLoad("mxone")
	want := map[string]struct {
		key      []string
		readOnly bool
	}{
		"location":         {[]string{"locationName"}, false},
		"subsystem":        {[]string{"subsystemName"}, false},
		"department":       {[]string{"departmentName"}, false},
		"security_profile": {[]string{"securityProfileName"}, false},
		"user":             {[]string{"userId"}, false},
		"extension":        {[]string{"extensionNumber", "subsystemName"}, false},
		"access_privilege": {[]string{"privilegeName"}, true},
		"udf_definition":   {[]string{"udfType", "udfId"}, true},
		"number_series":    {[]string{"subsystemName", "numberType", "start"}, true},
	}
	if len(s.Kinds) != len(want) {
		var got []string
		for _, k := range s.Kinds {
			got = append(got, k.Name)
		}
		t.Errorf("mxone kinds = %v, want %d kinds", got, len(want))
	}
	for name, w := range want {
		k := s.Kind(name)
		if k == nil {
			t.Errorf("kind %s missing", name)
			continue
		}
		if !slices.Equal(k.Key, w.key) || k.ReadOnly != w.readOnly {
			t.Errorf("kind %s: key %v read-only %v, want %v %v", name, k.Key, k.ReadOnly, w.key, w.readOnly)
		}
	}
	if k := s.Kind("Security Profiles"); k == nil || k.Name != "security_profile" {
		t.Errorf(`Kind("Security Profiles") = %v, want security_profile`, k)
	}

	order, err := s.Order()
	if err != nil {
		t.Fatal(err)
	}
	idx := func(n string) int {
		return slices.IndexFunc(order, func(k *Kind) bool { return k.Name == n })
	}
	for _, before := range [][2]string{
		{"location", "subsystem"}, {"location", "department"}, {"department", "user"},
		{"subsystem", "extension"}, {"user", "extension"}, {"access_privilege", "security_profile"},
	} {
		if idx(before[0]) > idx(before[1]) {
			t.Errorf("order: %s must come before %s", before[0], before[1])
		}
	}

	ext := s.Kind("extension")
	for path, check := range map[string]func(*Field) bool{
		"extensionNumber":                 func(f *Field) bool { return f.Text == "digits" && f.Required },
		"defaultRemoteNumber":             func(f *Field) bool { return f.Text == "phone" },
		"authenticationKey":               func(f *Field) bool { return f.Secret },
		"dectExtension.authenticationKey": func(f *Field) bool { return f.Secret },
		"nameIdentity.firstName":          func(f *Field) bool { return f.Type == "string" && !f.Required },
		"owner":                           func(f *Field) bool { return f.Ref != nil && f.Ref.Kind == "user" },
		"subsystemName":                   func(f *Field) bool { return f.Ref != nil && f.Ref.Kind == "subsystem" },
		"extensionType": func(f *Field) bool {
			return slices.Equal(f.Enum, []string{"virtual", "ip", "mobile", "cordless", "multi_terminal"})
		},
	} {
		f := ext.Field(path)
		if f == nil || !check(f) {
			t.Errorf("extension field %s: %+v", path, f)
		}
	}
	if f := s.Kind("user").Field("departments"); f == nil || f.Ref == nil || !f.Ref.Many || f.Ref.Kind != "department" {
		t.Errorf("user.departments should be a list of department references: %+v", f)
	}
	if f := s.Kind("user").Field("newPassword"); f == nil || !f.Secret {
		t.Errorf("user.newPassword should be secret: %+v", f)
	}
	if f := s.Kind("subsystem").Field("mxoneSubsystem.password"); f == nil || !f.Secret {
		t.Errorf("subsystem mxoneSubsystem.password should be secret: %+v", f)
	}
	dep := s.Kind("department")
	if f := dep.Field("parentDepartment"); f == nil || f.Ref == nil || f.Ref.Kind != "department" {
		t.Errorf("department.parentDepartment should reference department: %+v", f)
	}
	// The column order is the property order of the file.
	if got := ext.Fields[0].Path + "," + ext.Fields[1].Path + "," + ext.Fields[2].Path; got != "extensionNumber,subsystemName,extensionType" {
		t.Errorf("extension columns start %s", got)
	}
}

// TestMXONEInstances validates instances of every kind against its schema:
// what a user fills in must pass, and the mistakes the schema is there to
// catch must fail.
func TestMXONEInstances(t *testing.T) {
	s := MustLoad("mxone")
	cases := []struct {
		kind, doc string
		ok        bool
	}{
		{"location", `{"locationName":"Stockholm","description":"HQ"}`, true},
		{"location", `{"description":"no name"}`, false},
		{"location", `{"locationName":"Stockholm","locationId":3}`, false},

		{"subsystem", `{"subsystemName":"MX1","subsystemType":"TelephonyServer","location":"Stockholm","numberSeries":["EX:1000-1999","R1:5000-5009"],"mxoneSubsystem":{"ipOrFQDNAddress":"10.0.0.1","port":"8443","userId":"pm","password":"s3cret","useHttps":true}}`, true},
		{"subsystem", `{"subsystemName":"MX1","subsystemType":"TelephonyServer","location":"Stockholm","numberSeries":["EX 1000-1999"]}`, false},
		{"subsystem", `{"subsystemName":"MX1","subsystemType":"Mainframe","location":"Stockholm"}`, false},
		{"subsystem", `{"subsystemName":"CMG","subsystemType":"CMGServer","location":"Stockholm","mxoneSubsystem":{"port":"1"}}`, false},

		{"department", `{"departmentName":"Sales","location":"Stockholm","parentDepartment":"Company","udf3":"x"}`, true},
		{"department", `{"departmentName":"Sales"}`, false},
		{"department", `{"departmentName":"Sales","location":"Stockholm","parentDepartmentId":4}`, false},

		{"security_profile", `{"securityProfileName":"Helpdesk","accessPrivileges":["User management","Extension management"]}`, true},
		{"security_profile", `{"securityProfileName":"Helpdesk","accessPrivileges":[]}`, false},

		{"user", `{"userId":"jdoe","firstName":"Jane","lastName":"Doe","emailAddress":"jane.doe@example.com","sms":"+46701234567","departments":["Sales","Support"],"newPassword":"pw","udf34":"x"}`, true},
		{"user", `{"userId":"jdoe","firstName":"Jane","lastName":"Doe","emailAddress":"not an address"}`, false},
		{"user", `{"userId":"jdoe","firstName":"Jane","lastName":"Doe","sms":"4.67e10"}`, false},
		{"user", `{"userId":"j doe","firstName":"Jane","lastName":"Doe"}`, false},
		{"user", `{"userId":"jdoe","firstName":"Jane"}`, false},

		{"extension", `{"extensionNumber":"1001","subsystemName":"MX1","extensionType":"virtual","owner":"jdoe","nameIdentity":{"firstName":"Jane","lastName":"Doe"}}`, true},
		{"extension", `{"extensionNumber":"1002","subsystemName":"MX1","extensionType":"ip","macAddress":"00:1A:2B:3C:4D:5E","ipExtensionType":"IPManualLogin","phoneType":"R"}`, true},
		{"extension", `{"extensionNumber":"1003","subsystemName":"MX1","extensionType":"mobile","defaultRemoteNumber":"+46701234567","extensionRouteType":"ISDN"}`, true},
		{"extension", `{"extensionNumber":"1004","subsystemName":"MX1","extensionType":"cordless","authenticationKey":"12345678","internationalPortableEquipmentIdentity":"0077712345"}`, true},
		{"extension", `{"extensionNumber":"1005","subsystemName":"MX1","extensionType":"multi_terminal","ipExtension":{"macAddress":"001a.2b3c.4d5e","maximumTerminals":2},"mobileExtension":{"defaultRemoteNumber":"0701234567"}}`, true},
		{"extension", `{"extensionNumber":"1001","subsystemName":"MX1","extensionType":"virtual","phoneType":"R"}`, false},
		{"extension", `{"extensionNumber":"1001","subsystemName":"MX1","extensionType":"virtual","macAddress":"00:1A:2B:3C:4D:5E"}`, false},
		{"extension", `{"extensionNumber":"1001","subsystemName":"MX1","extensionType":"ip","authenticationKey":"1234"}`, false},
		{"extension", `{"extensionNumber":"1001","subsystemName":"MX1","extensionType":"cordless","domainName":"example.com"}`, false},
		{"extension", `{"extensionNumber":"1001","subsystemName":"MX1","extensionType":"mobile"}`, false},
		{"extension", `{"extensionNumber":"1001","subsystemName":"MX1","extensionType":"ip","ipExtension":{"maximumTerminals":1}}`, false},
		{"extension", `{"extensionNumber":"12345678901","subsystemName":"MX1","extensionType":"virtual"}`, false},
		{"extension", `{"extensionNumber":"10a1","subsystemName":"MX1","extensionType":"virtual"}`, false},
		{"extension", `{"extensionNumber":"1001","subsystemName":"MX1","extensionType":"dect"}`, false},

		{"access_privilege", `{"privilegeName":"User management","description":"Manage users"}`, true},
		{"udf_definition", `{"udfType":"USERS","udfId":7,"udfDisplayName":"Cost centre"}`, true},
		{"udf_definition", `{"udfType":"PHONES","udfId":7}`, false},
		{"number_series", `{"subsystemName":"MX1","numberType":"EX","start":"1000","end":"1999"}`, true},
	}
	for _, c := range cases {
		k := s.Kind(c.kind)
		if k == nil {
			t.Fatalf("kind %s missing", c.kind)
		}
		var v any
		dec := json.NewDecoder(strings.NewReader(c.doc))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: bad test document: %v", c.doc, err)
		}
		err := k.Schema.Validate(v)
		if c.ok && err != nil {
			t.Errorf("%s %s: want valid, got %v", c.kind, c.doc, err)
		}
		if !c.ok && err == nil {
			t.Errorf("%s %s: want invalid, got valid", c.kind, c.doc)
		}
	}
}

func TestWriteOnlyFields(t *testing.T) {
	writeOnly := func(k *Kind) []string {
		var got []string
		for _, f := range k.Fields {
			if f.WriteOnly {
				got = append(got, f.Path)
			}
		}
		return got
	}
	if got := writeOnly(MustLoad("mxone").Kind("user")); !slices.Equal(got, []string{"mobileNumber", "secretMobile", "alternativeNumber"}) {
		t.Errorf("user write-only paths = %v", got)
	}
	if got := writeOnly(MustLoad("mxone").Kind("location")); len(got) != 0 {
		t.Errorf("location write-only paths = %v, want none", got)
	}
}
