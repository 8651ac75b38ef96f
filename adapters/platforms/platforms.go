// Package platforms lists the platforms pbxbatch ships: one line per
// platform. Everything that offers users a choice of platform (the CLI, the
// sample-data generator, the committed templates) takes it from here.
package platforms

import (
	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/apio"
	"github.com/pbxbatch/pbxbatch/adapters/mxone"
	"github.com/pbxbatch/pbxbatch/adapters/sipx"
)

// Registry returns a new registry of the shipped platforms.
func Registry() *adapters.Registry {
	return adapters.NewRegistry(
		mxone.Platform(),
		sipx.Platform(),
		apio.Platform(),
	)
}
