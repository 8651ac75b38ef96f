package mapping

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/internal/workbook"
)

// writeCSVs writes a source directory: one CSV per kind.
func writeCSVs(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name+".csv"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustParse(t *testing.T, text string) *Profile {
	t.Helper()
	p, err := Parse("test", "test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const usersCSV = "userName,firstName,lastName,emailAddress,groups,branchName\n" +
	"2000,Anna,Berg,anna@example.com,sales,HQ\n" +
	"2001,Björn,Lind,bjorn@example.com,,HQ\n"

// baseProfile maps sipX users to MX-ONE users and extensions, renaming
// users; extra is appended to it.
const baseProfile = `
source: sipx
target: mxone
params:
  sub: MX-T
kinds:
  user:
    - from: user
      fields:
        userId: "{userName}"
        firstName: "{firstName}"
        lastName: "{lastName}"
        departments: "{branchName}"
  extension:
    - from: user
      fields:
        extensionNumber: "{userName}"
        subsystemName: "{param.sub}"
        extensionType: virtual
        owner: "{userName}"
renames:
  user: "u{value}"
  department: "Site {value}"
drop:
  user.emailAddress: not wanted
`

func TestShippedProfilesLoadAndExplain(t *testing.T) {
	names := List()
	if len(names) < 2 {
		t.Fatalf("shipped profiles: %v", names)
	}
	for _, n := range names {
		p, err := Load(n)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := p.Explain(&b); err != nil || !strings.Contains(b.String(), "Dropped on purpose") {
			t.Errorf("%s: explain: %v\n%s", n, err, b.String())
		}
	}
}

func TestProfileErrorsNameFileAndLine(t *testing.T) {
	for _, c := range []struct{ name, profile, want string }{
		{"unknown section", "source: sipx\ntarget: mxone\nkinds: {}\nkindz: {}\n", "test.yaml:4: unknown section"},
		{"unknown target kind", "source: sipx\ntarget: mxone\nkinds:\n  person: []\n", "test.yaml:4: mxone has no importable kind \"person\""},
		{"unknown source field", "source: sipx\ntarget: mxone\nkinds:\n  location:\n    - from: user\n      fields:\n        locationName: \"{nope}\"\n", "test.yaml:7: user has no field \"nope\""},
		{"missing key", "source: sipx\ntarget: mxone\nkinds:\n  location:\n    - from: user\n      fields:\n        description: x\n", "test.yaml:5: this location rule does not set the key field locationName"},
		{"secret in a rule", "source: sipx\ntarget: mxone\nkinds:\n  user:\n    - from: user\n      fields:\n        userId: \"{userName}\"\n        newPassword: x\n", "test.yaml:8: user.newPassword is a secret"},
		{"bad regexp", "source: sipx\ntarget: mxone\nkinds:\n  location:\n    - from: user\n      fields:\n        locationName: {rewrite: \"{userName}\", match: \"(\"}\n", "test.yaml:7: match:"},
		{"drop without reason", "source: sipx\ntarget: mxone\nkinds: {}\ndrop:\n  user.groups: \"\"\n", "test.yaml:5: say why"},
		{"unknown param", "source: sipx\ntarget: mxone\nkinds:\n  location:\n    - rows:\n        - locationName: \"{param.x}\"\n", "test.yaml:6: no parameter \"x\""},
	} {
		_, err := Parse("test", "test.yaml", []byte(c.profile))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestRenamesFollowEveryReference(t *testing.T) {
	src := writeCSVs(t, map[string]string{"users": usersCSV})
	res, err := Map(context.Background(), mustParse(t, baseProfile), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Diags.HasErrors() {
		t.Fatal(res.Diags)
	}
	users, exts := res.Tables[0], res.Tables[1]
	if users.Kind.Name != "user" {
		users, exts = exts, users
	}
	if got := users.Rows[0].Values["userId"]; got != "u2000" {
		t.Errorf("userId %q, want the renamed u2000", got)
	}
	if got := users.Rows[0].Values["departments"]; got != "Site HQ" {
		t.Errorf("departments %q, want the renamed reference Site HQ", got)
	}
	if got := exts.Rows[1].Values["owner"]; got != "u2001" {
		t.Errorf("extension owner %q, want the renamed reference u2001", got)
	}
	if got := exts.Rows[1].Values["extensionNumber"]; got != "2001" {
		t.Errorf("extensionNumber %q: not a reference to a user, must not be renamed", got)
	}
	var dropped []string
	for _, d := range res.Report.Dropped {
		dropped = append(dropped, d.Kind+"."+d.Field+"="+d.Reason)
	}
	want := []string{"user.emailAddress=not wanted", "user.groups=" + reasonNoRule}
	if strings.Join(dropped, "|") != strings.Join(want, "|") {
		t.Errorf("dropped %v, want %v", dropped, want)
	}
}

func TestRowsThatMapToNothingAreErrorsUnlessFiltered(t *testing.T) {
	src := writeCSVs(t, map[string]string{"users": usersCSV, "park_orbits": "name,extension\npark-1,7001\n"})
	res, err := Map(context.Background(), mustParse(t, baseProfile), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diags) != 1 || res.Diags[0].Code != "map.unmapped_row" || res.Diags[0].Origin.String() != "park_orbits.csv:2" {
		t.Fatalf("diags %v, want one map.unmapped_row at park_orbits.csv:2", res.Diags)
	}
	filtered := strings.Replace(baseProfile, "  extension:\n    - from: user\n", "  extension:\n    - from: user\n      where: {userName: {not: \"2001\"}}\n", 1) +
		"  park_orbit: not migrated\n"
	res, err = Map(context.Background(), mustParse(t, filtered), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Diags.HasErrors() || len(res.Tables[1].Rows) != 1 {
		t.Fatalf("diags %v, %d extensions; want none and 1", res.Diags, len(res.Tables[1].Rows))
	}
}

func TestMappedValuesAreValidatedAtTheirSourceCell(t *testing.T) {
	src := writeCSVs(t, map[string]string{"users": usersCSV + "ab-c,Carl,Holm,carl@example.com,,HQ\n"})
	res, err := Map(context.Background(), mustParse(t, baseProfile), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "mapped.xlsx")
	if err := Write(context.Background(), res, PathsFor(out)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a mapped workbook with errors was written")
	}
	var at []string
	for _, d := range res.Diags {
		if d.Severity == "error" {
			at = append(at, d.Origin.String()+" "+d.Field)
		}
	}
	// "ab-c" is no extension number: the error is at the userName cell.
	if strings.Join(at, "|") != "users.csv:4:A extensionNumber" {
		t.Errorf("errors at %v, want users.csv:4:A extensionNumber; all: %v", at, res.Diags)
	}
	if !strings.Contains(res.Diags[0].Message, "mapped to mapped.xlsx extensions!A4") {
		t.Errorf("message does not name the mapped cell: %s", res.Diags[0].Message)
	}
}

func TestGeneratedSecretsAreDeliveredOnceAndOnlyInTheSecretsFile(t *testing.T) {
	src := writeCSVs(t, map[string]string{"users": usersCSV})
	p := mustParse(t, baseProfile+"secrets:\n  user.newPassword: {generate: {length: 20, chars: alnum}}\n")
	dir := t.TempDir()
	paths := PathsFor(filepath.Join(dir, "mapped.xlsx"))
	mapOnce := func() []Secret {
		res, err := Map(context.Background(), p, src, Options{Previous: paths.Secrets})
		if err != nil {
			t.Fatal(err)
		}
		if err := Write(context.Background(), res, paths); err != nil || res.Diags.HasErrors() {
			t.Fatal(err, res.Diags)
		}
		return res.Secrets
	}
	first := mapOnce()
	if len(first) != 2 || len(first[0].Value) != 20 || first[0].Value == first[1].Value {
		t.Fatalf("secrets %d, want 2 distinct of 20 characters", len(first))
	}
	st, err := os.Stat(paths.Secrets)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	for _, f := range []string{paths.Workbook, paths.ReportText, paths.ReportJSON} {
		if text := readAll(t, f); strings.Contains(text, first[0].Value) {
			t.Errorf("%s holds a generated secret", f)
		}
	}
	if text := readAll(t, paths.Secrets); !strings.Contains(text, first[0].Value) || !strings.Contains(text, "update") {
		t.Error("the secrets file lacks the secret or its update action")
	}
	if again := mapOnce(); again[0].Value != first[0].Value || again[1].Value != first[1].Value {
		t.Error("a second map invented new secrets instead of keeping the delivered ones")
	}
}

func TestSecretsFromASideFile(t *testing.T) {
	src := writeCSVs(t, map[string]string{"users": usersCSV})
	side := writeCSVs(t, map[string]string{"users": "userId,newPassword\nu2000,Side-Secret-1\n"})
	p := mustParse(t, baseProfile+"secrets:\n  user.newPassword: file\n")
	if _, err := Map(context.Background(), p, src, Options{}); err == nil || !strings.Contains(err.Error(), "--secrets") {
		t.Errorf("no side file: %v, want an error asking for --secrets", err)
	}
	res, err := Map(context.Background(), p, src, Options{SecretsIn: side})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Secrets) != 1 || res.Secrets[0].Value != "Side-Secret-1" || res.Secrets[0].Generated {
		t.Errorf("secrets %+v, want the side file's one for u2000", res.Secrets)
	}
	if len(res.Diags) != 1 || res.Diags[0].Code != "map.secret_missing" || strings.Contains(res.Diags[0].Message, "Side-Secret") {
		t.Errorf("diags %v, want one warning for u2001 (without the secret)", res.Diags)
	}
}

// readAll returns every cell of a workbook (or the text of another file).
func readAll(t *testing.T, path string) string {
	t.Helper()
	if filepath.Ext(path) != ".xlsx" {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	book, err := workbook.Open(path, workbook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	var b strings.Builder
	for _, tb := range book.Tables {
		it, err := tb.Rows()
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			b.WriteString(strings.Join(it.Row().Cells, ",") + "\n")
		}
		it.Close()
	}
	return b.String()
}

func TestAnExportOfAnotherPlatformIsRefused(t *testing.T) {
	src := writeCSVs(t, map[string]string{"users": usersCSV, "_metadata": "field,value\nadapter,mxone\n"})
	if _, err := Map(context.Background(), mustParse(t, baseProfile), src, Options{}); err == nil || !strings.Contains(err.Error(), "is an export of mxone") {
		t.Errorf("error %v, want the export's platform named", err)
	}
}

func TestDamageInTheSourceIsAnErrorAtItsCell(t *testing.T) {
	src := writeCSVs(t, map[string]string{"users": strings.Replace(usersCSV, "anna@example.com", "anna@", 1)})
	res, err := Map(context.Background(), mustParse(t, baseProfile), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diags) != 1 || res.Diags[0].Origin.String() != "users.csv:2:D" || !strings.Contains(res.Diags[0].Message, "in the source") {
		t.Errorf("diags %v, want one error at users.csv:2:D", res.Diags)
	}
}
