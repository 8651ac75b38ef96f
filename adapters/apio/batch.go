package apio

import (
	"context"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/apio/api"
)

// MaxBatch: creates are batched, up to the batch_size option.
func (c *conn) MaxBatch(kind string, a adapters.Action) int {
	if kind == Kind && a == adapters.Create {
		return c.opts.batchSize
	}
	return 0
}

// BatchGroup: one POST creates users of one tenant and group.
func (c *conn) BatchGroup(ch adapters.Change) string { return scopeOf(ch.Record).String() }

// ApplyBatch creates every change in one POST: a range when they are one
// contiguous run, else a list. APIO answers for the whole request (201 or
// 400, all or nothing), so a failure is the batch's: the runner reads each
// member back.
func (c *conn) ApplyBatch(ctx context.Context, cs []adapters.Change) ([]adapters.Result, []error, error) {
	if len(cs) == 0 {
		return nil, nil, nil
	}
	s := scopeOf(cs[0].Record)
	users := make([]api.User, len(cs))
	for i, ch := range cs {
		if ch.Kind != Kind || ch.Action != adapters.Create || scopeOf(ch.Record) != s {
			return nil, nil, adapters.Errorf(adapters.Permanent, "apio: a batch holds creates of virtual users of one group; got %s of %s in %s", ch.Action, ch.Kind, scopeOf(ch.Record))
		}
		users[i] = user(ch.Record)
	}
	body := api.Create{Users: users}
	if r, ok := asRange(users); ok {
		body = api.Create{Range: r}
	}
	if err := c.create(ctx, s, body); err != nil {
		if adapters.IsNotFound(err) {
			err = c.createError(ctx, s, "", err) // the group is missing: say so
		}
		return nil, nil, err
	}
	res := make([]adapters.Result, len(cs))
	for i, u := range users {
		res[i] = adapters.Result{ID: u.PhoneNumber}
	}
	return res, make([]error, len(cs)), nil
}

// asRange returns the users as one range create when there are at least two,
// they share names and call type, and their phone numbers and extensions
// (of one width) both count up by one, in order.
func asRange(us []api.User) (*api.Range, bool) {
	if len(us) < 2 {
		return nil, false
	}
	first := us[0]
	shared := func(u api.User) api.User {
		return api.User{FirstName: u.FirstName, LastName: u.LastName, CLIFirstName: u.CLIFirstName, CLILastName: u.CLILastName, CallType: u.CallType}
	}
	phones := make([]string, len(us))
	exts := make([]string, len(us))
	for i, u := range us {
		if shared(u) != shared(first) {
			return nil, false
		}
		phones[i], exts[i] = u.PhoneNumber, u.Extension
	}
	if !counting(phones) || !counting(exts) {
		return nil, false
	}
	last := us[len(us)-1]
	return &api.Range{
		PhoneNumberRange: api.PhoneNumberRange{Min: first.PhoneNumber, Max: last.PhoneNumber},
		ExtensionRange:   api.ExtensionRange{Min: first.Extension, Max: last.Extension},
		FirstName:        first.FirstName, LastName: first.LastName,
		CLIFirstName: first.CLIFirstName, CLILastName: first.CLILastName, CallType: first.CallType,
	}, true
}

// counting reports whether vs are numbers of one width (after an optional
// common "+") that go up by one, as a range expands.
func counting(vs []string) bool {
	plus := strings.HasPrefix(vs[0], "+")
	width := len(vs[0])
	prev := uint64(0)
	for i, v := range vs {
		if len(v) != width || strings.HasPrefix(v, "+") != plus {
			return false
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(v, "+"), 10, 64)
		if err != nil || (i > 0 && n != prev+1) {
			return false
		}
		prev = n
	}
	return true
}
