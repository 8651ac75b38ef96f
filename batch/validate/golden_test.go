package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sipxsample "github.com/pbxbatch/pbxbatch/adapters/sipx/sample"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/schemas"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/mxone/broken")

const sampleDir = "../../testdata/mxone"

func validateFile(t *testing.T, path string, opts Options) (*Result, int) {
	t.Helper()
	v, err := New(schemas.MustLoad("mxone"), opts)
	if err != nil {
		t.Fatal(err)
	}
	emitted := 0
	res, err := v.File(context.Background(), path, func(batch.Row) error { emitted++; return nil })
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return res, emitted
}

func TestSampleRolloutIsValid(t *testing.T) {
	cfg := sampledata.Default()
	for _, in := range []string{"rollout.xlsx", "rollout-csv"} {
		t.Run(in, func(t *testing.T) {
			res, emitted := validateFile(t, filepath.Join(sampleDir, in), Options{})
			if len(res.Diags) != 0 {
				t.Errorf("the sample rollout should be clean:\n%s", dump(res.Diags))
			}
			if res.Kinds["user"] != cfg.Users || res.Kinds["extension"] != cfg.Extensions || res.Kinds["location"] != cfg.Locations {
				t.Errorf("rows per kind %v, want %+v", res.Kinds, cfg)
			}
			if emitted != res.Rows {
				t.Errorf("emitted %d of %d valid rows", emitted, res.Rows)
			}
		})
	}
}

// The committed CSV twin is what the generator writes today (the xlsx
// files embed zip timestamps, so they are checked by validating them).
func TestSampleCSVIsUpToDate(t *testing.T) {
	sheets, err := sampledata.New(sampledata.Default()).Sheets(schemas.MustLoad("mxone"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := sampledata.WriteCSVDir(dir, sheets); err != nil {
		t.Fatal(err)
	}
	for _, s := range sheets {
		got, _ := os.ReadFile(filepath.Join(dir, s.FileName()))
		want, err := os.ReadFile(filepath.Join(sampleDir, "rollout-csv", s.FileName()))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output (%v); run go generate ./internal/sampledata", s.FileName(), err)
		}
	}
}

// Each broken workbook must produce exactly its golden diagnostics, and
// those must include the codes the case exists for (so -update cannot
// bless a validator that stopped noticing). A case that cannot be read to
// its end must fail with its error instead.
func TestBrokenGoldens(t *testing.T) {
	for _, adapter := range []string{"mxone", "sipx"} {
		cases := append(sampledata.Broken(), sampledata.Customer()...)
		if adapter == "sipx" {
			cases = sipxsample.Broken()
		}
		dir := filepath.Join("../../testdata", adapter, "broken")
		for _, c := range cases {
			t.Run(adapter+"/"+c.Name, func(t *testing.T) {
				checkGolden(t, adapter, dir, c)
			})
		}
	}
}

func checkGolden(t *testing.T, adapter, dir string, c sampledata.Case) {
	path := filepath.Join(dir, c.File())
	v, err := New(schemas.MustLoad(adapter), Options{Kind: c.Kind})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.File(context.Background(), path, nil)
	if c.Err != "" {
		if err == nil || !strings.Contains(err.Error(), c.Err) {
			t.Fatalf("err %v, want one saying %q", err, c.Err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for i := range res.Diags {
		res.Diags[i].File = filepath.Base(res.Diags[i].File)
	}
	got, err := json.MarshalIndent(orEmpty(res.Diags), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join(dir, c.Name+".golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./batch/validate -run TestBrokenGoldens -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("diagnostics differ from %s:\n got %s\nwant %s", golden, got, want)
	}
	for _, code := range c.Want {
		if !slices.ContainsFunc(res.Diags, func(d diag.Diagnostic) bool { return d.Code == code }) {
			t.Errorf("case %s must report %s; got:\n%s", c.Name, code, dump(res.Diags))
		}
	}
}

func orEmpty(l diag.List) diag.List {
	if l == nil {
		return diag.List{}
	}
	return l
}

// Secrets never appear in a message or value, whichever layer speaks: the
// reader (stray spaces), conversion, the schema or a damage guard.
func TestSecretsNeverShown(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"users.csv": "userId,firstName,lastName,newPassword\nanna,Anna,Berg, Sekret77 \n",
		"extensions.csv": "extensionNumber,subsystemName,extensionType,authenticationKey\n" +
			"1000,MX-STO,cordless,12ab99\n1001,MX-STO,cordless,4.6E+10\n1002,MX-STO,cordless,77331.0\n1003,MX-STO,virtual,5566\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := validateFile(t, dir, Options{})
	if !res.Diags.HasErrors() {
		t.Fatalf("want errors on the bad keys:\n%s", dump(res.Diags))
	}
	masked := 0
	for _, d := range res.Diags {
		text := d.Message + " " + d.Value
		for _, secret := range []string{"Sekret77", "12ab99", "4.6E+10", "77331", "5566"} {
			if strings.Contains(text, secret) {
				t.Errorf("secret %q shown: %s [value %q]", secret, d.Error(), d.Value)
			}
		}
		if d.Value == schemas.Mask {
			masked++
		}
	}
	if masked < 4 {
		t.Errorf("want the secret cells' values masked, got %d masked:\n%s", masked, dump(res.Diags))
	}
}

// A workbook really saved by LibreOffice (testdata/mxone/libreoffice:
// extensions.csv opened in Calc and saved as xlsx, committed as saved):
// its numbers are t="n" cells with LibreOffice's "General" format, and
// every one in a digits-as-text column is reported.
func TestLibreOfficeSaved(t *testing.T) {
	c := sampledata.Case{Name: "extensions", Ext: ".xlsx", Want: []string{"read.number_cell"}}
	checkGolden(t, "mxone", filepath.Join(sampleDir, "libreoffice"), c)
}

// A secret reaches the plan exactly as typed, spaces and all: trimming it
// would set another password than the one the operator typed.
func TestSecretsKeptAsTyped(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte("userId,firstName,lastName,newPassword\n anna ,Anna,Berg, Sekret77 \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := New(schemas.MustLoad("mxone"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []batch.Row
	res, err := v.File(context.Background(), dir, func(r batch.Row) error { got = append(got, r); return nil })
	if err != nil || len(got) != 1 {
		t.Fatalf("%d rows, %v", len(got), err)
	}
	if pw, id := got[0].Set.String("newPassword"), got[0].Set.String("userId"); pw != " Sekret77 " || id != "anna" {
		t.Errorf("password %q, user %q: want the password as typed and the id trimmed", pw, id)
	}
	if !slices.ContainsFunc(res.Diags, func(d diag.Diagnostic) bool { return d.Code == "read.secret_space" }) {
		t.Errorf("no warning about the secret's spaces:\n%s", dump(res.Diags))
	}
}
