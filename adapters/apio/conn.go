package apio

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/apio/api"
	"github.com/pbxbatch/pbxbatch/internal/e164"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// scopeOf is the tenant and group of a record.
func scopeOf(r schemas.Record) scope { return scope{r.String("tenant"), r.String("group")} }

// record maps a user of scope s to the kind's fields; empty fields are
// left out, as the platform omits them.
func record(s scope, u api.User) schemas.Record {
	r := schemas.Record{"tenant": s.tenant, "group": s.group, "phoneNumber": number(u.PhoneNumber)}
	for f, v := range map[string]string{"extension": u.Extension, "firstName": u.FirstName, "lastName": u.LastName,
		"cliFirstName": u.CLIFirstName, "cliLastName": u.CLILastName, "callType": u.CallType} {
		if v != "" {
			r[f] = v
		}
	}
	return r
}

// number is a phone number as the platform returned it, in E.164 form when
// it has one: a number created without its "+" (by another tool, or a range
// as the document writes it) is the same user under its E.164 name.
func number(s string) string {
	if n, err := e164.Normalize(s); err == nil {
		return n
	}
	return s
}

// user maps a record to the wire.
func user(r schemas.Record) api.User {
	return api.User{PhoneNumber: r.String("phoneNumber"), Extension: r.String("extension"),
		FirstName: r.String("firstName"), LastName: r.String("lastName"),
		CLIFirstName: r.String("cliFirstName"), CLILastName: r.String("cliLastName"), CallType: r.String("callType")}
}

func (c *conn) checkKind(kind string) error {
	if kind != Kind && kind != GroupKind {
		return adapters.Errorf(adapters.Permanent, "apio has no kind %q (it has %s and %s)", kind, Kind, GroupKind)
	}
	return nil
}

// scopes are the groups List walks: the groups option, else every group
// of every tenant the login sees.
func (c *conn) scopes(ctx context.Context) ([]scope, error) {
	if c.opts.groups != nil {
		return c.opts.groups, nil
	}
	var ts api.Tenants
	if err := c.read(ctx, api.TenantsPath, nil, &ts); err != nil {
		return nil, fmt.Errorf("listing tenants (or name the groups in the target's %s option): %w", OptGroups, err)
	}
	var out []scope
	for _, t := range ts.Tenants {
		var gs api.Groups
		if err := c.read(ctx, api.GroupsPath(t.TenantID), nil, &gs); err != nil {
			return nil, fmt.Errorf("listing the groups of tenant %s: %w", t.TenantID, err)
		}
		for _, g := range gs.Groups {
			out = append(out, scope{t.TenantID, g.GroupID})
		}
	}
	return out, nil
}

// List streams the virtual users of every group. The list view has no CLI
// names, so each user's details are read too, conc at a time, in order.
func (c *conn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	if err := c.checkKind(kind); err != nil {
		return err
	}
	scopes, err := c.scopes(ctx)
	if err != nil {
		return err
	}
	if kind == GroupKind {
		for _, s := range scopes {
			if err := fn(schemas.Record{"tenant": s.tenant, "group": s.group}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, s := range scopes {
		var list api.Users
		if err := c.read(ctx, api.UsersPath(s.tenant, s.group), struct{}{}, &list); err != nil {
			return fmt.Errorf("listing the virtual users of %s: %w", s, err)
		}
		const chunk = 64
		for start := 0; start < len(list.Users); start += chunk {
			part := list.Users[start:min(start+chunk, len(list.Users))]
			recs := make([]schemas.Record, len(part))
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(c.conc)
			for i, u := range part {
				g.Go(func() error {
					r, err := c.get(gctx, s, u.PhoneNumber)
					if adapters.IsNotFound(err) {
						return nil // deleted since the list: not there
					}
					recs[i] = r
					return err
				})
			}
			if err := g.Wait(); err != nil {
				return err
			}
			for _, r := range recs {
				if r == nil {
					continue
				}
				if err := fn(r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Get reads one virtual user.
func (c *conn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	if err := c.checkKind(kind); err != nil {
		return nil, err
	}
	s := scopeOf(key)
	if kind == GroupKind {
		// The group's users list answers 404 when the tenant or group does
		// not exist; one user is enough to know.
		var list api.Users
		if err := c.read(ctx, api.UsersPath(s.tenant, s.group), map[string]int{"responseSizeLimit": 1}, &list); err != nil {
			return nil, err
		}
		return schemas.Record{"tenant": s.tenant, "group": s.group}, nil
	}
	return c.get(ctx, s, key.String("phoneNumber"))
}

// get reads a user by the phone number as the platform knows it. The
// single GET answers without the phone number: the path names it.
func (c *conn) get(ctx context.Context, s scope, phone string) (schemas.Record, error) {
	var u api.User
	if err := c.read(ctx, api.UserPath(s.tenant, s.group, phone), nil, &u); err != nil {
		return nil, err
	}
	u.PhoneNumber = phone
	return record(s, u), nil
}

// Apply performs one create, update or delete.
func (c *conn) Apply(ctx context.Context, ch adapters.Change) (adapters.Result, error) {
	if err := c.checkKind(ch.Kind); err != nil {
		return adapters.Result{}, err
	}
	if ch.Kind == GroupKind {
		return adapters.Result{}, adapters.Errorf(adapters.Permanent, "apio groups are read-only here: create them with APIO's group pages")
	}
	s, phone := scopeOf(ch.Record), ch.Record.String("phoneNumber")
	switch ch.Action {
	case adapters.Create:
		if err := c.create(ctx, s, api.Create{Users: []api.User{user(ch.Record)}}); err != nil {
			return adapters.Result{}, c.createError(ctx, s, phone, err)
		}
	case adapters.Update:
		u := user(ch.Record)
		body := api.Update{Extension: u.Extension, FirstName: u.FirstName, LastName: u.LastName,
			CLIFirstName: u.CLIFirstName, CLILastName: u.CLILastName, CallType: u.CallType}
		err := c.send(ctx, http.MethodPut, api.UserPath(s.tenant, s.group, phone), body, nil, httpclient.Idempotent)
		if adapters.ClassOf(err) == adapters.Permanent && c.missing(ctx, s, phone) {
			return adapters.Result{}, &adapters.Error{Class: adapters.NotFound, Status: http.StatusBadRequest,
				Message: fmt.Sprintf("virtual user %s is not in group %s", phone, s)}
		}
		if err != nil {
			return adapters.Result{}, err
		}
	case adapters.Delete:
		// DELETE of a missing user succeeds: read first to say NotFound.
		if _, err := c.get(ctx, s, phone); err != nil {
			return adapters.Result{}, err
		}
		if err := c.send(ctx, http.MethodDelete, api.UserPath(s.tenant, s.group, phone), nil, nil, httpclient.Idempotent); err != nil {
			return adapters.Result{}, err
		}
	default:
		return adapters.Result{}, adapters.Errorf(adapters.Permanent, "apio: unknown action %q", ch.Action)
	}
	return adapters.Result{ID: phone}, nil
}

// create sends one create POST.
func (c *conn) create(ctx context.Context, s scope, body api.Create) error {
	return c.send(ctx, http.MethodPost, api.UsersPath(s.tenant, s.group), body, nil, httpclient.Write)
}

// createError words a refused create: a 404 is a missing tenant or group;
// a 400 for a user that is there (read back) is a Conflict.
func (c *conn) createError(ctx context.Context, s scope, phone string, err error) error {
	var e *adapters.Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Class == adapters.NotFound:
		return &adapters.Error{Class: adapters.Permanent, Status: e.Status, Err: e, Message: fmt.Sprintf(
			"%s: tenant %s or group %s does not exist on the target; create the group first (APIO's group pages) or correct the tenant and group columns", e.Message, s.tenant, s.group)}
	case e.Class == adapters.Permanent && e.Status == http.StatusBadRequest && !c.missing(ctx, s, phone):
		return &adapters.Error{Class: adapters.Conflict, Status: e.Status, Err: e, Message: e.Message}
	}
	return err
}

// missing reports whether a read of the user says NotFound (any other
// outcome, the user may be there).
func (c *conn) missing(ctx context.Context, s scope, phone string) bool {
	_, err := c.get(ctx, s, phone)
	return adapters.IsNotFound(err)
}
