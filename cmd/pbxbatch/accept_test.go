package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// A workbook whose extension numbers were typed as numbers is refused by
// plan and apply as by validate; once the operator has checked it, --accept
// lets it through, the saved plan records the judgement, and applying that
// plan (which re-reads the input for its secrets) needs no second --accept.
func TestAcceptedNumberCellsPlanAndApply(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	sheets, err := sampledata.New(smallRollout).Sheets(schemas.MustLoad("mxone"))
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(e.dir, "typed.xlsx")
	if err := sampledata.WriteCustomerXLSX(in, sheets, []string{"extensionNumber"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"validate", "--adapter", "mxone", in}, {"plan", "--target", "lab", in}, {"apply", "--yes", "--target", "lab", in}} {
		code, out, errs := e.cli(cmd...)
		if code != exitError || !strings.Contains(out+errs, "read.number_cell") {
			t.Fatalf("%s of number cells: exit %d, want 1 naming read.number_cell\n%s", cmd[0], code, tail(out+errs))
		}
	}
	if n := e.sim.Stats().Creates; len(n) != 0 {
		t.Fatalf("refused workbook created %v", n)
	}
	planFile := filepath.Join(e.dir, "plan.json")
	e.mustCLI(exitChanges, "plan", "--target", "lab", "--accept", "read.number_cell", "--out", planFile, in)
	saved, err := os.ReadFile(planFile)
	if err != nil || !strings.Contains(string(saved), `"accept": [`) {
		t.Fatalf("the saved plan does not record what was accepted (%v)", err)
	}
	if code, _, errs := e.cli("apply", "--yes", "--accept", "read.number_cell", planFile); code != exitError || !strings.Contains(errs, "--accept goes with plan") {
		t.Errorf("apply --accept of a saved plan: exit %d\n%s", code, errs)
	}
	e.mustCLI(exitOK, "apply", "--yes", "--progress", "none", planFile)
	e.mustCLI(exitOK, "plan", "--target", "lab", "--accept", "read.number_cell", in)
}
