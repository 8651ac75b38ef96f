// Package pace is the one place that decides how fast requests go to a
// target. A Pacer is the target's request budget: every request waits on
// it once (internal/httpclient wraps the transport with it; a target that
// is not HTTP wraps its connection in Operations) and reports what it met.
// From that it
//
//   - keeps to the configured rate (a token bucket);
//   - settles just under a server's own limit when throttling is sustained,
//     and ignores a sporadic 429/503 (the one request waits its Retry-After,
//     the others go on);
//   - pauses every request while the target is unreachable (a circuit
//     breaker with a visible state), probing it with one request at a time;
//   - supplies the retry backoff (exponential with full jitter, never less
//     than Retry-After).
//
// Adapters only classify errors; the runner only retries.
package pace

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/pbxbatch/pbxbatch/adapters"
)

// Config tunes a Pacer. Zero values take the defaults noted.
type Config struct {
	Rate  float64 // requests per second; 0 = unlimited until the target throttles
	Burst int     // token bucket size (default 1: requests evenly spaced)

	// Adaptation. Throttling is sustained when, over the last second or
	// two, at least 3 answers and at least 10 % of them were throttled;
	// the rate then drops to 90 % of the rate the target accepted in that
	// time (at most once per Cooldown, default 1 s), never under Floor
	// (Rate/20, at least 0.5/s). After RecoverAfter (2 s) without
	// sustained throttling it grows again: by 10 % a second, or by 1 % a
	// second near the rate the target last accepted (for a minute), so
	// that it stays at or under a server's limit instead of probing above
	// it again and again.
	Floor        float64
	Cooldown     time.Duration
	RecoverAfter time.Duration

	// Circuit breaker: after Threshold (8) requests in a row got no answer
	// at all, requests wait OpenFor (1 s), then one goes as a probe; each
	// failed probe doubles the wait up to MaxOpen (30 s). Any answer
	// closes the circuit. Notify, when set, hears when it opens and
	// closes (the CLI prints it on stderr).
	Threshold int
	OpenFor   time.Duration
	MaxOpen   time.Duration
	Notify    func(msg string)

	// Backoff before retry n (1-based) is random in [0, min(MaxBackoff,
	// BaseBackoff·2^(n-1))] (200 ms, 30 s), and at least Retry-After.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration

	// Now and Rand replace the clock and the jitter source in tests.
	Now  func() time.Time
	Rand func() float64
}

// CircuitState is the circuit breaker's state.
type CircuitState int

const (
	// Closed: requests flow.
	Closed CircuitState = iota
	// Open: the target is unreachable; requests wait.
	Open
	// HalfOpen: one probe is out; the others wait for its answer.
	HalfOpen
)

func (s CircuitState) String() string {
	return [...]string{"closed", "open", "half-open"}[s]
}

// Pacer is safe for concurrent use.
type Pacer struct {
	cfg Config
	lim *rate.Limiter

	mu           sync.Mutex
	limit        float64 // current; +Inf when unlimited
	ceiling      float64 // the configured rate; +Inf when none
	hint         float64 // what the target accepted when it last throttled in earnest
	hintAt       time.Time
	lastDecrease time.Time
	lastIncrease time.Time
	cur, prev    bucket

	state     CircuitState
	fails     int // requests in a row without an answer
	openFor   time.Duration
	openUntil time.Time
	changed   chan struct{} // closed when the circuit changes state
}

// bucket counts the answers of one second.
type bucket struct {
	start         time.Time
	ok, throttled int
}

// New returns a pacer for cfg.
func New(cfg Config) *Pacer {
	if cfg.Burst <= 0 {
		cfg.Burst = 1
	}
	if cfg.Floor <= 0 {
		cfg.Floor = max(0.5, cfg.Rate/20)
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = time.Second
	}
	if cfg.RecoverAfter <= 0 {
		cfg.RecoverAfter = 2 * time.Second
	}
	if cfg.Threshold <= 0 {
		cfg.Threshold = 8
	}
	if cfg.OpenFor <= 0 {
		cfg.OpenFor = time.Second
	}
	if cfg.MaxOpen <= 0 {
		cfg.MaxOpen = 30 * time.Second
	}
	cfg.MaxOpen = max(cfg.MaxOpen, cfg.OpenFor)
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 200 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	limit := math.Inf(1)
	if cfg.Rate > 0 {
		limit = cfg.Rate
	}
	p := &Pacer{cfg: cfg, limit: limit, ceiling: limit, changed: make(chan struct{})}
	p.lim = rate.NewLimiter(toLimit(limit), cfg.Burst)
	return p
}

func toLimit(l float64) rate.Limit {
	if math.IsInf(l, 1) {
		return rate.Inf
	}
	return rate.Limit(l)
}

// Wait blocks until a request may go, or ctx is done: while the circuit is
// open, and then for the rate.
func (p *Pacer) Wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		state, until, changed := p.state, p.openUntil, p.changed
		now := p.cfg.Now()
		if state == Open && !now.Before(until) {
			// This request is the probe.
			p.setState(HalfOpen)
			p.mu.Unlock()
			if err := p.lim.Wait(ctx); err != nil {
				p.abandonProbe()
				return err
			}
			return nil
		}
		p.mu.Unlock()
		if state == Closed {
			return p.lim.Wait(ctx)
		}
		if err := waitChange(ctx, changed, state, until.Sub(now)); err != nil {
			return err
		}
	}
}

// waitChange waits for the circuit to change state, or, when it is open,
// for the time until a probe may go.
func waitChange(ctx context.Context, changed <-chan struct{}, state CircuitState, left time.Duration) error {
	var timer <-chan time.Time
	if state == Open {
		t := time.NewTimer(left)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-timer:
	}
	return nil
}

// setState changes the circuit's state and wakes the waiters; p.mu held.
func (p *Pacer) setState(s CircuitState) {
	p.state = s
	close(p.changed)
	p.changed = make(chan struct{})
}

// abandonProbe lets another request probe when the probe was not sent.
func (p *Pacer) abandonProbe() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == HalfOpen {
		p.openUntil = p.cfg.Now()
		p.setState(Open)
	}
}

// State returns the circuit breaker's state, for progress displays.
func (p *Pacer) State() CircuitState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// Limit returns the current rate in requests per second (+Inf: unlimited).
func (p *Pacer) Limit() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}

// Observe learns from how a request ended (see adapters.Pacer).
func (p *Pacer) Observe(o adapters.Observation) {
	p.mu.Lock()
	now := p.cfg.Now()
	var note string
	switch {
	case o.Abandoned:
		if p.state == HalfOpen {
			p.openUntil = now
			p.setState(Open)
		}
	case o.Unreachable:
		p.fails++
		switch {
		case p.state == HalfOpen:
			p.openFor = min(2*p.openFor, p.cfg.MaxOpen)
			p.openUntil = now.Add(p.openFor)
			p.setState(Open)
		case p.state == Closed && p.fails >= p.cfg.Threshold:
			p.openFor = p.cfg.OpenFor
			p.openUntil = now.Add(p.openFor)
			p.setState(Open)
			note = fmt.Sprintf("target unreachable (%d requests in a row got no answer): circuit open, requests paused; trying again every %s to %s", p.fails, p.openFor, p.cfg.MaxOpen)
		}
	default:
		p.fails = 0
		if p.state != Closed {
			p.setState(Closed)
			note = "target answers again: circuit closed, requests resume"
		}
		p.answered(now, o)
	}
	p.mu.Unlock()
	if note != "" && p.cfg.Notify != nil {
		p.cfg.Notify(note)
	}
}

// answered adapts the rate to an answer; p.mu is held.
func (p *Pacer) answered(now time.Time, o adapters.Observation) {
	if now.Sub(p.cur.start) >= time.Second {
		p.prev = p.cur
		if now.Sub(p.cur.start) >= 2*time.Second {
			p.prev = bucket{}
		}
		p.cur = bucket{start: now}
	}
	if !o.Throttled {
		p.cur.ok++
		p.recover(now)
		return
	}
	p.cur.throttled++
	ok, throttled := p.cur.ok+p.prev.ok, p.cur.throttled+p.prev.throttled
	if throttled < 3 || throttled*10 < ok+throttled {
		return // sporadic: the request waits its Retry-After, the rest go on
	}
	if !p.lastDecrease.IsZero() && now.Sub(p.lastDecrease) < p.cfg.Cooldown {
		return // one burst of throttling counts once
	}
	start := p.cur.start
	if !p.prev.start.IsZero() {
		start = p.prev.start
	}
	// At least a second: a server's bucket lets a burst through at once.
	accepted := float64(ok) / max(now.Sub(start).Seconds(), 1)
	at := min(p.limit, accepted) // the target's limit is at most this
	next := p.limit * 0.5
	if at > 0 {
		next = at * 0.9
	}
	p.hint, p.hintAt, p.lastDecrease = at, now, now
	p.set(max(p.cfg.Floor, next))
}

// recover raises a lowered rate once a second after RecoverAfter without
// sustained throttling; p.mu is held.
func (p *Pacer) recover(now time.Time) {
	if p.limit >= p.ceiling || now.Sub(p.lastDecrease) < p.cfg.RecoverAfter || now.Sub(p.lastIncrease) < time.Second {
		return
	}
	p.lastIncrease = now
	step := 1.10
	if now.Sub(p.hintAt) < time.Minute && p.limit >= 0.85*p.hint {
		step = 1.01
	}
	p.set(min(p.ceiling, p.limit*step))
}

func (p *Pacer) set(l float64) {
	p.limit = l
	p.lim.SetLimit(toLimit(l))
}

// Backoff returns how long to wait before retry number attempt (1 for the
// first retry): full jitter over an exponentially growing window, and never
// less than what the target asked for.
func (p *Pacer) Backoff(attempt int, retryAfter time.Duration) time.Duration {
	window := float64(p.cfg.BaseBackoff) * math.Pow(2, float64(max(0, attempt-1)))
	window = min(window, float64(p.cfg.MaxBackoff))
	p.mu.Lock()
	d := time.Duration(p.cfg.Rand() * window)
	p.mu.Unlock()
	return max(d, retryAfter)
}
