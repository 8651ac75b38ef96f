package config

import (
	"context"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// fakeAdapter is a platform name and nothing else: config only looks at
// the registry's declarations.
type fakeAdapter string

func (a fakeAdapter) Name() string        { return string(a) }
func (a fakeAdapter) Kinds() *schemas.Set { return nil }
func (a fakeAdapter) Open(context.Context, adapters.Target) (adapters.Conn, error) {
	return nil, nil
}

func fakePlatform(name string, opts ...adapters.Option) adapters.Platform {
	return adapters.Platform{Adapter: fakeAdapter(name), Options: opts,
		Simulator: func(context.Context, simkit.Options, simkit.Seed) (simkit.Simulator, error) { return nil, nil },
		Sample:    func(int) ([]sampledata.Sheet, error) { return nil, nil }}
}

func testPlatforms() *adapters.Registry {
	return adapters.NewRegistry(
		fakePlatform("mxone", adapters.Option{Name: "a", Type: adapters.OptionString, Doc: "a test option"}),
		fakePlatform("sipx",
			adapters.Option{Name: "generate_profiles", Type: adapters.OptionBool, Doc: "regenerate profiles"},
			adapters.Option{Name: "realm", Type: adapters.OptionString, Doc: "the realm"},
			adapters.Option{Name: "page_size", Type: adapters.OptionInt, Doc: "records per page"},
			adapters.Option{Name: "settle", Type: adapters.OptionDuration, Doc: "wait after writes"}),
	)
}

// Target options are the adapter's declared ones, of their types, and come
// back in canonical form; every mistake names its line, a typo gets the key
// it probably meant.
func TestTargetOptionsAreChecked(t *testing.T) {
	const head = "targets:\n  lab:\n    adapter: sipx\n    url: https://h\n    options:\n"
	for _, tc := range []struct {
		name, options string
		want          map[string]string
		err           []string
	}{
		{"typed and canonical", "      generate_profiles: true\n      realm: pbx.example.com\n      page_size: 0200\n      settle: 1500ms\n",
			map[string]string{"generate_profiles": "true", "realm": "pbx.example.com", "page_size": "200", "settle": "1.5s"}, nil},
		{"typo", "      generate_profile: true\n", nil,
			[]string{`pbxbatch.yaml:6: target lab: adapter sipx has no option "generate_profile"; did you mean generate_profiles?`}},
		{"unknown, no likely key", "      colour: red\n", nil,
			[]string{`pbxbatch.yaml:6: target lab: adapter sipx has no option "colour"; its options are generate_profiles (boolean): regenerate profiles; realm (string): the realm; page_size`}},
		{"wrong types, all reported", "      generate_profiles: yes\n      page_size: many\n      settle: soon\n", nil,
			[]string{`pbxbatch.yaml:6: target lab: option generate_profiles is true or false, not "yes"`,
				`pbxbatch.yaml:7: target lab: option page_size is a whole number, not "many"`,
				`pbxbatch.yaml:8: target lab: option settle is a duration such as 30s or 2m, not "soon"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, head+tc.options)
			tg, err := LoadTarget(path, "lab", testPlatforms(), nil)
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tc.want {
					if tg.Options[k] != v {
						t.Errorf("options[%s] = %q, want %q (all: %v)", k, tg.Options[k], v, tg.Options)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %v", tg.Options)
			}
			for _, want := range tc.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v\nwant it to contain %s", err, want)
				}
			}
		})
	}
}

// A target's adapter must be a registered platform; a typo gets a
// suggestion, and the message names the adapter: line.
func TestTargetAdapterMustBeRegistered(t *testing.T) {
	path := writeConfig(t, "targets:\n  lab:\n    url: https://h\n    adapter: mxon\n")
	_, err := LoadTarget(path, "lab", testPlatforms(), nil)
	if err == nil || !strings.Contains(err.Error(), `pbxbatch.yaml:4: target lab: unknown adapter "mxon": did you mean mxone?`) {
		t.Fatalf("err = %v", err)
	}
}
