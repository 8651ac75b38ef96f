package platforms

import (
	"bytes"
	"context"
	"flag"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch/seed"
	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
	"github.com/pbxbatch/pbxbatch/templates"
)

var update = flag.Bool("update", false, "rewrite the committed templates in templates/")

// Every shipped platform is complete: its sample rollout validates without
// a finding, seeds its simulator through the shared seed reader, and reads
// back through its adapter, record for record.
func TestEveryPlatformIsComplete(t *testing.T) {
	reg := Registry()
	if len(reg.Names()) < 2 {
		t.Fatalf("platforms: %v", reg.Names())
	}
	for _, name := range reg.Names() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			p, err := reg.Platform(name)
			if err != nil {
				t.Fatal(err)
			}
			sheets, err := p.Sample(20)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := sampledata.WriteCSVDir(dir, sheets); err != nil {
				t.Fatal(err)
			}
			v, err := validate.New(p.Adapter.Kinds(), validate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.File(ctx, dir, nil)
			if err != nil || len(res.Diags) != 0 || res.Rows == 0 {
				t.Fatalf("sample: %d rows, err %v, findings %v", res.Rows, err, res.Diags)
			}
			records, err := seed.Read(ctx, p.Adapter.Kinds(), dir)
			if err != nil {
				t.Fatal(err)
			}
			o := simkit.Options{Username: "admin", Password: "pw"}
			sim, err := p.Simulator(ctx, o, records)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(sim)
			defer srv.Close()
			conn, err := p.Adapter.Open(ctx, adapters.Target{Name: "sim", Adapter: name, URL: srv.URL,
				Username: o.Username, Password: adapters.NewSecret(o.Password), HTTPClient: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for _, sh := range sheets {
				want := len(sampledata.Collect(sh))
				got := 0
				if err := conn.List(ctx, sh.Kind, func(schemas.Record) error { got++; return nil }); err != nil {
					t.Fatal(err)
				}
				if got < want {
					t.Errorf("%s: the seeded simulator lists %d, the sample has %d", sh.Kind, got, want)
				}
			}
			if sim.Stats().TotalRequests() == 0 {
				t.Error("the simulator counted no requests")
			}
		})
	}
}

// The templates committed in templates/ match the schemas they come from,
// one per shipped platform (go generate ./templates rewrites them).
func TestCommittedTemplatesAreCurrent(t *testing.T) {
	const dir = "../../templates"
	reg := Registry()
	var want []string
	for _, name := range reg.Names() {
		a, _ := reg.Get(name)
		content, err := templates.Bytes(a.Kinds())
		if err != nil {
			t.Fatal(err)
		}
		file := name + "-rollout-template.xlsx"
		want = append(want, file)
		path := filepath.Join(dir, file)
		if *update {
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, content) {
			t.Errorf("templates/%s is stale or missing (%v); run: make templates (or go generate ./templates)", file, err)
		}
	}
	have, _ := filepath.Glob(filepath.Join(dir, "*-rollout-template.xlsx"))
	for _, p := range have {
		if !slices.Contains(want, filepath.Base(p)) {
			t.Errorf("templates/%s belongs to no shipped platform", filepath.Base(p))
		}
	}
}

// Simulators stay free of the engine and of their own adapter: they get
// their seed as records (batch/seed reads the workbook), so a simulator is
// a model of the platform, not a second client of it.
func TestSimulatorsDoNotImportTheEngine(t *testing.T) {
	const module = "github.com/pbxbatch/pbxbatch/"
	files, _ := filepath.Glob("../*/sim/*.go")
	if len(files) == 0 {
		t.Fatal("no simulator sources found")
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		platform := module + "adapters/" + filepath.Base(filepath.Dir(filepath.Dir(f)))
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, module+"batch") || path == platform {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
