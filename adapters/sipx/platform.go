package sipx

import (
	"context"
	"net/http"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/sample"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/sim"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// Platform registers sipXcom: the adapter, its target options, its
// simulator (seeded through this adapter, so that a seed obeys every rule
// of the API) and its sample rollouts.
func Platform() adapters.Platform {
	return adapters.Platform{
		Adapter: New(),
		Options: []adapters.Option{
			{Name: OptGenerateProfiles, Type: adapters.OptionBool,
				Doc: "regenerate a phone's configuration (which restarts it) after each change to the phone or its lines; default false"},
			{Name: OptRealm, Type: adapters.OptionString,
				Doc: "the authentication realm, needed to change PINs on a sipXconfig without SystemService"},
		},
		Simulator: func(ctx context.Context, o simkit.Options, seed simkit.Seed) (simkit.Simulator, error) {
			s := sim.New(sim.Options{Options: o})
			if err := seedSim(ctx, s, seed); err != nil {
				return nil, err
			}
			return s.Simulator(), nil
		},
		Sample: func(users int) ([]sampledata.Sheet, error) {
			// The sample's proportions: 300 phones for 320 users.
			return sample.New(sample.Config{Users: users, Phones: users * 15 / 16}).Sheets(New().Kinds())
		},
	}
}

// seedSim loads a seed into the simulator through this adapter, and keeps
// it for /_sim/reset.
func seedSim(ctx context.Context, s *sim.Sim, seed simkit.Seed) error {
	if len(seed) == 0 {
		return nil
	}
	username, password := s.Credentials()
	return s.Load(ctx, func(ctx context.Context, h http.Handler) error {
		return adapters.SeedThrough(ctx, New(), h, username, password, seed)
	})
}
