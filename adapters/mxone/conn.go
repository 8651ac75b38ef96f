package mxone

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"sync"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Name is the adapter's registry name and schemas/ directory.
const Name = "mxone"

// Adapter is the MX-ONE Provisioning Manager platform.
type Adapter struct{}

// New returns the adapter; Platform registers it.
func New() *Adapter { return &Adapter{} }

var (
	_ adapters.Adapter      = (*Adapter)(nil)
	_ adapters.Conn         = (*Conn)(nil)
	_ adapters.Locker       = (*Conn)(nil)
	_ adapters.Capabilities = (*Conn)(nil)
	_ adapters.Locker       = (*Adapter)(nil)
	_ adapters.Capabilities = (*Adapter)(nil)
)

func (*Adapter) Name() string { return Name }

func (*Adapter) Kinds() *schemas.Set { return schemas.MustLoad(Name) }

// Open logs in to the target; a refused login is an *adapters.Error of class
// Auth.
func (a *Adapter) Open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	c, err := newClient(t)
	if err != nil {
		return nil, err
	}
	if err := c.login(ctx); err != nil {
		c.close()
		return nil, annotate(err, "connect to %s", redactURL(t.URL))
	}
	return newConn(c), nil
}

// Locks and Supports do not need a connection; the planner may ask the
// adapter itself.
func (*Adapter) Locks(c adapters.Change) []string { return locks(c) }

func (*Adapter) Supports(kind string, a adapters.Action) string { return supports(kind, a) }

// Conn is an open, authenticated connection to one PM instance. It is safe
// for concurrent use.
type Conn struct {
	c     *client
	kinds map[string]kindOps

	locations   *nameIndex
	departments *nameIndex
	subsystems  *nameIndex
	privileges  *nameIndex

	userMu sync.Mutex
	users  map[string]*userLock // userId -> lock serialising its link updates

	series seriesCache // number series per subsystem, for Check
}

type userLock struct {
	mu   sync.Mutex
	refs int
}

// kindOps is what the connection can do with one kind.
type kindOps interface {
	list(ctx context.Context, fn func(schemas.Record) error) error
	get(ctx context.Context, key schemas.Record) (schemas.Record, error)
	create(ctx context.Context, r schemas.Record) (adapters.Result, error)
	update(ctx context.Context, r, before schemas.Record) (adapters.Result, error)
	delete(ctx context.Context, r, before schemas.Record) (adapters.Result, error)
}

func newConn(c *client) *Conn {
	cn := &Conn{c: c, users: map[string]*userLock{}}
	cn.locations = newNameIndex("location", cn.loadLocationIDs)
	cn.departments = newNameIndex("department", cn.loadDepartmentIDs)
	cn.subsystems = newNameIndex("subsystem", cn.loadSubsystemIDs)
	cn.privileges = newNameIndex("access privilege", cn.loadPrivilegeIDs)
	cn.kinds = map[string]kindOps{
		"location":         locationOps{cn},
		"department":       departmentOps{cn},
		"subsystem":        subsystemOps{cn},
		"security_profile": profileOps{cn},
		"user":             userOps{cn},
		"extension":        extensionOps{cn},
		"access_privilege": catalogue{"access_privilege", cn.listPrivileges},
		"udf_definition":   catalogue{"udf_definition", cn.listUDFs},
		"number_series":    catalogue{"number_series", cn.listNumberSeries},
	}
	return cn
}

func (cn *Conn) ops(kind string) (kindOps, error) {
	k := schemas.MustLoad(Name).Kind(kind)
	if k == nil {
		return nil, adapters.Errorf(adapters.Permanent, "mxone has no kind %q (kinds: %s)", kind, kindNames())
	}
	return cn.kinds[k.Name], nil
}

func kindNames() string {
	var out []string
	for _, k := range schemas.MustLoad(Name).Kinds {
		out = append(out, k.Name)
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}

// List streams every record of a kind.
func (cn *Conn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	ops, err := cn.ops(kind)
	if err != nil {
		return err
	}
	return ops.list(ctx, fn)
}

// Get reads one record by natural key.
func (cn *Conn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	ops, err := cn.ops(kind)
	if err != nil {
		return nil, err
	}
	k := schemas.MustLoad(Name).Kind(kind)
	for _, f := range k.Key {
		if key.String(f) == "" {
			return nil, adapters.Errorf(adapters.Permanent, "read %s: the key field %s is empty", k.Name, f)
		}
	}
	r, err := ops.get(ctx, key)
	return r, annotate(err, "read %s %s", k.Name, k.KeyOf(key))
}

// Apply performs one write. It never retries: the runner does.
func (cn *Conn) Apply(ctx context.Context, ch adapters.Change) (adapters.Result, error) {
	ops, err := cn.ops(ch.Kind)
	if err != nil {
		return adapters.Result{}, err
	}
	k := schemas.MustLoad(Name).Kind(ch.Kind)
	if why := supports(k.Name, ch.Action); why != "" {
		return adapters.Result{}, adapters.Errorf(adapters.Permanent, "%s %s: %s", ch.Action, k.Name, why)
	}
	r := ch.Record
	if r == nil {
		r = ch.Before
	}
	if r == nil {
		return adapters.Result{}, adapters.Errorf(adapters.Permanent, "%s %s: the change carries no record", ch.Action, k.Name)
	}
	var res adapters.Result
	switch ch.Action {
	case adapters.Create:
		res, err = ops.create(ctx, r)
	case adapters.Update:
		res, err = ops.update(ctx, r, ch.Before)
	case adapters.Delete:
		res, err = ops.delete(ctx, r, ch.Before)
	default:
		return res, adapters.Errorf(adapters.Permanent, "unknown action %q", ch.Action)
	}
	return res, annotate(err, "%s %s %s", ch.Action, k.Name, k.KeyOf(r))
}

func (cn *Conn) Close() error {
	cn.c.close()
	return nil
}

func (cn *Conn) Locks(c adapters.Change) []string               { return locks(c) }
func (cn *Conn) Supports(kind string, a adapters.Action) string { return supports(kind, a) }

// locks names the users a change touches: an extension's owner (old and
// new) is updated to make the link, and a user's own update must not
// interleave with that.
func locks(c adapters.Change) []string {
	set := map[string]bool{}
	switch c.Kind {
	case "user", "users":
		for _, r := range []schemas.Record{c.Record, c.Before} {
			if id := r.String("userId"); id != "" {
				set["user/"+id] = true
			}
		}
	case "extension", "extensions":
		for _, r := range []schemas.Record{c.Record, c.Before} {
			if o := r.String("owner"); o != "" {
				set["user/"+o] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for l := range set {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// supports says which writes the platform cannot do.
func supports(kind string, a adapters.Action) string {
	k := schemas.MustLoad(Name).Kind(kind)
	if k == nil {
		return fmt.Sprintf("mxone has no kind %q", kind)
	}
	if k.ReadOnly && a != "" {
		return fmt.Sprintf("%s is a read-only catalogue of Provisioning Manager (exported for audits); it cannot be %sd", k.Name, a)
	}
	return ""
}

// lockUser serialises read-modify-write cycles on one user within this
// process (the runner's Locks do it across the run; this guards callers
// that do not use the runner).
func (cn *Conn) lockUser(userID string) func() {
	cn.userMu.Lock()
	l := cn.users[userID]
	if l == nil {
		l = &userLock{}
		cn.users[userID] = l
	}
	l.refs++
	cn.userMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		cn.userMu.Lock()
		if l.refs--; l.refs == 0 {
			delete(cn.users, userID)
		}
		cn.userMu.Unlock()
	}
}

// redactURL hides a password written into the URL's user info.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the target URL"
	}
	return u.Redacted()
}
