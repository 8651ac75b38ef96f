package validate_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/mxone"
	mxonesim "github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/export"
	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// pbxbatch's own files are clean input (issue 15, item 9): an MX-ONE
// export, as xlsx (with its _metadata and catalogue sheets) and as CSV
// (with a BOM per file and manifest.json), read-only columns filled,
// validates without a single finding.
func TestExportIsCleanInput(t *testing.T) {
	r := sampledata.New(sampledata.Config{Locations: 2, Users: 20, Extensions: 24})
	seed := &mxonesim.Seed{}
	for _, kind := range sampledata.Kinds() {
		i := 0
		for rec := range r.Records(kind) {
			if kind == "user" && i%3 == 0 {
				rec.Set("securityProfile", "Helpdesk") // read-only: exported, never imported
			}
			seed.Add(kind, rec)
			i++
		}
	}
	sim, err := mxonesim.New(mxonesim.Options{Options: simkit.Options{Username: "admin", Password: "pw"}, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := mxone.New()
	conn, err := a.Open(context.Background(), adapters.Target{Name: "lab", URL: srv.URL, Username: "admin", Password: adapters.NewSecret("pw")})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dir := t.TempDir()
	for _, o := range []export.Options{
		{Format: export.XLSX, Out: filepath.Join(dir, "export.xlsx")},
		{Format: export.CSV, Out: filepath.Join(dir, "csv"), BOM: true},
	} {
		o.TmpDir = t.TempDir()
		if _, err := export.Run(context.Background(), conn, a.Kinds(), o); err != nil {
			t.Fatal(err)
		}
		v, err := validate.New(a.Kinds(), validate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		readOnly := 0
		res, err := v.File(context.Background(), o.Out, func(row batch.Row) error {
			if _, ok := row.ReadOnly.Get("securityProfile"); ok {
				readOnly++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Diags) != 0 || res.Rows == 0 {
			t.Errorf("%s: %d rows, findings on pbxbatch's own export:\n%v", o.Out, res.Rows, res.Diags)
		}
		if readOnly == 0 {
			t.Errorf("%s: the read-only securityProfile values did not reach the rows (the planner compares them)", o.Out)
		}
	}
}
