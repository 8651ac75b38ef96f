package adapters_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/schemas"
)

type named string

func (n named) Name() string        { return string(n) }
func (n named) Kinds() *schemas.Set { return nil }
func (n named) Open(context.Context, adapters.Target) (adapters.Conn, error) {
	return nil, nil
}

func complete(name string) adapters.Platform {
	return adapters.Platform{Adapter: named(name),
		Simulator: func(context.Context, simkit.Options, simkit.Seed) (simkit.Simulator, error) { return nil, nil },
		Sample:    func(int) ([]sampledata.Sheet, error) { return nil, nil }}
}

// Tests register the stub; users are never offered it.
func TestInternalPlatformIsNotOffered(t *testing.T) {
	r := adapters.NewRegistry(complete("sipx"), complete("mxone"), adapters.Platform{Adapter: stub.New(), Internal: true})
	if got := r.Names(); !slices.Equal(got, []string{"mxone", "sipx"}) {
		t.Errorf("Names = %v, want mxone, sipx", got)
	}
	if a, err := r.Get("stub"); err != nil || a.Name() != "stub" {
		t.Errorf("Get(stub) = %v, %v: tests must still reach it", a, err)
	}
	_, err := r.Get("sipz")
	if err == nil || !strings.Contains(err.Error(), `unknown adapter "sipz": did you mean sipx? (known: mxone, sipx)`) {
		t.Errorf("err = %v", err)
	}
	if _, err := r.Get("verba"); err == nil || strings.Contains(err.Error(), "stub") {
		t.Errorf("err = %v: it must not offer the stub", err)
	}
}

func TestRegisterRefusesWiringMistakes(t *testing.T) {
	for name, p := range map[string][]adapters.Platform{
		"duplicate":          {complete("mxone"), complete("mxone")},
		"no adapter":         {{}},
		"no simulator":       {{Adapter: named("verba"), Sample: complete("x").Sample}},
		"no sample":          {{Adapter: named("verba"), Simulator: complete("x").Simulator}},
		"duplicate internal": {complete("stub"), {Adapter: named("stub"), Internal: true}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("registered without a panic")
				}
			}()
			adapters.NewRegistry(p...)
		})
	}
}

func TestOptionCheck(t *testing.T) {
	for _, tc := range []struct {
		typ        adapters.OptionType
		in, want   string
		wantErrMsg string
	}{
		{adapters.OptionBool, "true", "true", ""},
		{adapters.OptionBool, "false", "false", ""},
		{adapters.OptionBool, "1", "", "true or false"},
		{adapters.OptionInt, "007", "7", ""},
		{adapters.OptionInt, "7.5", "", "whole number"},
		{adapters.OptionDuration, "90s", "1m30s", ""},
		{adapters.OptionDuration, "-1s", "", "duration"},
		{adapters.OptionString, " as written ", " as written ", ""},
	} {
		got, err := adapters.Option{Name: "x", Type: tc.typ}.Check(tc.in)
		if got != tc.want || (err == nil) != (tc.wantErrMsg == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErrMsg)) {
			t.Errorf("%s %q: %q, %v", tc.typ, tc.in, got, err)
		}
	}
}
