// Package pace is the one place that decides how fast requests go to a
// target: a token-bucket rate limit that backs off when the target says
// "slow down" and recovers slowly after, and the retry backoff (exponential
// with full jitter, honouring Retry-After). The runner asks it; adapters
// only classify errors.
package pace

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Config tunes a Pacer. Zero values take the defaults noted.
type Config struct {
	Rate  float64 // requests per second; 0 = unlimited until the target throttles
	Burst int     // token bucket size (default 1: requests evenly spaced)

	// Adaptation: on Throttled the rate is multiplied by Decrease (0.5) but
	// kept at or above Floor (Rate/20, at least 0.5/s), at most once per
	// Cooldown (1 s) so that one burst of 429s counts once. After
	// RecoverAfter (20) successes without throttling it grows by Step
	// (Rate/10) up to Rate.
	Decrease     float64
	Floor        float64
	Cooldown     time.Duration
	RecoverAfter int
	Step         float64

	// Backoff before retry n (1-based) is random in [0, min(MaxBackoff,
	// BaseBackoff·2^(n-1))] (200 ms, 30 s), and at least Retry-After.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration

	// Now and Rand replace the clock and the jitter source in tests.
	Now  func() time.Time
	Rand func() float64
}

// Pacer is safe for concurrent use.
type Pacer struct {
	cfg Config
	lim *rate.Limiter

	mu           sync.Mutex
	limit        float64 // current; +Inf when unlimited
	lastDecrease time.Time
	successes    int
	started      time.Time
	granted      int
}

// New returns a pacer for cfg.
func New(cfg Config) *Pacer {
	if cfg.Burst <= 0 {
		cfg.Burst = 1
	}
	if cfg.Decrease <= 0 || cfg.Decrease >= 1 {
		cfg.Decrease = 0.5
	}
	if cfg.Floor <= 0 {
		cfg.Floor = max(0.5, cfg.Rate/20)
	}
	if cfg.Cooldown == 0 {
		cfg.Cooldown = time.Second
	}
	if cfg.RecoverAfter <= 0 {
		cfg.RecoverAfter = 20
	}
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
	return &Pacer{cfg: cfg, lim: rate.NewLimiter(rate.Limit(limit), cfg.Burst), limit: limit, started: cfg.Now()}
}

// Wait blocks until a request may go, or ctx is done.
func (p *Pacer) Wait(ctx context.Context) error {
	if err := p.lim.Wait(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	p.granted++
	p.mu.Unlock()
	return nil
}

// Limit returns the current rate in requests per second (+Inf: unlimited).
func (p *Pacer) Limit() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}

// Throttled lowers the rate after the target said to slow down.
func (p *Pacer) Throttled() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	p.successes = 0
	if !p.lastDecrease.IsZero() && now.Sub(p.lastDecrease) < p.cfg.Cooldown {
		return
	}
	p.lastDecrease = now
	cur := p.limit
	if math.IsInf(cur, 1) {
		// Unlimited so far: start from the rate actually achieved.
		cur = float64(p.granted) / max(now.Sub(p.started).Seconds(), 1e-3)
	}
	p.set(max(p.cfg.Floor, cur*p.cfg.Decrease))
}

// Succeeded counts a successful request; enough of them in a row raise the
// rate one step back towards the configured one.
func (p *Pacer) Succeeded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if math.IsInf(p.limit, 1) || (p.cfg.Rate > 0 && p.limit >= p.cfg.Rate) {
		return
	}
	p.successes++
	if p.successes < p.cfg.RecoverAfter {
		return
	}
	p.successes = 0
	step := p.cfg.Step
	if step <= 0 {
		step = max(p.cfg.Rate, p.limit) / 10
	}
	next := p.limit + step
	if p.cfg.Rate > 0 {
		next = min(next, p.cfg.Rate)
	}
	p.set(next)
}

func (p *Pacer) set(l float64) {
	p.limit = l
	p.lim.SetLimit(rate.Limit(l))
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

// Sleep waits for d, or until ctx is done (then it returns ctx's error).
// It is the default wait of every retry loop; tests replace it with one
// that counts and skips.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
