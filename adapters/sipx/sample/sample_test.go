package sample

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// TestSipxRolloutIsConsistent checks what the PBX would refuse: keys and the
// shared alias namespace (user names, aliases, hunt-group names and
// extensions, park-orbit extensions) unique, references to records of the
// rollout, and records valid for their schema.
func TestSipxRolloutIsConsistent(t *testing.T) {
	set := schemas.MustLoad("sipx")
	r := New(Default())
	keys := map[string]map[string]bool{}
	alias := map[string]string{}
	claim := func(name, owner string) {
		if name == "" {
			return
		}
		if prev, ok := alias[name]; ok {
			t.Errorf("alias %q used by %s and %s", name, prev, owner)
		}
		alias[name] = owner
	}
	models := map[string]bool{}
	for _, kind := range Kinds() {
		k := set.Kind(kind)
		keys[kind] = map[string]bool{}
		for i := range r.Len(kind) {
			rec := r.Record(kind, i)
			key := k.KeyOf(rec)
			if keys[kind][key] {
				t.Errorf("%s %q twice", kind, key)
			}
			keys[kind][key] = true
			var doc any = map[string]any(schemas.Record(schemas.Normalize(map[string]any(rec)).(map[string]any)))
			if err := k.Schema.Validate(doc); err != nil {
				t.Errorf("%s %q: %v", kind, key, err)
			}
			for _, ref := range k.Refs {
				vals := []string{rec.String(ref.Field)}
				if ref.Many {
					vals = nil
					v, _ := rec.Get(ref.Field)
					for _, x := range asList(v) {
						vals = append(vals, schemas.Text(x))
					}
				}
				for _, v := range vals {
					if !keys[ref.Kind][v] {
						t.Errorf("%s %q: %s %q is not in the rollout (or comes later)", kind, key, ref.Field, v)
					}
				}
			}
			switch kind {
			case "user":
				claim(rec.String("userName"), "user "+key)
				v, _ := rec.Get("aliases")
				for _, a := range asList(v) {
					claim(schemas.Text(a), "alias of "+key)
				}
			case "call_group":
				claim(rec.String("name"), "hunt group "+key)
				claim(rec.String("extension"), "hunt group "+key)
			case "park_orbit":
				claim(rec.String("extension"), "park orbit "+key)
			case "phone":
				models[rec.String("modelId")] = true
			}
		}
	}
	if r.Len("user") < 300 || len(models) < 4 || r.Len("line") <= r.Len("phone") || r.Len("call_group") == 0 || r.Len("park_orbit") == 0 {
		t.Fatalf("rollout too small: %d users, %d models, %d phones, %d lines", r.Len("user"), len(models), r.Len("phone"), r.Len("line"))
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

var update = flag.Bool("update", false, "rewrite testdata/sipx from the generator")

// TestTestdataUpToDate compares the committed CSV twin with the
// generator's output; -update (go generate ./adapters/sipx/sample) rewrites
// testdata/sipx after a change to the generator.
func TestTestdataUpToDate(t *testing.T) {
	const committed = "../../../testdata/sipx"
	if *update {
		if err := WriteTestdata(committed, schemas.MustLoad("sipx")); err != nil {
			t.Fatal(err)
		}
		return
	}
	dir := t.TempDir()
	if err := WriteTestdata(dir, schemas.MustLoad("sipx")); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"permissions", "users", "call_groups", "park_orbits", "phones", "lines"} {
		name := filepath.Join("rollout-csv", kind+".csv")
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("testdata/sipx/%s is stale (%v): run go generate ./adapters/sipx/sample", name, err)
		}
	}
}
