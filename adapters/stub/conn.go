package stub

import (
	"context"
	"sync"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/paced"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Compile-time checks of the optional capabilities.
var (
	_ adapters.Adapter   = (*Adapter)(nil)
	_ adapters.Locker    = (*Adapter)(nil)
	_ adapters.Batcher   = (*memConn)(nil)
	_ adapters.Finisher  = (*memConn)(nil)
	_ adapters.Transport = (*memConn)(nil)
	_ adapters.Batcher   = (*httpConn)(nil)
	_ adapters.Finisher  = (*httpConn)(nil)
	_ adapters.Transport = (*httpConn)(nil)
)

// Open returns a connection to the in-memory state, or, when t.URL is set, a
// client of a stub served by Handler at that URL. A password set with
// SetPassword must match t.Password.
func (a *Adapter) Open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	if t.URL != "" {
		return dialHTTP(ctx, t)
	}
	c := &memConn{a: a, password: t.Password.Reveal()}
	gen, err := a.login(t.Password.Reveal())
	if err != nil {
		return nil, err
	}
	c.gen = gen
	if t.Pacer != nil {
		return paced.Operations(c, t.Pacer), nil
	}
	return c, nil
}

// Locks serialises writes that touch one person: a phone is linked to its
// owner by writing the owner, so two phones of one person must not be
// written at once (as on MX-ONE). Every change also locks its own record.
func (a *Adapter) Locks(c adapters.Change) []string {
	k := a.kind(c.Kind)
	if k == nil {
		return nil
	}
	out := []string{k.Name + "/" + k.KeyOf(c.Record)}
	if k.Name == "phone" {
		if owner := c.Record.String("owner"); owner != "" {
			out = append(out, "person/"+owner)
		}
	}
	return out
}

// memConn is a connection to the in-memory state. It logs in again by
// itself when its session has expired, like a real client would.
type memConn struct {
	a        *Adapter
	password string
	mu       sync.Mutex
	gen      int
}

func (c *memConn) session() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.a.checkSession(c.gen)
	if err != errExpired {
		return err
	}
	c.gen, err = c.a.login(c.password)
	return err
}

func (c *memConn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	if err := c.session(); err != nil {
		return err
	}
	return c.a.list(ctx, kind, fn)
}

func (c *memConn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	if err := c.session(); err != nil {
		return nil, err
	}
	return c.a.get(ctx, kind, key)
}

func (c *memConn) Apply(ctx context.Context, ch adapters.Change) (adapters.Result, error) {
	if err := c.session(); err != nil {
		return adapters.Result{}, err
	}
	return c.a.apply(ctx, ch)
}

func (c *memConn) Close() error { return nil }
