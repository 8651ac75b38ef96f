package pace_test

import (
	"context"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/internal/pace"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestRateDropsOnThrottleAndRecoversSlowly(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	p := pace.New(pace.Config{Rate: 100, RecoverAfter: 5, Now: c.now})
	p.Throttled()
	if got := p.Limit(); got != 50 {
		t.Fatalf("after a 429: limit %v, want 50", got)
	}
	p.Throttled() // the same burst of 429s: no second cut
	if got := p.Limit(); got != 50 {
		t.Fatalf("second 429 within the cooldown: limit %v, want 50", got)
	}
	c.t = c.t.Add(2 * time.Second)
	p.Throttled()
	if got := p.Limit(); got != 25 {
		t.Fatalf("429 after the cooldown: limit %v, want 25", got)
	}
	for range 4 {
		p.Succeeded()
	}
	if got := p.Limit(); got != 25 {
		t.Fatalf("recovered before 5 successes: %v", got)
	}
	p.Succeeded()
	if got := p.Limit(); got != 35 {
		t.Fatalf("after 5 successes: limit %v, want 35 (one step of Rate/10)", got)
	}
	for range 100 {
		p.Succeeded()
	}
	if got := p.Limit(); got != 100 {
		t.Fatalf("recovery must stop at the configured rate: %v", got)
	}
}

func TestFloor(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	p := pace.New(pace.Config{Rate: 10, Floor: 2, Cooldown: time.Nanosecond, Now: c.now})
	for range 10 {
		c.t = c.t.Add(time.Second)
		p.Throttled()
	}
	if got := p.Limit(); got != 2 {
		t.Fatalf("limit %v, want the floor 2", got)
	}
}

func TestUnlimitedStartsFromAchievedRate(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	p := pace.New(pace.Config{Now: c.now})
	for range 100 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	c.t = c.t.Add(2 * time.Second) // 100 requests in 2 s: 50/s achieved
	p.Throttled()
	if got := p.Limit(); got != 25 {
		t.Fatalf("limit %v, want half of the achieved 50/s", got)
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
