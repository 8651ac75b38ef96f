package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMapListsAndExplainsProfiles(t *testing.T) {
	e := &cliEnv{t: t, dir: t.TempDir()}
	out := e.mustCLI(exitOK, "map", "--list")
	for _, p := range []string{"sipx-to-mxone", "mxone-to-sipx", "mxone-to-apio"} {
		if !strings.Contains(out, p) {
			t.Errorf("map --list does not list %s:\n%s", p, out)
		}
	}
	out = e.mustCLI(exitOK, "map", "--profile", "sipx-to-mxone", "--explain")
	for _, want := range []string{"one row per user", "call_group: MX-ONE hunt groups need MX-ONE group setup", "secret newPassword: generated"} {
		if !strings.Contains(out, want) {
			t.Errorf("--explain lacks %q:\n%s", want, out)
		}
	}
}

// TestMapFailsOnARowThatMapsToNothing maps a source whose call groups no
// profile rule takes (a user's profile without the shipped drop reason).
func TestMapFailsOnARowThatMapsToNothing(t *testing.T) {
	e := &cliEnv{t: t, dir: t.TempDir()}
	src := filepath.Join(e.dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"users.csv":       "userName,firstName,lastName\n2000,Anna,Berg\n",
		"call_groups.csv": "name,extension\nhunt,6001\n",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	profile := filepath.Join(e.dir, "mine.yaml")
	body := "source: sipx\ntarget: mxone\nkinds:\n  user:\n    - from: user\n      fields:\n        userId: \"{userName}\"\n        firstName: \"{firstName}\"\n        lastName: \"{lastName}\"\n"
	if err := os.WriteFile(profile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	mapped := filepath.Join(e.dir, "mapped.xlsx")
	out := e.mustCLI(exitError, "map", "--profile", profile, "-o", mapped, src)
	if !strings.Contains(out, "call_groups.csv:2") || !strings.Contains(out, "map.unmapped_row") {
		t.Errorf("the unmapped call group is not reported at its row:\n%s", out)
	}
	if _, err := os.Stat(mapped); err == nil {
		t.Error("the mapped workbook was written despite the error")
	}
	if err := os.WriteFile(profile, []byte(body+"drop:\n  call_group: not migrated\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = e.mustCLI(exitOK, "map", "--profile", profile, "-o", mapped, src)
	if !strings.Contains(out, "call_group.name: 1 value") || !strings.Contains(out, "not migrated") {
		t.Errorf("the dropped call group is not in the report:\n%s", out)
	}
}
