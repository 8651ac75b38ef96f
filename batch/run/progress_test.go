package run

import (
	"bytes"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The ETA comes from a smoothed rate: one slow second (a throttle, a
// retry burst) moves it a little, not to "forever".
func TestSpeedIsSmoothed(t *testing.T) {
	var s speed
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	done := 0
	for i := range 10 {
		done += 100
		s.observe(t0.Add(time.Duration(i)*time.Second), done)
	}
	if r := s.perSecond(); math.Abs(r-100) > 1 {
		t.Fatalf("steady rate %v, want 100/s", r)
	}
	s.observe(t0.Add(10*time.Second), done) // a second with nothing done
	if r := s.perSecond(); r < 60 || r > 80 {
		t.Errorf("after one idle second the rate is %v/s, want it smoothed (about 70)", r)
	}
	e := Event{Type: EventOp, Done: 1000, Total: 2000}
	if eta := etaOf(e, s.perSecond()); eta == "" || strings.Contains(eta, "h") {
		t.Errorf("ETA %q", eta)
	}
}

// Off a terminal: timestamped lines with what is failing, blocked,
// retrying and on the wire; at the end the real count of a cancelled run.
func TestLogLines(t *testing.T) {
	var buf bytes.Buffer
	p := NewTerminal(&buf, time.Nanosecond)
	at := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	p.now = func() time.Time { at = at.Add(time.Second); return at }
	p.Reading(340, 1230)
	p.OnEvent(Event{Type: EventStart, Total: 100, Done: 10, Rate: math.Inf(1)})
	p.OnEvent(Event{Type: EventOp, Total: 100, Done: 20, Failed: 2, Blocked: 1, Retrying: 3, InFlight: 4, Rate: 50})
	p.OnEvent(Event{Type: EventEnd, Total: 100, Done: 100, Skipped: 70, Failed: 2, Blocked: 1})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	stamped := regexp.MustCompile(`^2026-01-01T02:00:0\dZ `)
	for _, l := range lines {
		if !stamped.MatchString(l) {
			t.Errorf("line without a timestamp: %q", l)
		}
	}
	for _, want := range []string{"reading live state: 340/1230 records", "2 failed, 1 blocked, 3 retrying, 4 in flight, rate limit 50/s", "apply: 30/100 done in", "70 skipped"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no %q in\n%s", want, buf.String())
		}
	}
	if s := stats(Event{Failed: 2, Retrying: 1, Rate: 20, Done: 5, Total: 10}, 5); s != " · 2 failed · 1 retrying · limit 20/s · ETA 1s" {
		t.Errorf("bar stats %q", s)
	}
}
