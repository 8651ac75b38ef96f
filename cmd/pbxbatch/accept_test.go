package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
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

// An extension number PM would refuse (outside its subsystem's EX series,
// or a series number that lost its leading zeros) blocks its row at plan
// time, at its cell, by the series the target has; the rest of the plan
// goes on.
func TestPlanChecksExtensionNumbersAgainstTheSeries(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	dir := filepath.Join(e.dir, "site")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("locations.csv", "locationName\nStockholm\n")
	write("subsystems.csv", "subsystemName,subsystemType,location,numberSeries\nMX-STO,TelephonyServer,Stockholm,EX:0000-0999\n")
	e.mustCLI(exitOK, "apply", "--yes", "--progress", "none", "--target", "lab", dir)
	for _, f := range []string{"locations.csv", "subsystems.csv"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	write("extensions.csv", "extensionNumber,subsystemName,extensionType\n0041,MX-STO,virtual\n40,MX-STO,virtual\n1500,MX-STO,virtual\n")
	code, out, errs := e.cli("plan", "--target", "lab", dir)
	all := out + errs
	if code != exitError || !strings.Contains(all, "extensions.csv:3:A") || !strings.Contains(all, "type 0040") ||
		!strings.Contains(all, "extensions.csv:4:A") || !strings.Contains(all, "extension number 1500 is outside the EX number series of subsystem MX-STO (0000-0999)") {
		t.Fatalf("plan of extensions 40 and 1500 against a live EX:0000-0999: exit %d, want 1 naming both cells\n%s", code, tail(all))
	}
	if !strings.Contains(all, "1 to create") {
		t.Errorf("0041 is not planned alone:\n%s", tail(all))
	}
}

// Without --yes, apply changes a PBX only when someone said yes: on a
// terminal after seeing the plan, or "yes" on standard input; a script that
// forgot --yes changes nothing.
func TestApplyWithoutYesNeedsAnAnswer(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{})
	dir := filepath.Join(e.dir, "in")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "locations.csv"), []byte("locationName\nStockholm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string) (int, string) {
		var out, errb bytes.Buffer
		root := newRootCmd()
		root.SetArgs(append(slices.Clone(e.global), "apply", "--target", "lab", "--progress", "none", dir))
		root.SetIn(strings.NewReader(stdin))
		root.SetOut(&out)
		root.SetErr(&errb)
		return exitCode(root.ExecuteContext(context.Background())), out.String() + errb.String()
	}
	if code, out := run(""); code != exitError || !strings.Contains(out, "run again with --yes") {
		t.Fatalf("apply without --yes and nothing on stdin: exit %d, want 1 and the way forward\n%s", code, out)
	}
	if n := len(e.sim.Snapshot().Locations); n != 0 {
		t.Fatalf("%d locations created without an answer", n)
	}
	if code, out := run("yes\n"); code != exitOK {
		t.Fatalf("apply with \"yes\" on stdin: exit %d\n%s", code, out)
	}
	if n := len(e.sim.Snapshot().Locations); n != 1 {
		t.Errorf("%d locations after yes, want 1", n)
	}
}
