package templates_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/mxone"
	mxonesim "github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/adapters/sipx"
	sipxsim "github.com/pbxbatch/pbxbatch/adapters/sipx/sim"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// Each platform's example rows apply cleanly to an empty simulator (issue
// 16): the template as generated, validated as import reads it, every row
// created in dependency order without a conflict (the sipXcom examples
// once shared an extension and a name).
func TestExampleRowsApplyToAnEmptySimulator(t *testing.T) {
	sim := simkit.Options{Username: "admin", Password: "pw"}
	mx, err := mxonesim.New(mxonesim.Options{Options: sim})
	if err != nil {
		t.Fatal(err)
	}
	mxSrv, err := mx.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mxSrv.Close()
	sx := httptest.NewServer(sipxsim.New(sipxsim.Options{Options: sim}).Handler())
	defer sx.Close()
	for _, c := range []struct {
		adapter adapters.Adapter
		url     string
	}{{mxone.New(), mxSrv.URL}, {sipx.New(), sx.URL}} {
		name := c.adapter.Kinds().Adapter
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			conn, err := c.adapter.Open(ctx, adapters.Target{Name: "lab", URL: c.url, Username: "admin", Password: adapters.NewSecret("pw")})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			v, err := validate.New(c.adapter.Kinds(), validate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			applied := 0
			res, err := v.File(ctx, name+"-rollout-template.xlsx", func(r batch.Row) error {
				if _, err := conn.Apply(ctx, adapters.Change{Kind: r.Kind, Action: adapters.Create, Record: r.Set}); err != nil {
					t.Errorf("%s (%s): %v", r.Origin, r.Kind, err)
				}
				applied++
				return nil
			})
			if err != nil || !res.Valid() || applied == 0 {
				t.Fatalf("%d rows applied; err %v; %v", applied, err, res.Diags)
			}
		})
	}
}

// Names and numbers of the examples differ from kind to kind: on sipXcom
// user names, aliases, hunt groups and park orbits share one namespace of
// dialable names, so two examples with the same extension collide on a
// real PBX even where the simulator lets them pass.
func TestExampleNamesAreDistinct(t *testing.T) {
	for _, a := range []adapters.Adapter{mxone.New(), sipx.New()} {
		seen := map[string]string{}
		for _, k := range a.Kinds().Kinds {
			for _, f := range k.Fields {
				dialable := f.Text == "digits" || slices.Contains(k.Key, f.Path)
				if f.Ref != nil || !dialable || len(f.Examples) == 0 {
					continue
				}
				where := k.Name + "." + f.Path
				if other, dup := seen[f.Examples[0]]; dup {
					t.Errorf("%s: %s and %s have the same example %q", a.Kinds().Adapter, other, where, f.Examples[0])
				}
				seen[f.Examples[0]] = where
			}
		}
	}
}
