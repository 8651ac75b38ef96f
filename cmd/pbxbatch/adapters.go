package main

import (
	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/mxone"
	"github.com/pbxbatch/pbxbatch/adapters/sipx"
)

// registry builds the adapter registry explicitly (no init() side effects).
// Add an adapter with one line; a duplicate name panics at start-up.
func registry() *adapters.Registry {
	return adapters.NewRegistry(
		mxone.New(),
		sipx.New(),
	)
}
