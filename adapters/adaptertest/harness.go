package adaptertest

import (
	"context"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Retrying is the standard retry and read-back harness: it does what the
// runner does around a connection (retry transient failures; after a write
// whose outcome is unknown, read back before anything else, and finish a
// create that landed in part as an update), so that the suite can run
// against a simulator that injects faults. Open is retried too, as the
// commands do.
func Retrying(a adapters.Adapter) adapters.Adapter { return retrying{a} }

type retrying struct{ adapters.Adapter }

// maxTries bounds every retry loop of the harness.
const maxTries = 50

func (a retrying) Open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	var err error
	for range maxTries {
		var c adapters.Conn
		if c, err = a.Adapter.Open(ctx, t); err == nil {
			return retryingConn{Conn: c, kinds: a.Kinds()}, nil
		}
		if !transient(err) || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, err
}

type retryingConn struct {
	adapters.Conn
	kinds *schemas.Set
}

func transient(err error) bool {
	c := adapters.ClassOf(err)
	return c == adapters.Retryable || c == adapters.Throttled || c == adapters.Unknown
}

func (c retryingConn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	for try := 1; ; try++ {
		r, err := c.Conn.Get(ctx, kind, key)
		if !transient(err) || ctx.Err() != nil || try >= maxTries {
			return r, err
		}
	}
}

// List retries a listing as a whole, and hands records on only once one
// listing went through, so that none is seen twice.
func (c retryingConn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	for try := 1; ; try++ {
		var buf []schemas.Record
		err := c.Conn.List(ctx, kind, func(r schemas.Record) error { buf = append(buf, r); return nil })
		if transient(err) && ctx.Err() == nil && try < maxTries {
			continue
		}
		if err != nil {
			return err
		}
		for _, r := range buf {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func (c retryingConn) Apply(ctx context.Context, ch adapters.Change) (adapters.Result, error) {
	k := c.kinds.Kind(ch.Kind)
	maybeLanded := false
	for try := 1; ; try++ {
		res, err := c.Conn.Apply(ctx, ch)
		if err == nil || ctx.Err() != nil || try >= maxTries {
			return res, err
		}
		cl := adapters.ClassOf(err)
		switch {
		case cl == adapters.Throttled || cl == adapters.Retryable:
			continue
		case cl == adapters.Unknown:
			maybeLanded = true
			if ch.Action == adapters.Update {
				continue
			}
		case cl == adapters.Conflict && ch.Action == adapters.Create && maybeLanded:
		case cl == adapters.NotFound && ch.Action == adapters.Delete && maybeLanded:
			return res, nil
		default:
			return res, err
		}
		got, gerr := c.Get(ctx, ch.Kind, k.KeyRecord(ch.Record))
		switch {
		case ch.Action == adapters.Delete && adapters.IsNotFound(gerr):
			return res, nil
		case ch.Action == adapters.Create && gerr == nil:
			if same, _ := k.Matches(ch.Record, got); same {
				return res, nil
			}
			ch = adapters.Change{Kind: ch.Kind, Action: adapters.Update, Record: ch.Record, Before: got}
		}
	}
}
