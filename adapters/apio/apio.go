// Package apio is the adapter for Netaxis APIO's "Group Virtual On Net
// Extensions" API (seed 004): virtual on-net users of BroadWorks groups,
// which make the users of another PBX dialable by extension from the group
// while a site migrates.
//
// Tenant and group are columns of the key (tenant, group, phoneNumber), not
// target options: a carrier rolls out many groups from one workbook, and
// one APIO target serves them all. The groups are a read-only catalogue
// kind that virtual users reference, so that plan blocks the rows of a
// group the target lacks. Quirks kept inside:
//
//   - Creates are batched (adapters.Batcher): ready creates of one tenant
//     and group go out as one POST, a virtualOnNetUsersRange when they are
//     one contiguous run sharing names and call type, else a
//     virtualOnNetUsers list, up to the batch_size option. The POST is
//     all-or-nothing; a refused one is resolved by the runner reading each
//     member back, never by sending the batch again.
//   - A 400 on create means "invalid" or "already exists": the adapter reads
//     the user back to tell Conflict from a refusal.
//   - PUT of a missing user is 400, not 404, and DELETE of one succeeds:
//     update and delete read the user first to answer NotFound.
//   - The list has no CLI names: List reads each user's details.
//   - Phone numbers are kept in E.164 form (+ and digits) and sent with
//     their "+" escaped (%2B) in paths.
package apio

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// The adapter's kinds: virtual users, and the groups they live in (a
// read-only catalogue that references are checked against at plan).
const (
	Kind      = "virtual_user"
	GroupKind = "group"
)

// Target options.
const (
	OptBatchSize = "batch_size"
	OptGroups    = "groups"
)

// DefaultBatchSize is how many creates share one POST by default.
const DefaultBatchSize = 100

// Adapter is the APIO platform.
type Adapter struct{ kinds *schemas.Set }

var (
	_ adapters.Adapter      = (*Adapter)(nil)
	_ adapters.Batcher      = (*conn)(nil)
	_ adapters.BatchGrouper = (*conn)(nil)
)

// New returns the adapter.
func New() *Adapter { return &Adapter{kinds: schemas.MustLoad("apio")} }

func (a *Adapter) Name() string        { return "apio" }
func (a *Adapter) Kinds() *schemas.Set { return a.kinds }

// options are the target options read.
type options struct {
	batchSize int
	groups    []scope // nil: every group of every tenant
}

// scope is one tenant and group.
type scope struct{ tenant, group string }

func (s scope) String() string { return s.tenant + "/" + s.group }

func parseOptions(t adapters.Target) (options, error) {
	o := options{batchSize: DefaultBatchSize}
	if v, ok := t.Options[OptBatchSize]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, fmt.Errorf("option %s is a whole number of at least 1 (1 sends every create alone), not %q", OptBatchSize, v)
		}
		o.batchSize = n
	}
	for _, p := range strings.FieldsFunc(t.Options[OptGroups], func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		tn, g, ok := strings.Cut(p, "/")
		if !ok || tn == "" || g == "" || strings.Contains(g, "/") {
			return o, fmt.Errorf("option %s lists tenant/group pairs (footenant/foogroup, acme/hq), not %q", OptGroups, p)
		}
		o.groups = append(o.groups, scope{tn, g})
	}
	return o, nil
}

// Open logs in to the target.
func (a *Adapter) Open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	u, err := url.Parse(strings.TrimRight(t.URL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, adapters.Errorf(adapters.Permanent, "target %s: URL %q is not an http(s) URL such as https://apio.example.com", t.Name, t.URL)
	}
	o, err := parseOptions(t)
	if err != nil {
		return nil, adapters.Errorf(adapters.Permanent, "target %s: %v", t.Name, err)
	}
	c := newConn(a, t, u.Scheme+"://"+u.Host+strings.TrimRight(u.Path, "/"), o)
	if err := c.login(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
