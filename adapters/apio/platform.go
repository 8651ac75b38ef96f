package apio

import (
	"context"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/apio/sim"
	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// Platform registers Netaxis APIO: the adapter, its target options, its
// simulator (seeded directly into its state; the groups a seed names are
// created) and its sample rollouts.
func Platform() adapters.Platform {
	return adapters.Platform{
		Adapter: New(),
		Options: []adapters.Option{
			{Name: OptBatchSize, Type: adapters.OptionInt,
				Doc: "virtual users created by one POST (a list, or a range when they are contiguous and share names); default 100, 1 sends each alone"},
			{Name: OptGroups, Type: adapters.OptionString,
				Doc: "tenant/group pairs that export and plan list (footenant/foogroup,acme/hq); default every group of every tenant the login may list"},
		},
		Simulator: func(_ context.Context, o simkit.Options, seed simkit.Seed) (simkit.Simulator, error) {
			s, err := sim.New(o, seed)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		Sample: func(users int) ([]sampledata.Sheet, error) {
			return NewSample(users).Sheets(New().Kinds())
		},
	}
}
