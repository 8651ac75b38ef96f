package apio

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/schemas"
)

var update = flag.Bool("update", false, "rewrite testdata/apio from the generator")

// TestSampleShape: three groups, about 2,000 users, half of them in range
// rows of RangeSize.
func TestSampleShape(t *testing.T) {
	s := NewSample(DefaultSampleUsers)
	groups, ranged, users := map[string]bool{}, 0, 0
	for _, r := range s.Rows() {
		groups[r.String("tenant")+"/"+r.String("group")] = true
		if strings.Contains(r.String("phoneNumber"), "..") {
			ranged += RangeSize
		} else {
			users++
		}
	}
	if len(groups) != 3 || users != ranged || users+ranged != s.Users() || s.Users() < 1900 || s.Users() > 2000 {
		t.Errorf("%d groups, %d single and %d ranged users (%d in all)", len(groups), users, ranged, s.Users())
	}
}

// TestTestdataUpToDate compares the committed CSV twin with the
// generator's output; -update (go generate ./adapters/apio) rewrites
// testdata/apio after a change to the generator.
func TestTestdataUpToDate(t *testing.T) {
	const committed = "../../testdata/apio"
	if *update {
		if err := WriteTestdata(committed, schemas.MustLoad("apio")); err != nil {
			t.Fatal(err)
		}
		return
	}
	dir := t.TempDir()
	if err := WriteTestdata(dir, schemas.MustLoad("apio")); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join("rollout-csv", "virtual_users.csv")
	want, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(committed, name))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("testdata/apio/%s is stale (%v): run go generate ./adapters/apio", name, err)
	}
}
