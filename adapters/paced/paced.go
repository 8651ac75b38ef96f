// Package paced paces a connection whose target is not an HTTP API (an
// HTTP adapter is paced per request by internal/httpclient): each List, Get,
// Apply and batch of writes waits on the target's pacer once and tells it
// what the target answered.
package paced

import (
	"context"
	"errors"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Operations paces c: each List, Get and Apply, and each batch when c
// batches writes (adapters.Batcher), waits on p once and reports its
// outcome. The other capabilities of c stay visible through Unwrap.
func Operations(c adapters.Conn, p adapters.Pacer) adapters.Conn {
	pc := &pacedConn{Conn: c, p: p}
	if b := adapters.FeaturesOf(nil, c).Batcher; b != nil {
		return &pacedBatcher{pacedConn: pc, b: b}
	}
	return pc
}

type pacedConn struct {
	adapters.Conn
	p adapters.Pacer
}

// Unwrap lets adapters.FeaturesOf see what the paced connection can do.
func (c *pacedConn) Unwrap() adapters.Conn { return c.Conn }

// pacedBatcher is a paced connection that batches: one request, one wait.
type pacedBatcher struct {
	*pacedConn
	b adapters.Batcher
}

var (
	_ adapters.Unwrapper = (*pacedConn)(nil)
	_ adapters.Batcher   = (*pacedBatcher)(nil)
)

func (c *pacedBatcher) MaxBatch(kind string, a adapters.Action) int { return c.b.MaxBatch(kind, a) }

func (c *pacedBatcher) ApplyBatch(ctx context.Context, cs []adapters.Change) ([]adapters.Result, []error, error) {
	if err := c.p.Wait(ctx); err != nil {
		return nil, nil, err
	}
	res, errs, err := c.b.ApplyBatch(ctx, cs)
	c.p.Observe(observation(ctx, err))
	return res, errs, err
}

func (c *pacedConn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	if err := c.p.Wait(ctx); err != nil {
		return err
	}
	err := c.Conn.List(ctx, kind, fn)
	c.p.Observe(observation(ctx, err))
	return err
}

func (c *pacedConn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	if err := c.p.Wait(ctx); err != nil {
		return nil, err
	}
	r, err := c.Conn.Get(ctx, kind, key)
	c.p.Observe(observation(ctx, err))
	return r, err
}

func (c *pacedConn) Apply(ctx context.Context, ch adapters.Change) (adapters.Result, error) {
	if err := c.p.Wait(ctx); err != nil {
		return adapters.Result{}, err
	}
	res, err := c.Conn.Apply(ctx, ch)
	c.p.Observe(observation(ctx, err))
	return res, err
}

// observation reads what an operation met from its error: a transient
// failure without any status is no answer at all.
func observation(ctx context.Context, err error) adapters.Observation {
	switch {
	case err == nil:
		return adapters.Observation{}
	case ctx.Err() != nil:
		return adapters.Observation{Abandoned: true}
	}
	var status int
	if e := (*adapters.Error)(nil); errors.As(err, &e) {
		status = e.Status
	}
	switch adapters.ClassOf(err) {
	case adapters.Throttled:
		return adapters.Observation{Throttled: true, RetryAfter: adapters.RetryAfterOf(err)}
	case adapters.Retryable, adapters.Unknown:
		return adapters.Observation{Unreachable: status == 0}
	}
	return adapters.Observation{}
}
