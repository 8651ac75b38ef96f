// Package wait holds the one context-aware sleep of the tree: retry loops,
// the runner, the stub and the simulators all wait through it. It is a leaf
// package so that the simulator kit can use it without the pacer (which
// knows the adapter contract).
package wait

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx is done (then it returns ctx's error).
// It is the default wait of every retry loop; tests replace it with one
// that counts and skips.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
