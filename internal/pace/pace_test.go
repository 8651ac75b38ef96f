package pace_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/pace"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// answer feeds n answers spread evenly over d, throttled ones first in
// each group of every.
func answer(p *pace.Pacer, c *clock, n int, d time.Duration, throttledEvery int) {
	for i := range n {
		c.t = c.t.Add(d / time.Duration(n))
		p.Observe(adapters.Observation{Throttled: throttledEvery > 0 && i%throttledEvery == 0, RetryAfter: time.Second})
	}
}

var ok = adapters.Observation{}

func TestSporadicThrottlingKeepsTheRate(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	p := pace.New(pace.Config{Rate: 100, Now: c.now})
	// 1 in 40 answers throttled (random 429/503 faults): no change.
	answer(p, c, 400, 4*time.Second, 40)
	if got := p.Limit(); got != 100 {
		t.Fatalf("limit %v after sporadic 429s, want 100", got)
	}
}

func TestSustainedThrottlingSettlesUnderTheServersLimit(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	p := pace.New(pace.Config{Rate: 200, Now: c.now})
	// The server lets a burst of 50 through, then accepts 50 a second and
	// throttles the rest.
	answer(p, c, 50, 250*time.Millisecond, 0)
	for range 2 {
		for i := range 200 {
			c.t = c.t.Add(5 * time.Millisecond)
			p.Observe(adapters.Observation{Throttled: i%4 != 0, RetryAfter: time.Second})
		}
	}
	got := p.Limit()
	if got > 50 || got < 40 {
		t.Fatalf("limit %v under sustained throttling at 50/s accepted, want 90 %% of 50", got)
	}
	// Recovery near the learnt limit is slow: after 10 quiet seconds the
	// rate is still at or under the server's 50/s.
	for range 10 {
		answer(p, c, 45, time.Second, 0)
	}
	if after := p.Limit(); after <= got || after > 50 {
		t.Fatalf("limit %v → %v after 10 s without throttling: want a slow climb that stays ≤ 50", got, after)
	}
	// A minute on, the hint is forgotten and the climb is quicker, up to
	// the configured rate and no further.
	for range 120 {
		answer(p, c, 50, time.Second, 0)
	}
	if got := p.Limit(); got != 200 {
		t.Fatalf("limit %v after two quiet minutes, want back at the configured 200", got)
	}
}

func TestFloor(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	p := pace.New(pace.Config{Rate: 10, Floor: 2, Now: c.now})
	answer(p, c, 200, 20*time.Second, 1) // everything throttled
	if got := p.Limit(); got != 2 {
		t.Fatalf("limit %v, want the floor 2", got)
	}
}

func TestCircuitOpensPausesAndCloses(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var notes []string
	p := pace.New(pace.Config{Threshold: 3, OpenFor: time.Hour, MaxOpen: 4 * time.Hour, Now: c.now, Notify: func(m string) { notes = append(notes, m) }})
	blocked := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		return errors.Is(p.Wait(ctx), context.DeadlineExceeded)
	}
	for range 2 {
		p.Observe(adapters.Observation{Unreachable: true})
	}
	if p.State() != pace.Closed || blocked() {
		t.Fatal("circuit opened before the threshold")
	}
	p.Observe(adapters.Observation{Unreachable: true})
	if p.State() != pace.Open || !blocked() {
		t.Fatalf("after 3 requests without an answer: state %s, want open and requests waiting", p.State())
	}
	c.t = c.t.Add(time.Hour)
	if blocked() {
		t.Fatal("no probe once the circuit's wait is over")
	}
	if p.State() != pace.HalfOpen || !blocked() {
		t.Fatalf("state %s with a probe out: want half-open and the others waiting", p.State())
	}
	p.Observe(adapters.Observation{Unreachable: true}) // the probe failed
	c.t = c.t.Add(time.Hour)
	if p.State() != pace.Open || !blocked() {
		t.Fatalf("after a failed probe: state %s, want open for twice as long", p.State())
	}
	c.t = c.t.Add(time.Hour)
	if blocked() {
		t.Fatal("no second probe")
	}
	p.Observe(ok)
	if p.State() != pace.Closed || blocked() {
		t.Fatalf("after an answer: state %s, want closed", p.State())
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "circuit open") || !strings.Contains(notes[1], "circuit closed") {
		t.Fatalf("notes %q: want one when it opened and one when it closed", notes)
	}
}

func TestAbandonedProbeLetsAnotherGo(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	p := pace.New(pace.Config{Threshold: 1, OpenFor: time.Second, Now: c.now})
	p.Observe(adapters.Observation{Unreachable: true})
	c.t = c.t.Add(time.Second)
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Observe(adapters.Observation{Abandoned: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("the probe's caller gave up; the next request must probe: %v", err)
	}
}

func TestBackoffFullJitterAndRetryAfter(t *testing.T) {
	p := pace.New(pace.Config{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Rand: func() float64 { return 1 }})
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 9: time.Second} {
		if got := p.Backoff(attempt, 0); got != want {
			t.Errorf("Backoff(%d) at the top of the jitter = %v, want %v", attempt, got, want)
		}
	}
	zero := pace.New(pace.Config{Rand: func() float64 { return 0 }})
	if got := zero.Backoff(3, 5*time.Second); got != 5*time.Second {
		t.Errorf("Backoff with Retry-After 5s = %v", got)
	}
}
