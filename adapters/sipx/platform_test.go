package sipx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/sim"
	"github.com/pbxbatch/pbxbatch/batch/seed"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
	"github.com/pbxbatch/pbxbatch/internal/soap"
)

// TestSeedLoadsAndResetRestoresIt loads the sample rollout as a seed, then
// changes the PBX and resets it: the seed is back, nothing else.
func TestSeedLoadsAndResetRestoresIt(t *testing.T) {
	ctx := context.Background()
	records, err := seed.Read(ctx, New().Kinds(), "../../testdata/sipx/rollout-csv")
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(sim.Options{})
	if err := seedSim(ctx, s, records); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	check := func(when string) {
		snap := s.Snapshot()
		if len(snap.Users) != 321 || len(snap.Phones) != 300 || len(snap.CallGroups) != 12 || snap.User("9999") != nil {
			t.Fatalf("%s: %d users, %d phones, %d call groups", when, len(snap.Users), len(snap.Phones), len(snap.CallGroups))
		}
	}
	check("after seeding")
	c := soap.NewClient(srv.URL+api.Path, api.Namespace, api.Prefix, soap.Basic("superadmin", adapters.NewSecret("1234")), httpclient.New(adapters.Target{HTTPClient: srv.Client()}))
	in := api.AddUser{User: api.User{UserName: "9999", FirstName: api.Opt("F"), LastName: api.Opt("L")}, Pin: "1111"}
	if err := c.Call(ctx, api.UserService, "AddUser", in, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL+"/_sim/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	check("after reset")
	if _, err := seed.Read(ctx, New().Kinds(), "sipx.go"); err == nil || !strings.Contains(err.Error(), "seed sipx.go") {
		t.Errorf("bad seed: %v", err)
	}
}
