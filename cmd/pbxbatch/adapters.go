package main

import (
	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/platforms"
)

// registry is the platforms every command offers (adapters/platforms lists
// them); built per call, so there is no global state.
func registry() *adapters.Registry { return platforms.Registry() }
