package mxone

import (
	"context"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// Platform registers MX-ONE: the adapter, its simulator (seeded directly
// into its state: a 100,000-user inventory loads in seconds) and its sample
// rollouts. It takes no target options.
func Platform() adapters.Platform {
	return adapters.Platform{
		Adapter: New(),
		Simulator: func(_ context.Context, o simkit.Options, seed simkit.Seed) (simkit.Simulator, error) {
			s, err := sim.New(sim.Options{Options: o, Seed: sim.NewSeed(seed)})
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		Sample: func(users int) ([]sampledata.Sheet, error) {
			return sampledata.New(sampledata.Users(users)).Sheets(New().Kinds())
		},
	}
}
