package httpclient

import (
	"testing"
	"time"
)

// TestTimeoutsTogetherDoubleTheDeadlineOnce: requests in flight together
// that time out at one deadline double it once; a further timeout at the
// doubled deadline doubles it again; an answer resets it.
func TestTimeoutsTogetherDoubleTheDeadlineOnce(t *testing.T) {
	d := newDeadline(time.Hour)
	for range warmup {
		d.observe("POST", time.Second)
	}
	base := d.limit("POST")
	for range 8 {
		d.timedOut("POST", base)
	}
	if got := d.limit("POST"); got != 2*base {
		t.Fatalf("8 timeouts at %s: deadline %s, want it doubled once to %s", base, got, 2*base)
	}
	d.timedOut("POST", 2*base)
	if got := d.limit("POST"); got != 4*base {
		t.Fatalf("a timeout at the doubled deadline: %s, want %s", got, 4*base)
	}
	// An answer ends the doubling; it is one more sample too, so the
	// estimate itself may move a little (here: down, the latency steady).
	d.observe("POST", time.Second)
	if got := d.limit("POST"); got > base || got < base*9/10 {
		t.Fatalf("after an answer: %s, want about %s again", got, base)
	}
}
