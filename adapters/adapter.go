// Package adapters is the contract between the engine and a platform, and
// the registry of platforms. The engine (package batch and below) imports only
// this package; platform packages (adapters/mxone, adapters/sipx, …) import
// it, and adapters/platforms lists them for the commands.
//
// To add a platform (here Verba, registered as "verba"), touch only its
// folders (adapters/verba/, schemas/verba/, testdata/verba/), one line in
// adapters/platforms/platforms.go, one row in README.md, its generated
// template and its CLI tests:
//
//  1. Write the kinds' JSON Schemas in schemas/verba/ (see package schemas:
//     x-key, x-refs, x-secret). References are by natural key, never by id.
//     Domain rules (x-rule) and example values (examples) are annotations
//     there too: nothing under batch/ or templates/ names a platform.
//  2. Write a simulator in adapters/verba/sim that a client written from the
//     vendor's document alone would accept: same paths, envelopes, status
//     codes, pagination, auth flow and documented quirks, on internal/simkit
//     for latency, faults, rate limit, TLS and /_sim/stats. It must not
//     import the engine: a seed arrives as records (simkit.Seed, read from a
//     workbook by batch/seed for every platform alike); load them into the
//     state directly (adapters/mxone/sim) or send them through the adapter
//     with SeedThrough (adapters/sipx), so that /_sim/reset restores them.
//     Switches only this platform has (APIO's DEFAULT_CALL_TYPE) come in
//     simkit.Options.Settings (`pbxbatch sim verba --set KEY=VALUE`);
//     refuse keys the simulator does not know.
//  3. Implement Adapter and Conn in adapters/verba. Keep every quirk inside:
//     ids ↔ names, creates that return no id, links made from the other side.
//     Classify every failure with an *Error (Retryable, Throttled, NotFound,
//     Conflict, Auth, Unknown, Permanent); never retry a write inside Apply:
//     the runner paces and retries, and reads back first when a write's
//     outcome is Unknown. Retry idempotent reads per request (retry.Do).
//     Send HTTP through internal/httpclient (it applies Target.Pacer,
//     Target.WrapTransport, deadlines and refuses redirects) and start from
//     its classification; a target that is not HTTP wraps its Conn in
//     paced.Operations instead. A platform that
//     writes several records in one request, needs a step at the end of a
//     run, or is not an HTTP API implements Batcher (with BatchGrouper when
//     one request holds records of one scope only), Finisher or Transport
//     (features.go); range rows (x-expand) and references to compound keys
//     (x-refs "with") are declared in the schemas. The engine needs nothing
//     else.
//  4. Pass adaptertest.Run against the simulator, with and without faults,
//     in adapters/verba's tests; set Config.Written from the simulator's
//     request counters (adapters/mxone/sim_test.go) so that the suite checks
//     that a write's locks cover every other record it writes.
//  5. Export func Platform() Platform from adapters/verba/platform.go: the
//     adapter, its target options (declared with their types and docs;
//     pbxbatch.yaml refuses any other key, suggesting the one meant), its
//     simulator constructor and its sample generator (sheets built on
//     internal/sampledata.Sheet, in adapters/verba; a go:generate line
//     there writes testdata/verba, which make testdata runs). The template
//     needs nothing: it is generated from the schemas.
//  6. Add verba.Platform() to adapters/platforms/platforms.go (the registry
//     panics on a duplicate or an incomplete platform). From then on sim,
//     validate, kinds, template, plan, apply, export, diff and the sample
//     generator (go run ./internal/sampledata/gen -adapter verba) offer it,
//     and adapters/platforms' tests check that its sample validates, seeds
//     its simulator and lists back through its adapter.
//  7. Run make templates: it writes templates/verba-rollout-template.xlsx
//     (generated from the schemas; commit it), which the tests keep current.
//  8. Add its row to the platform table in README.md.
//  9. Write its end-to-end must-holds through the CLI in
//     cmd/pbxbatch/e2e_verba_test.go (the CLI's tests live with the CLI;
//     cmd/pbxbatch/e2e_apio_test.go is the model): exact state after a
//     rollout, re-apply all no-ops, faults with 0 duplicates, kill -9 and
//     resume, a failed parent blocking exactly its dependents, export →
//     import → export identical.
//
// So a platform touches, outside its three folders, exactly:
// adapters/platforms/platforms.go (one line), README.md (one row),
// templates/verba-rollout-template.xlsx (generated) and
// cmd/pbxbatch/e2e_verba_test.go (its CLI tests). A platform that needs more
// (a rule, a capability) has found a gap in the seams: close it generically,
// in its own commit.
//
// Optional capabilities are small interfaces (features.go: Locker,
// Capabilities, Batcher, BatchGrouper, Finisher, Transport) that the engine
// finds once with FeaturesOf; assert them at compile time in the adapter
// package.
package adapters

import (
	"context"
	"crypto/tls"
	"net/http"
	"time"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// Adapter is one platform.
type Adapter interface {
	// Name is the registry name ("mxone"), also the schemas/ directory.
	Name() string
	// Kinds returns the platform's kinds with their compiled schemas.
	Kinds() *schemas.Set
	// Open connects to (and authenticates against) a target.
	Open(ctx context.Context, t Target) (Conn, error)
}

// Conn is an open connection to one target. It must be safe for concurrent
// use: the runner calls Apply from many goroutines.
type Conn interface {
	// List streams every record of a kind, page by page, in the platform's
	// order. fn's error stops the listing and is returned.
	List(ctx context.Context, kind string, fn func(schemas.Record) error) error
	// Get reads one record by natural key; key holds (at least) the key
	// fields. A missing record is an *Error of class NotFound.
	Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error)
	// Apply performs one create, update or delete and returns the target's
	// identifier of the record. It makes one attempt: the caller retries.
	Apply(ctx context.Context, c Change) (Result, error)
	Close() error
}

// Action is what a Change does.
type Action string

const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Change is one write. Record is the complete desired state (references by
// natural key, secrets in clear); Before is the state read from the target
// when the change was planned (nil for creates), so an adapter that must send
// a full body can start from it.
type Change struct {
	Kind   string
	Action Action
	Record schemas.Record
	Before schemas.Record
}

// Result is what a write returned.
type Result struct {
	// ID is the target's identifier of the record ("userRecId=42"), for
	// reports; empty when the platform has none.
	ID string
}

// Target is a configured endpoint, as read from pbxbatch.yaml.
type Target struct {
	Name        string
	Adapter     string
	URL         string // empty for a target that is not an HTTP API (Transport)
	Username    string
	Password    Secret
	Rate        float64 // requests per second, 0 = unlimited
	Concurrency int
	Timeout     time.Duration // per request; 0 = adapter default
	TLS         *tls.Config   // nil = system roots, verified
	// HTTPClient, when set, is used (copied) instead of one built from
	// TLS/Concurrency (tests and the in-process demo).
	HTTPClient *http.Client
	// Options holds adapter-specific keys from the config file.
	Options map[string]string
	// WrapTransport, when set, decorates the HTTP transport of every
	// request the adapter sends (pbxbatch -v logs through it);
	// internal/httpclient applies it.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Pacer, when set, is the target's one request budget: every request
	// waits on it once and reports what it met, reads and retries
	// included, so that the configured rate bounds requests, not
	// operations (one MX-ONE extension create is four requests).
	// internal/httpclient does it for HTTP adapters; an adapter that is
	// not HTTP wraps its connection in paced.Operations.
	Pacer Pacer
}

// Pacer spaces requests to a target, learns from what they meet
// (throttling, an unreachable target) and pauses them while the target is
// unreachable (internal/pace implements it).
type Pacer interface {
	// Wait blocks until a request may go, or ctx is done.
	Wait(ctx context.Context) error
	// Observe reports how a request that waited ended.
	Observe(o Observation)
}

// Observation is what one request met. The zero value is an answer.
type Observation struct {
	// Throttled: the target said to slow down (429, 503), announcing
	// RetryAfter when it did.
	Throttled  bool
	RetryAfter time.Duration
	// Unreachable: no answer at all (refused, dropped, timed out).
	Unreachable bool
	// Abandoned: the caller gave up first; no news about the target.
	Abandoned bool
}

// Secret is a string that never prints: fmt, %v, %s, JSON and slog all see
// the mask. Reveal returns the value for the one place that sends it.
type Secret struct{ v string }

func NewSecret(s string) Secret               { return Secret{v: s} }
func (s Secret) Reveal() string               { return s.v }
func (s Secret) IsZero() bool                 { return s.v == "" }
func (s Secret) String() string               { return schemas.Mask }
func (s Secret) GoString() string             { return schemas.Mask }
func (s Secret) MarshalText() ([]byte, error) { return []byte(schemas.Mask), nil }
