// Package simkit holds the switches every platform simulator shares: added
// latency, fault injection, a server-side rate limit, an in-flight gauge and
// counters, the loopback-only /_sim/stats and /_sim/reset endpoints, and a
// server starter with an optional self-signed TLS certificate.
//
// A simulator is a plain http.Handler that implements the platform's API. It
// passes it to Wrap (or Start) and may implement the optional interfaces
// Router (name routes and classify them as reads or writes, so faults can be
// aimed at writes), Resetter (/_sim/reset) and FaultWriter (answer injected
// faults in the platform's own error envelope).
package simkit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pbxbatch/pbxbatch/internal/wait"
)

// Options are the switches of a simulator. The zero value is a well-behaved
// server: no latency, no faults, no rate limit, plain HTTP.
type Options struct {
	// Username and Password are the credentials the simulator accepts.
	// simkit does not check them; the simulator's auth flow does.
	Username, Password string

	// Latency is added to every request; LatencyJitter adds a uniformly
	// distributed extra 0..LatencyJitter on top.
	Latency       time.Duration
	LatencyJitter time.Duration

	// FaultRate is the fraction (0..1) of requests answered with a fault
	// drawn uniformly from the faults eligible for the request's class.
	FaultRate float64
	// Faults to draw from; empty means DefaultFaults.
	Faults []Fault
	// FaultSeed seeds the fault and jitter draws. The same seed gives the
	// same sequence of draws (0 is a seed like any other), so a rehearsal
	// with faults can be repeated.
	FaultSeed int64
	// TimeoutHold is how long a "timeout" fault holds a request when the
	// client does not give up first. Default 30 s. The server answers 504
	// afterwards.
	TimeoutHold time.Duration
	// RetryAfter is announced on injected and rate-limit 429s and on 503s.
	// Default 1 s (the header carries whole seconds).
	RetryAfter time.Duration

	// RateLimit is the requests per second the server accepts (token bucket
	// with a burst of one second's worth); above it requests get 429 with
	// Retry-After. 0 means no limit.
	RateLimit float64

	// Down, when set and true, makes the target unreachable: every request
	// (but /_sim/) has its connection closed without an answer. Tests
	// flip it to stage an outage.
	Down func() bool

	// TLS serves HTTPS with a self-signed certificate made at start for
	// 127.0.0.1, ::1 and localhost; Server.CAPEM is its PEM.
	TLS bool

	// TokenLifetime is how long issued tokens stay valid, for simulators with
	// a token flow. 0 means the simulator's documented default.
	TokenLifetime time.Duration

	// Settings are the platform's own configuration switches
	// (`pbxbatch sim --set KEY=VALUE`; APIO: DEFAULT_CALL_TYPE), which only
	// the platform's simulator knows. A simulator refuses a key it does not
	// know.
	Settings map[string]string

	// Now and Sleep replace the clock, for tests. Sleep must return early
	// with ctx.Err() when ctx is done.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Clock returns Options.Now or time.Now.
func (o Options) Clock() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) sleep(ctx context.Context, d time.Duration) error {
	if o.Sleep != nil {
		return o.Sleep(ctx, d)
	}
	return wait.Sleep(ctx, d)
}

func (o Options) timeoutHold() time.Duration {
	if o.TimeoutHold > 0 {
		return o.TimeoutHold
	}
	return 30 * time.Second
}

func (o Options) retryAfter() time.Duration {
	if o.RetryAfter > 0 {
		return o.RetryAfter
	}
	return time.Second
}

// FaultKind is what an injected fault looks like to the client.
type FaultKind string

const (
	Fault429     FaultKind = "429"     // Too Many Requests with Retry-After
	Fault503     FaultKind = "503"     // Service Unavailable with Retry-After
	Fault500     FaultKind = "500"     // Internal Server Error
	FaultTimeout FaultKind = "timeout" // no answer until the client gives up (or TimeoutHold, then 504)
	FaultDrop    FaultKind = "drop"    // the TCP connection is closed without an answer
)

// Route classes a Router assigns. A simulator may use others; a Fault with a
// Class only hits requests of that class.
const (
	ClassRead  = "read"
	ClassWrite = "write"
	ClassAuth  = "auth"
)

// Fault is one kind of injected fault.
type Fault struct {
	Kind FaultKind
	// After runs the simulator's handler first and then throws its answer
	// away: the change is applied but the client sees a failure. This is
	// what tempts a client into repeating a create.
	After bool
	// Class limits the fault to requests of that route class; "" hits all.
	Class string
}

// String renders the fault in the syntax ParseFaults reads.
func (f Fault) String() string {
	s := string(f.Kind)
	if f.Class != "" {
		s = f.Class + "/" + s
	}
	if f.After {
		s += "@after"
	}
	return s
}

// DefaultFaults is every fault before the handler on any request, plus the
// applied-but-failed variants on writes.
var DefaultFaults = []Fault{
	{Kind: Fault429}, {Kind: Fault503}, {Kind: Fault500}, {Kind: FaultTimeout}, {Kind: FaultDrop},
	{Kind: Fault500, After: true, Class: ClassWrite},
	{Kind: FaultTimeout, After: true, Class: ClassWrite},
	{Kind: FaultDrop, After: true, Class: ClassWrite},
}

// ParseFaults reads a comma-separated fault list: each item is
// [CLASS/]KIND[@after], KIND one of 429, 503, 500, timeout, drop.
// Example: "429,503,write/500@after,write/drop@after".
func ParseFaults(s string) ([]Fault, error) {
	var out []Fault
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var f Fault
		spec := item
		if c, rest, ok := strings.Cut(spec, "/"); ok {
			f.Class, spec = c, rest
		}
		if k, phase, ok := strings.Cut(spec, "@"); ok {
			switch phase {
			case "after":
				f.After = true
			case "before":
			default:
				return nil, fmt.Errorf("fault %q: phase must be @before or @after", item)
			}
			spec = k
		}
		switch k := FaultKind(strings.ToLower(spec)); k {
		case Fault429, Fault503, Fault500, FaultTimeout, FaultDrop:
			f.Kind = k
		default:
			return nil, fmt.Errorf("fault %q: kind must be one of 429, 503, 500, timeout, drop", item)
		}
		out = append(out, f)
	}
	return out, nil
}
