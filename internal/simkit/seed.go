package simkit

import (
	"net/http"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// Seed is a simulator's starting inventory in the import format: records
// with schema field paths and references by natural key, as `pbxbatch
// export` writes them, every record after the records it references.
// batch/seed reads one from a workbook, for every platform alike; a
// simulator only turns records into its state.
type Seed []SeedRecord

// SeedRecord is one record of a seed.
type SeedRecord struct {
	Kind   string
	Record schemas.Record
	// Origin says where the record came from ("Users!7"), for messages.
	Origin string
}

// Simulator is a platform's simulator with the switches of Options
// applied: what `pbxbatch sim` serves and the demo rehearses against.
type Simulator interface {
	http.Handler
	// Stats returns the counters GET /_sim/stats serves.
	Stats() StatsSnapshot
}
