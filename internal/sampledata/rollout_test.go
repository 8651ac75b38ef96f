package sampledata

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/pbxbatch/pbxbatch/schemas"
)

func TestDefaultRolloutShape(t *testing.T) {
	r := New(Default())
	if r.Len("location") != 3 || r.Len("subsystem") != 3 || r.Len("user") != 500 || r.Len("extension") != 700 {
		t.Fatalf("sizes: %d locations, %d users, %d extensions", r.Len("location"), r.Len("user"), r.Len("extension"))
	}
	types := map[string]int{}
	perOwner := map[string]int{}
	numbers := map[string]bool{}
	users := map[string]bool{}
	for u := range r.Records("user") {
		users[u.String("userId")] = true
	}
	for e := range r.Records("extension") {
		types[e.String("extensionType")]++
		perOwner[e.String("owner")]++
		key := e.String("extensionNumber") + "/" + e.String("subsystemName")
		if numbers[key] {
			t.Errorf("extension %s generated twice", key)
		}
		numbers[key] = true
		if !users[e.String("owner")] {
			t.Errorf("extension %s owned by unknown user %s", key, e.String("owner"))
		}
	}
	for _, typ := range []string{"virtual", "ip", "mobile", "cordless", "multi_terminal"} {
		if types[typ] == 0 {
			t.Errorf("no %s extension: %v", typ, types)
		}
	}
	two := 0
	for _, n := range perOwner {
		if n == 2 {
			two++
		}
	}
	if len(perOwner) != 500 || two != 200 {
		t.Errorf("%d owners, %d with two extensions; want 500 and 200", len(perOwner), two)
	}
}

func TestScaledRolloutNumbersFitTheirSeries(t *testing.T) {
	for _, cfg := range []Config{Default(), Users(10000), {Locations: 2, Users: 10, Extensions: 3000}} {
		r := New(cfg)
		if r.Len("user") != cfg.Users || r.Len("extension") != max(cfg.Extensions, cfg.Users) {
			t.Fatalf("%+v: %d users, %d extensions", cfg, r.Len("user"), r.Len("extension"))
		}
		ex := map[string][2]int{} // subsystem -> EX series
		for s := range r.Records("subsystem") {
			var lo, hi int
			if _, err := fmt.Sscanf(s.String("numberSeries"), "EX:%d-%d", &lo, &hi); err != nil {
				t.Fatalf("%s series %q: %v", s.String("subsystemName"), s.String("numberSeries"), err)
			}
			ex[s.String("subsystemName")] = [2]int{lo, hi}
		}
		seen := map[string]bool{}
		for e := range r.Records("extension") {
			key := e.String("extensionNumber") + "/" + e.String("subsystemName")
			n, _ := strconv.Atoi(e.String("extensionNumber"))
			series := ex[e.String("subsystemName")]
			if seen[key] || n < series[0] || n > series[1] {
				t.Fatalf("%+v: extension %s repeated or outside EX:%d-%d", cfg, key, series[0], series[1])
			}
			seen[key] = true
		}
	}
}

func TestSheetsFollowTheSchemas(t *testing.T) {
	set := schemas.MustLoad("mxone")
	sheets, err := New(Default()).Sheets(set)
	if err != nil {
		t.Fatal(err)
	}
	if len(sheets) != len(Kinds()) {
		t.Fatalf("%d sheets", len(sheets))
	}
	for _, s := range sheets {
		k := set.Kind(s.Name)
		if k == nil || k.Name != s.Kind {
			t.Errorf("sheet %q does not name kind %s", s.Name, s.Kind)
		}
		for _, h := range s.Header {
			if k.Field(h) == nil {
				t.Errorf("%s column %q is not a field", s.Name, h)
			}
		}
	}
}
