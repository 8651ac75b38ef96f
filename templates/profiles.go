package templates

import "embed"

// Profiles holds the mapping profiles shipped with pbxbatch, one YAML file
// per source → target pair (profiles/sipx-to-mxone.yaml). A profile for a
// new pair of platforms is a new file here and nothing else: the mapping
// engine (batch/mapping) knows no platform.
//
//go:embed profiles/*.yaml
var Profiles embed.FS
