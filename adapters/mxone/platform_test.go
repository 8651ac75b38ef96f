package mxone_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters/mxone"
	"github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/batch/seed"
)

// A workbook read by the shared seed reader loads into the simulator with
// its links: departments under parents listed after them, users in their
// departments, extensions with their owners.
func TestSeedFromWorkbook(t *testing.T) {
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
	kinds := mxone.New().Kinds()
	records, err := seed.Read(context.Background(), kinds, dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Options{Seed: sim.NewSeed(records)})
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
	_, err = seed.Read(context.Background(), kinds, dir)
	if err == nil || !strings.Contains(err.Error(), "extensions.csv:2") || !strings.Contains(err.Error(), "validate --adapter mxone") {
		t.Errorf("err = %v, want one naming extensions.csv:2 and the validate command", err)
	}
}
