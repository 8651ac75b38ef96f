package pace

import (
	"context"
	"errors"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Operations paces a connection that is not HTTP: each List, Get and Apply
// waits on p once and reports its outcome (an HTTP adapter gets this per
// request from internal/httpclient instead).
func Operations(c adapters.Conn, p adapters.Pacer) adapters.Conn {
	return &pacedConn{Conn: c, p: p}
}

type pacedConn struct {
	adapters.Conn
	p adapters.Pacer
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
