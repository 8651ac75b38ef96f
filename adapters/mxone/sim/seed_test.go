package sim

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/schemas"
)

func TestSeedAndReset(t *testing.T) {
	seed := seedBase()
	seed.Add("department", schemas.Record{"departmentName": "EMEA", "location": "Stockholm", "parentDepartment": "Sales"})
	seed.Add("security_profile", schemas.Record{"securityProfileName": "Ops", "accessPrivileges": []any{"View Only"}})
	seed.Add("extension", schemas.Record{"extensionNumber": "1001", "subsystemName": "MX1", "extensionType": "ip",
		"owner": "jdoe", "macAddress": "00:11:22:33:44:55", "nameIdentity": map[string]any{"firstName": "Jane"}})
	seed.Add("user", schemas.Record{"userId": "jdoe", "firstName": "Jane", "lastName": "Doe",
		"departments": []any{"EMEA", "Sales"}, "securityProfile": "Ops"})
	s, c := start(t, Options{Seed: seed})

	want := s.Snapshot()
	u, _ := want.User("jdoe")
	if !reflect.DeepEqual(u.Departments, []string{"EMEA", "Sales"}) || !reflect.DeepEqual(u.Extensions, []string{"1001@MX1"}) {
		t.Fatalf("seeded user %+v", u)
	}
	if d, _ := want.Department("EMEA"); d.Parent != "Sales" || d.Location != "Stockholm" {
		t.Errorf("seeded department %+v", d)
	}
	if rec := c.obj("/user-ms/user/by-user-id/v1/jdoe"); rec["securityProfile"].(map[string]any)["securityProfileName"] != "Ops" {
		t.Errorf("security profile not seeded: %v", rec)
	}

	c.call("POST", locPath, map[string]any{"locationName": "Oslo"}, 201, nil)
	c.call("DELETE", userPath+"/jdoe", nil, 204, nil)
	if len(s.Snapshot().Locations) != 2 {
		t.Fatal("changes did not land")
	}
	c.call("POST", "/_sim/reset", nil, 204, nil)
	if got := s.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("after reset:\n%+v\nwant the seeded state\n%+v", got, want)
	}
	if st := s.Stats(); st.TotalRequests() != 0 {
		t.Errorf("stats not reset: %+v", st)
	}
}

func TestSeedRefusesWhatPMWould(t *testing.T) {
	for name, tc := range map[string]struct {
		kind string
		rec  schemas.Record
		want string
	}{
		"missing location":   {"department", schemas.Record{"departmentName": "X", "location": "Nowhere"}, `location "Nowhere" does not exist`},
		"out of series":      {"extension", schemas.Record{"extensionNumber": "2000", "subsystemName": "MX1", "extensionType": "virtual"}, "outside the EX number series"},
		"unknown owner":      {"extension", schemas.Record{"extensionNumber": "1000", "subsystemName": "MX1", "extensionType": "virtual", "owner": "ghost"}, `owner "ghost"`},
		"duplicate location": {"location", schemas.Record{"locationName": "Stockholm"}, "already exists"},
	} {
		t.Run(name, func(t *testing.T) {
			seed := seedBase()
			seed.Add(tc.kind, tc.rec)
			_, err := New(Options{Seed: seed})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.kind) {
				t.Errorf("err = %v, want one naming the %s and %q", err, tc.kind, tc.want)
			}
		})
	}
}
