package plan

import (
	"context"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// ReadLive reads the records keyed in want (kind → key → a record holding
// at least the key fields) the way the planner does: Gets or one List per
// kind, at most Reads.Concurrency at once. The result maps kind → key →
// record, nil for a record the target does not have.
func ReadLive(ctx context.Context, conn adapters.Conn, reads Reads, target string, want map[*schemas.Kind]map[string]schemas.Record) (map[string]map[string]schemas.Record, error) {
	return readState(ctx, conn, reads, target, want)
}

// ChangedFields lists the fields of a kind whose values differ between two
// states of one record, in column order, as CheckStale compares them:
// secrets and read-only fields are left out (never read back, or not ours).
func ChangedFields(k *schemas.Kind, was, now schemas.Record) []string {
	return changedFields(k, normalized(was), normalized(now))
}
