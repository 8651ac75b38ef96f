package adapters_test

import (
	"context"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
)

// logging is a decorator that knows nothing of batches or steps.
type logging struct{ adapters.Conn }

func (l logging) Unwrap() adapters.Conn { return l.Conn }

// opaque wraps without Unwrap: it hides what it wraps.
type opaque struct{ adapters.Conn }

func TestFeaturesAreFoundThroughDecorators(t *testing.T) {
	a := stub.New()
	conn, err := a.Open(context.Background(), adapters.Target{})
	if err != nil {
		t.Fatal(err)
	}
	f := adapters.FeaturesOf(a, logging{logging{conn}})
	if f.Batcher == nil || f.Finisher == nil || f.Locker == nil {
		t.Fatalf("features through two decorators: %+v, want batcher, finisher and the adapter's locker", f)
	}
	if f.HTTP {
		t.Error("the in-memory stub connection says HTTP; want false (pacing wraps its operations)")
	}
	if f.Batcher.MaxBatch("vuser", adapters.Create) < 2 || f.Batcher.MaxBatch("phone", adapters.Create) != 0 {
		t.Error("MaxBatch does not say which kinds batch")
	}
	if h := adapters.FeaturesOf(a, opaque{conn}); h.Batcher != nil || !h.HTTP || h.Locker == nil {
		t.Errorf("features of an opaque wrapper: %+v, want no batcher, HTTP by default, the adapter's locker", h)
	}
}
