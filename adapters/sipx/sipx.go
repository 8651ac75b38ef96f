// Package sipx is the adapter for sipXcom's sipXconfig SOAP API (the
// ConfigService of sipXcom 4.x and later): permissions, users, hunt groups
// ("call groups"), park orbits, phones and their lines.
//
// The platform's quirks stay in here:
//   - every Manage* request goes through Conn.call, which refuses to send one
//     whose search is not exactly one exact key (sipXconfig applies a manage
//     request without a search to every user or phone);
//   - no add returns an id, and a manage request that matches nothing
//     succeeds silently, so updates, deletes and line changes read the
//     record first and report NotFound themselves;
//   - custom permissions are named perm_<n> by the server and keyed by label
//     here; users list them by label;
//   - hunt groups cannot be changed and park orbits can be neither changed
//     nor removed one by one (Capabilities says so, so the plan blocks those
//     rows);
//   - PINs and SIP passwords are never read back.
package sipx

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/retry"
	"github.com/pbxbatch/pbxbatch/adapters/sipx/api"
	"github.com/pbxbatch/pbxbatch/internal/httpclient"
	"github.com/pbxbatch/pbxbatch/internal/soap"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Kind names.
const (
	KindPermission = "permission"
	KindUser       = "user"
	KindCallGroup  = "call_group"
	KindParkOrbit  = "park_orbit"
	KindPhone      = "phone"
	KindLine       = "line"
)

// Adapter is the sipx platform.
type Adapter struct{ kinds *schemas.Set }

var (
	_ adapters.Adapter      = (*Adapter)(nil)
	_ adapters.Capabilities = (*Adapter)(nil)
	_ adapters.Conn         = (*Conn)(nil)
	_ adapters.Capabilities = (*Conn)(nil)
)

// New returns the adapter.
func New() *Adapter { return &Adapter{kinds: schemas.MustLoad("sipx")} }

func (a *Adapter) Name() string        { return "sipx" }
func (a *Adapter) Kinds() *schemas.Set { return a.kinds }

// Supports says what the API cannot do.
func (a *Adapter) Supports(kind string, act adapters.Action) string {
	switch {
	case kind == KindCallGroup && act == adapters.Update:
		return "sipXconfig's API has no way to change a hunt group; delete the row's group (action delete) and add it again in a second run, or change it in the web UI"
	case kind == KindParkOrbit && act == adapters.Update:
		return "sipXconfig's API has no way to change a park orbit; change it in the web UI"
	case kind == KindParkOrbit && act == adapters.Delete:
		return "sipXconfig's API can remove park orbits only all at once; remove it in the web UI"
	case kind == KindLine && act == adapters.Update:
		return "a line has nothing to change; delete it and add the new one"
	}
	return ""
}

// Target options (pbxbatch.yaml, options:).
const (
	// OptGenerateProfiles ("true") regenerates a phone's configuration
	// (which also restarts it) after each change to the phone or its lines.
	// Off by default: a rollout usually sends profiles once at the end,
	// from the web UI.
	OptGenerateProfiles = "generate_profiles"
	// OptRealm is the authentication realm, needed to change PINs on a
	// sipXconfig without SystemService.
	OptRealm = "realm"
)

// Open connects to the sipXconfig at t.URL ("https://pbx:8443", with or
// without /sipxconfig/services) and checks the credentials with one cheap
// search.
func (a *Adapter) Open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	base := strings.TrimRight(t.URL, "/")
	if base == "" {
		return nil, adapters.Errorf(adapters.Permanent, "sipx: target %q has no URL", t.Name)
	}
	if !strings.HasSuffix(base, strings.TrimSuffix(api.Path, "/")) {
		base += strings.TrimSuffix(api.Path, "/")
	}
	hc := httpclient.New(t)
	c := &Conn{
		adapter:          a,
		username:         t.Username,
		realmOption:      t.Options[OptRealm],
		soap:             soap.NewClient(base, api.Namespace, api.Prefix, soap.Basic(t.Username, t.Password), hc),
		generateProfiles: t.Options[OptGenerateProfiles] == "true",
		reads:            retry.Options{Attempts: 8},
		closeIdle:        hc.Close,
	}
	// The credential check is sent once: Open as a whole is what callers
	// retry (retry.Open), and retrying here too would multiply the attempts.
	var out api.FindUserResponse
	if err := c.callOnce(ctx, api.UserService, "FindUser", api.FindUser{Search: &api.UserSearch{ByUserName: t.Username}}, &out, false); err != nil {
		hc.Close()
		return nil, err
	}
	return c, nil
}

// Conn is an open connection. sipXconfig keeps no session: credentials go
// with every request, so there is nothing to renew.
type Conn struct {
	adapter          *Adapter
	username         string
	realmOption      string
	soap             *soap.Client
	generateProfiles bool
	reads            retry.Options // how read requests are retried
	closeIdle        func()        // releases the connections of a client Open built

	permMu sync.Mutex
	perms  *permCatalog // nil until loaded; reset by permission writes

	realmMu sync.Mutex
	realmV  string
}

// realm returns the authentication realm PIN hashes are made with: from
// SystemService (upstream servers have it; the seed documentation does not),
// else the target's realm option.
func (c *Conn) realm(ctx context.Context) (string, error) {
	c.realmMu.Lock()
	defer c.realmMu.Unlock()
	if c.realmV != "" {
		return c.realmV, nil
	}
	var out api.SystemInfo
	err := c.call(ctx, api.SystemService, "SystemInfo", nil, &out, false)
	switch {
	case err == nil && out.Domain.Realm != "":
		c.realmV = out.Domain.Realm
	case c.realmOption != "":
		c.realmV = c.realmOption
	case err != nil && adapters.ClassOf(err) != adapters.Permanent:
		return "", err
	default:
		return "", permanent("cannot set a PIN: this sipXconfig does not report its authentication realm (no SystemService); set options: {realm: <realm>} on the target")
	}
	return c.realmV, nil
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (c *Conn) Close() error {
	c.closeIdle()
	return nil
}

// Supports is the adapter's.
func (c *Conn) Supports(kind string, act adapters.Action) string {
	return c.adapter.Supports(kind, act)
}

// call sends one request. It is the only way requests leave the adapter,
// and it refuses a Manage* request unless its search is exactly one exact
// key: without one, sipXconfig applies the request to every record of the
// service. write says whether the request changes state, for classifying
// failures after it was sent. Reads change nothing, so they are retried
// here, request by request; writes never are (the runner reads back first
// when their outcome is unknown).
func (c *Conn) call(ctx context.Context, svc, op string, in, out any, write bool) error {
	if write {
		return c.callOnce(ctx, svc, op, in, out, true)
	}
	return retry.Do(ctx, c.reads, svc+"."+op, func() error { return c.callOnce(ctx, svc, op, in, out, false) })
}

func (c *Conn) callOnce(ctx context.Context, svc, op string, in, out any, write bool) error {
	if strings.HasPrefix(op, "Manage") {
		m, ok := in.(api.Manage)
		if !ok {
			return adapters.Errorf(adapters.Permanent, "sipx: refusing to send %s built without a search (%T)", op, in)
		}
		if _, _, err := m.ExactKey(); err != nil {
			return &adapters.Error{Class: adapters.Permanent, Message: "sipx: " + err.Error(), Err: err}
		}
		if m.Service() != svc || m.Op() != op {
			return adapters.Errorf(adapters.Permanent, "sipx: %s sent as %s.%s", m.Op(), svc, op)
		}
	}
	if op == "ResetServices" {
		return adapters.Errorf(adapters.Permanent, "sipx: refusing to send ResetServices, which deletes whole kinds")
	}
	send := c.soap.Read
	if write {
		send = c.soap.Call
	}
	if err := send(ctx, svc, op, in, out); err != nil {
		return c.classify(svc+"."+op, err, write)
	}
	return nil
}

// manage sends a Manage* request (see call).
func (c *Conn) manage(ctx context.Context, m api.Manage) error {
	return c.call(ctx, m.Service(), m.Op(), m, nil, true)
}

// conflictExceptions are the faults that mean "the key is taken".
var conflictExceptions = map[string]string{
	"NameInUseException":                "the name or an alias is already used by a user, alias, hunt group or park orbit (sipXconfig keeps them in one namespace): pick another one",
	"ExtensionInUseException":           "the extension is already used by a user, alias, hunt group or park orbit: pick another one",
	"DuplicatePermissionLabelException": "a permission with this label already exists",
	"DuplicateSerialNumberException":    "a phone with this MAC address already exists",
}

// explained turns sipXconfig's message keys into words.
var explained = map[string]string{
	"ChangePintokenRequiredException": "renaming a user requires a new PIN in the same change",
	"InvalidSerialNumberException":    "the MAC address is invalid for this model: 12 lower-case hex digits",
	"NullPointerException":            "the server failed on the request (sipXconfig does this for a search by a group that does not exist)",
}

// classify adds sipXconfig's meaning to a failed call: faults by their
// exception, and the statuses that mean a wrong account or URL. Transport
// failures and other statuses come classified from internal/httpclient.
func (c *Conn) classify(what string, err error, write bool) error {
	var (
		fault *soap.Fault
		e     *adapters.Error
	)
	switch {
	case errors.As(err, &fault):
		class, msg := fault.Exception()
		short := class[strings.LastIndexByte(class, '.')+1:]
		text := fault.String
		if words := conflictExceptions[short]; words != "" {
			return &adapters.Error{Class: adapters.Conflict, Status: fault.HTTPStatus, Message: fmt.Sprintf("%s: %s (%s)", what, words, short), Err: fault}
		}
		if words := explained[short]; words != "" {
			text = fmt.Sprintf("%s (%s %s)", words, short, msg)
		}
		switch {
		case fault.IsClient():
			if strings.HasPrefix(msg, "No such operation") {
				text += ": this sipXconfig does not have the operation"
			}
			return &adapters.Error{Class: adapters.Permanent, Status: fault.HTTPStatus, Message: what + ": " + text, Err: fault}
		case fault.Code == soap.CodeUserException || class != "":
			return &adapters.Error{Class: adapters.Permanent, Status: fault.HTTPStatus, Message: what + ": " + text, Err: fault}
		case write:
			// A server failure that is not an application exception: the
			// change may or may not be in the database.
			return &adapters.Error{Class: adapters.Unknown, Status: fault.HTTPStatus, Message: what + ": " + text, Err: fault}
		default:
			return &adapters.Error{Class: adapters.Retryable, Status: fault.HTTPStatus, Message: what + ": " + text, Err: fault}
		}
	case errors.As(err, &e):
		switch e.Status {
		case http.StatusUnauthorized:
			e.Class, e.Message = adapters.Auth, fmt.Sprintf("%s: sipXconfig refused the credentials of %q (check the user name and password)", what, c.username)
		case http.StatusForbidden:
			// The whole API needs administrator rights: no call can succeed.
			e.Class, e.Message = adapters.Auth, fmt.Sprintf("%s: %q is not an administrator; the SOAP API needs administrator rights", what, c.username)
		case http.StatusNotFound:
			e.Class, e.Message = adapters.Permanent, what+": no sipXconfig SOAP service at this URL (HTTP 404); the target URL should be https://host[:8443]"
		}
		return e
	}
	return &adapters.Error{Class: adapters.Permanent, Message: what + ": " + err.Error(), Err: err}
}

func notFound(kind, key string) error {
	return adapters.Errorf(adapters.NotFound, "%s %q does not exist on the PBX", kind, key)
}

// randomPIN makes the PIN of a user created without one: 8 digits, never
// shown; the administrator resets it.
func randomPIN() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%08d", n.Int64()), nil
}
