package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command line in-process and returns stdout and the exit
// code main would use.
func runValidateCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil && !isSilent(err) {
		out.WriteString("pbxbatch: " + err.Error() + "\n")
	}
	return out.String(), exitCode(err)
}

func TestValidateSampleRolloutExitsZero(t *testing.T) {
	out, code := runValidateCLI(t, "validate", "--adapter", "mxone", "../../testdata/mxone/rollout.xlsx")
	if code != 0 || !strings.Contains(out, "0 errors, 0 warnings in 1,230 rows: valid") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestValidateTextGroupsBySheetAndFailsOnErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("users.csv", "userId,firstName,lastName,emailAddress,newPassword,mobileNumber\n"+
		"anna,Anna,Berg,anna@example,Secret12,46701234567\n"+
		"bo,Bo,,bo@example.com,,\n")
	write("locations.csv", "locationName\nStockholm\nStockholm\n")
	out, code := runValidateCLI(t, "validate", "--adapter", "mxone", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"locations.csv\n  A3      error    locationName:",
		"users.csv\n  D2      error    emailAddress:",
		"  F2      warning  mobileNumber:",
		"  C3      error    lastName:",
		"3 errors, 1 warning in 4 rows: NOT valid",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Secret12") {
		t.Errorf("a secret reached the output:\n%s", out)
	}

	out, code = runValidateCLI(t, "validate", "--adapter", "mxone", "--format", "json", filepath.Join(dir, "users.csv"))
	var diags []map[string]any
	if err := json.Unmarshal([]byte(out), &diags); err != nil || code != 1 {
		t.Fatalf("exit %d, json %v:\n%s", code, err, out)
	}
	first := diags[0]
	for _, k := range []string{"severity", "file", "row", "column", "field", "code", "message", "value"} {
		if _, ok := first[k]; !ok {
			t.Errorf("JSON diagnostic lacks %q: %v", k, first)
		}
	}
	if first["file"] != filepath.Join(dir, "users.csv") && !strings.HasSuffix(first["file"].(string), "users.csv") {
		t.Errorf("file = %v", first["file"])
	}
}

func TestValidateNeedsAKnownAdapter(t *testing.T) {
	out, code := runValidateCLI(t, "validate", "x.xlsx")
	if code != 1 || !strings.Contains(out, "--adapter") || !strings.Contains(out, "mxone") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestKindsListsDependencyOrder(t *testing.T) {
	out, code := runValidateCLI(t, "kinds", "mxone")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	loc, dep, user, ext := strings.Index(out, ". location"), strings.Index(out, ". department"), strings.Index(out, ". user"), strings.Index(out, ". extension")
	if !(loc >= 0 && loc < dep && dep < user && user < ext) {
		t.Errorf("kinds not in dependency order:\n%s", out)
	}
	if !strings.Contains(out, "owner → user") || !strings.Contains(out, "extensionNumber + subsystemName") || !strings.Contains(out, "secrets:    newPassword") {
		t.Errorf("missing key, reference or secret:\n%s", out)
	}
	out, _ = runValidateCLI(t, "kinds", "mxone", "--format", "json")
	var infos []kindInfo
	if err := json.Unmarshal([]byte(out), &infos); err != nil || len(infos) == 0 || infos[0].Kind != "location" {
		t.Errorf("json: %v %v", err, infos)
	}
}
