package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// seedStub fills a stub with an inventory that has every awkward value an
// export must carry unharmed.
func seedStub(t testing.TB) *stub.Adapter {
	t.Helper()
	a := stub.New()
	a.SetPageSize(7)
	a.Put("site", schemas.Record{"siteName": "Stockholm", "description": "HQ"})
	a.Put("site", schemas.Record{"siteName": "Göteborg"})
	a.Put("group", schemas.Record{"groupName": "Sales", "site": "Stockholm"})
	a.Put("group", schemas.Record{"groupName": "Sales EU", "site": "Stockholm", "parent": "Sales"})
	a.Put("person", schemas.Record{"userId": "jdoe", "name": map[string]any{"first": "Jane", "last": "Doe"},
		"email": "jdoe@example.com", "groups": []any{"Sales", "Sales EU"}, "pin": "9876"})
	a.Put("person", schemas.Record{"userId": "evil", "name": map[string]any{"first": "=HYPERLINK(\"http://x\",\"y\")", "last": "@SUM(A1)"}, "pin": "1234"})
	a.Put("person", schemas.Record{"userId": "åsa", "name": map[string]any{"first": "Åsa", "last": "Öberg"}})
	for i, n := range []string{"0042", "1001", "2001", "10", "099"} {
		a.Put("phone", schemas.Record{"number": n, "site": "Stockholm", "owner": "jdoe", "model": "desk", "lines": num(i + 1), "label": "+46701234567"})
	}
	a.Put("phone", schemas.Record{"number": "0042", "site": "Göteborg", "label": "-2+3"})
	return a
}

func num(i int) any { return schemas.Normalize(i) }

func open(t testing.TB, a *stub.Adapter) adapters.Conn {
	t.Helper()
	c, err := a.Open(context.Background(), adapters.Target{Name: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// shuffled lists records in a random order, like a platform that lists by
// internal id.
type shuffled struct {
	adapters.Conn
	seed uint64
}

func (s shuffled) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	var all []schemas.Record
	if err := s.Conn.List(ctx, kind, func(r schemas.Record) error { all = append(all, r); return nil }); err != nil {
		return err
	}
	rand.New(rand.NewPCG(s.seed, 0)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, r := range all {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

var when = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func run(t *testing.T, conn adapters.Conn, set *schemas.Set, o Options) *Manifest {
	t.Helper()
	o.Now, o.ToolVersion, o.Target, o.TargetURL = when, "test", "lab", "mem://stub"
	if o.TmpDir == "" {
		o.TmpDir = t.TempDir()
	}
	m, err := Run(context.Background(), conn, set, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func TestCSVExportIsDeterministic(t *testing.T) {
	a := seedStub(t)
	set := a.Kinds()
	d1, d2 := t.TempDir(), t.TempDir()
	m1 := run(t, shuffled{open(t, a), 1}, set, Options{Format: CSV, Out: d1})
	// Another listing order, and a sort budget so small that every row
	// spills to its own run: still the same bytes.
	m2 := run(t, shuffled{open(t, a), 2}, set, Options{Format: CSV, Out: d2, SortMemBytes: 1})
	f1, f2 := readDir(t, d1), readDir(t, d2)
	want := []string{"groups.csv", "manifest.json", "people.csv", "phones.csv", "sites.csv", "voicemails.csv", "vusers.csv"}
	if len(f1) != len(want) {
		t.Fatalf("files %v, want %v", keys(f1), want)
	}
	for _, name := range want {
		if _, ok := f1[name]; !ok {
			t.Errorf("missing %s", name)
		}
		if name != ManifestFile && !bytes.Equal(f1[name], f2[name]) {
			t.Errorf("%s differs between two exports of the same inventory:\n%s\n---\n%s", name, f1[name], f2[name])
		}
	}
	for i := range m1.Kinds {
		if m1.Kinds[i].SHA256 != m2.Kinds[i].SHA256 {
			t.Errorf("%s: hashes differ", m1.Kinds[i].Kind)
		}
	}
	// Kinds come in dependency order; rows in natural key order.
	var order []string
	for _, k := range m1.Kinds {
		order = append(order, k.Kind)
	}
	if strings.Join(order, ",") != "site,group,person,phone,voicemail,vuser" {
		t.Errorf("kind order %v", order)
	}
	phones := string(f1["phones.csv"])
	wantPhones := "number,site,owner,model,lines,label\n" +
		"0042,Göteborg,,,,'-2+3\n" +
		"0042,Stockholm,jdoe,desk,1,+46701234567\n" +
		"099,Stockholm,jdoe,desk,5,+46701234567\n" +
		"10,Stockholm,jdoe,desk,4,+46701234567\n" +
		"1001,Stockholm,jdoe,desk,2,+46701234567\n" +
		"2001,Stockholm,jdoe,desk,3,+46701234567\n"
	if phones != wantPhones {
		t.Errorf("phones.csv:\n%s\nwant:\n%s", phones, wantPhones)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCSVExportEscapesAndWithholdsSecrets(t *testing.T) {
	a := seedStub(t)
	dir := t.TempDir()
	m := run(t, open(t, a), a.Kinds(), Options{Format: CSV, Out: dir})
	people, _ := os.ReadFile(filepath.Join(dir, "people.csv"))
	got := string(people)
	for _, secret := range []string{"9876", "1234"} {
		if strings.Contains(got, secret) {
			t.Errorf("people.csv holds the PIN %s:\n%s", secret, got)
		}
	}
	for _, want := range []string{
		"userId,name.first,name.last,email,groups,pin\n",
		`evil,"'=HYPERLINK(""http://x"",""y"")",'@SUM(A1),,,` + "\n",
		"jdoe,Jane,Doe,jdoe@example.com,Sales;Sales EU,\n",
		"åsa,Åsa,Öberg,,,\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("people.csv lacks %q:\n%s", want, got)
		}
	}
	if k := m.Kind("person"); k == nil || strings.Join(k.Withheld, ",") != "pin" || k.Rows != 3 {
		t.Errorf("person metadata %+v", k)
	}
	if bytes.HasPrefix(people, []byte(workbook.BOM)) {
		t.Error("BOM written without --bom")
	}
}

func TestCSVManifestHashesVerify(t *testing.T) {
	a := seedStub(t)
	dir := t.TempDir()
	m := run(t, open(t, a), a.Kinds(), Options{Format: CSV, Out: dir, BOM: true})
	for _, k := range m.Kinds {
		b, _ := os.ReadFile(filepath.Join(dir, k.File))
		if !bytes.HasPrefix(b, []byte(workbook.BOM)) {
			t.Errorf("%s: no BOM with --bom", k.File)
		}
		sum := sha256.Sum256(bytes.TrimPrefix(b, []byte(workbook.BOM)))
		if hex.EncodeToString(sum[:]) != k.SHA256 {
			t.Errorf("%s: manifest hash is not the hash of the file", k.File)
		}
	}
	rm, err := Verify(dir)
	if err != nil {
		t.Fatalf("fresh export does not verify: %v", err)
	}
	if rm.Adapter != "stub" || rm.Target != "lab" || !rm.ExportedAt.Equal(when) || len(rm.Kinds) != 6 || rm.SchemaVersion != SchemaVersion(a.Kinds()) {
		t.Errorf("manifest read back: %+v", rm)
	}
	path := filepath.Join(dir, "phones.csv")
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("2001"), []byte("2002"), 1), 0o644)
	if _, err := Verify(dir); err == nil || !strings.Contains(err.Error(), "phones.csv") {
		t.Errorf("tampered export verifies: %v", err)
	}
}

func TestXLSXExport(t *testing.T) {
	a := seedStub(t)
	path := filepath.Join(t.TempDir(), "inventory.xlsx")
	m := run(t, shuffled{open(t, a), 3}, a.Kinds(), Options{Format: XLSX, Out: path})
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), ","); got != "sites,groups,people,phones,voicemails,vusers,_metadata" {
		t.Errorf("sheets %s", got)
	}
	rows, _ := f.GetRows("phones")
	if rows[1][0] != "0042" || rows[2][5] != "+46701234567" || rows[1][5] != "-2+3" {
		t.Errorf("phones rows %v", rows[:3])
	}
	for _, c := range []string{"A2", "F3", "F2"} {
		if typ, _ := f.GetCellType("phones", c); typ != excelize.CellTypeInlineString {
			t.Errorf("phones!%s type %v, want inline string (text)", c, typ)
		}
	}
	people, _ := f.GetRows("people")
	for _, r := range people {
		for _, v := range r {
			if v == "9876" || v == "1234" {
				t.Errorf("people sheet holds a PIN: %v", r)
			}
		}
	}
	if fm, _ := f.GetCellFormula("people", "B2"); fm != "" || people[1][1] != "=HYPERLINK(\"http://x\",\"y\")" {
		t.Errorf("people!B2 = %q formula %q", people[1][1], fm)
	}
	f.Close()

	rm, err := Verify(path)
	if err != nil {
		t.Fatalf("fresh export does not verify: %v", err)
	}
	for i, k := range rm.Kinds {
		if k.SHA256 != m.Kinds[i].SHA256 || k.Rows != m.Kinds[i].Rows || k.Sheets[0] != m.Kinds[i].Sheets[0] {
			t.Errorf("metadata read back %+v, written %+v", k, m.Kinds[i])
		}
	}
	// The same inventory exported as CSV has the same hashes.
	dir := t.TempDir()
	mc := run(t, open(t, a), a.Kinds(), Options{Format: CSV, Out: dir})
	for i := range mc.Kinds {
		if mc.Kinds[i].SHA256 != m.Kinds[i].SHA256 {
			t.Errorf("%s: xlsx and csv hashes differ", m.Kinds[i].Kind)
		}
	}

	f, _ = excelize.OpenFile(path)
	f.SetCellValue("phones", "C3", "mallory")
	f.Save()
	f.Close()
	if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "phones") {
		t.Errorf("tampered export verifies: %v", err)
	}

	// Tampered metadata is reported, never a panic: blank a kind's sheets.
	f, _ = excelize.OpenFile(path)
	meta, _ := f.GetRows("_metadata")
	for i, r := range meta {
		if len(r) > 1 && r[0] == "kind" && r[1] == "sheets" {
			cell, _ := excelize.CoordinatesToCellName(2, i+2)
			f.SetCellValue("_metadata", cell, "")
		}
	}
	f.Save()
	f.Close()
	if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "names no sheet") {
		t.Errorf("metadata without sheets: %v", err)
	}
}

// catalogue is a schema set with a read-only kind, like MX-ONE's access
// privileges.
var catalogue = fstest.MapFS{
	"t/line.json": {Data: []byte(`{"x-kind":"line","x-key":["id"],"type":"object","properties":{
		"id":{"type":"string","title":"Id","description":"Line id."},
		"privilege":{"type":"string","title":"Privilege","description":"Access privilege."}},
		"x-refs":{"privilege":"privilege"}}`)},
	"t/privilege.json": {Data: []byte(`{"x-kind":"privilege","x-readonly":true,"x-key":["name"],"type":"object","properties":{
		"name":{"type":"string","title":"Name","description":"Privilege name."},
		"level":{"type":"integer","title":"Level","description":"Level."}}}`)},
}

// memConn lists fixed records.
type memConn struct {
	adapters.Conn
	recs map[string][]schemas.Record
}

func (c memConn) List(_ context.Context, kind string, fn func(schemas.Record) error) error {
	for _, r := range c.recs[kind] {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func TestReadOnlyKindsOnTheirOwnSheets(t *testing.T) {
	set, err := schemas.LoadFS(catalogue, "t", "t")
	if err != nil {
		t.Fatal(err)
	}
	conn := memConn{recs: map[string][]schemas.Record{
		"privilege": {{"name": "basic", "level": num(1)}, {"name": "admin", "level": num(9)}},
		"line":      {{"id": "L1", "privilege": "admin"}},
	}}
	path := filepath.Join(t.TempDir(), "x.xlsx")
	m := run(t, conn, set, Options{Format: XLSX, Out: path})
	if len(m.Kinds) != 2 || m.Kinds[0].Kind != "line" || !m.Kinds[1].ReadOnly || m.Kinds[0].ReadOnly {
		t.Fatalf("kinds %+v: want line, then read-only privilege", m.Kinds)
	}
	f, _ := excelize.OpenFile(path)
	defer f.Close()
	props, _ := f.GetSheetProps("privileges")
	if props.TabColorRGB == nil {
		t.Error("read-only sheet not marked")
	}
	meta, _ := f.GetRows(workbook.MetadataSheet)
	var found bool
	for _, r := range meta {
		if len(r) > 4 && r[0] == "privilege" && strings.Contains(r[4], "read-only") {
			found = true
		}
	}
	if !found {
		t.Errorf("metadata does not mark privilege read-only: %v", meta)
	}
	// --kinds selects, by name or plural.
	m = run(t, conn, set, Options{Format: CSV, Out: t.TempDir(), Kinds: []string{"privileges"}})
	if len(m.Kinds) != 1 || m.Kinds[0].Kind != "privilege" || m.Kinds[0].Rows != 2 {
		t.Errorf("--kinds privileges: %+v", m.Kinds)
	}
	if _, err := Run(context.Background(), conn, set, Options{Format: CSV, Out: t.TempDir(), Kinds: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "line, privilege") {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestFailedExportLeavesNothing(t *testing.T) {
	a := seedStub(t)
	a.AddFault(stub.Fault{Op: "list", Kind: "phone", Class: adapters.Auth})
	dir := t.TempDir()
	_, err := Run(context.Background(), open(t, a), a.Kinds(), Options{Format: CSV, Out: dir, TmpDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "listing phones") {
		t.Fatalf("err = %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed export left %d files", len(ents))
	}
	path := filepath.Join(t.TempDir(), "x.xlsx")
	if _, err := Run(context.Background(), open(t, a), a.Kinds(), Options{Format: XLSX, Out: path, TmpDir: t.TempDir()}); err == nil {
		t.Fatal("no error")
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 0 {
		t.Errorf("failed export left %d files", len(ents))
	}
}
