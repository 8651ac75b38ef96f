package sim

import (
	"context"
	"os"
	"path/filepath"
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

func TestSeedFile(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"locations.csv":   "locationName,description\nStockholm,HQ\n",
		"subsystems.csv":  "subsystemName,subsystemType,location,numberSeries\nMX1,TelephonyServer,Stockholm,EX:1000-1999;R1:5000-5009\n",
		"departments.csv": "departmentName,location,parentDepartment\nEMEA,Stockholm,Sales\nSales,Stockholm,\n",
		"users.csv":       "userId,firstName,lastName,departments\njdoe,Jane,Doe,Sales;EMEA\n",
		"extensions.csv":  "extensionNumber,subsystemName,extensionType,owner,nameIdentity.firstName\n1001,MX1,virtual,jdoe,Jane\n1002,MX1,ip,,\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	seed, err := SeedFile(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	u, _ := snap.User("jdoe")
	if !reflect.DeepEqual(u.Departments, []string{"Sales", "EMEA"}) || !reflect.DeepEqual(u.Extensions, []string{"1001@MX1"}) {
		t.Errorf("user %+v", u)
	}
	if d, _ := snap.Department("EMEA"); d.Parent != "Sales" {
		t.Errorf("parent listed after its child was not resolved: %+v", d)
	}
	if x, _ := snap.Extension("1001", "MX1"); x.Type != "VIRTUAL" || x.Fields["nameIdentity"].(map[string]any)["firstName"] != "Jane" {
		t.Errorf("extension %+v", x)
	}
	if len(snap.Subsystems) != 1 || !reflect.DeepEqual(snap.Subsystems[0].NumberSeries, []string{"EX:1000-1999", "R1:5000-5009"}) {
		t.Errorf("subsystems %+v", snap.Subsystems)
	}

	// A broken workbook is refused with the cell to fix.
	if err := os.WriteFile(filepath.Join(dir, "extensions.csv"), []byte("extensionNumber,subsystemName,extensionType\n1003,MX1,fax\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = SeedFile(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "extensions.csv:2") {
		t.Errorf("err = %v, want one naming extensions.csv:2", err)
	}
}
