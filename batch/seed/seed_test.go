package seed

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/schemas"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A seed comes out in dependency order whatever order the files list,
// without the rows the workbook deletes, each record with its origin.
func TestReadOrdersAndLeavesOutDeletes(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"groups.csv": "groupName,site\nSales,HQ\n",
		"sites.csv":  "action,siteName\n,HQ\ndelete,Old\n",
	})
	got, err := Read(context.Background(), schemas.MustLoad("stub"), dir)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range got {
		kinds = append(kinds, r.Kind+":"+schemas.Text(r.Record[r.Kind+"Name"]))
	}
	if strings.Join(kinds, " ") != "site:HQ group:Sales" {
		t.Errorf("seed = %v, want the site before the group and no deleted site", kinds)
	}
	if !strings.Contains(got[0].Origin, "sites.csv") {
		t.Errorf("origin %q does not name the file", got[0].Origin)
	}
}

func TestReadRefusesBadAndEmptyWorkbooks(t *testing.T) {
	set := schemas.MustLoad("stub")
	bad := t.TempDir()
	write(t, bad, map[string]string{"groups.csv": "groupName\nSales\n"})
	_, err := Read(context.Background(), set, bad)
	if err == nil || !strings.Contains(err.Error(), "not a valid stub workbook") || !strings.Contains(err.Error(), "groups.csv:1 (site)") {
		t.Errorf("invalid: err = %v, want the cell to fix", err)
	}
	empty := t.TempDir()
	write(t, empty, map[string]string{"notes.txt": "nothing here"})
	if _, err := Read(context.Background(), set, empty); err == nil {
		t.Error("a workbook without records seeded nothing, silently")
	}
}
