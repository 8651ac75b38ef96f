package stub

import (
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
)

// Fault is a rule that makes matching calls fail. Empty match fields match
// anything. Without Every or Probability every matching call fires.
type Fault struct {
	Op   string // "list", "get", "create", "update", "delete"; "" any
	Kind string // "" any
	Key  string // natural key as Kind.KeyOf renders it; "" any

	Every       int     // fire on every Nth matching call (1st fires when Every is 1)
	Probability float64 // fire with this probability (seeded, see SetSeed)
	Times       int     // fire at most this many times; 0 = no limit

	Class      adapters.Class
	RetryAfter time.Duration // sent with Throttled (and any class)
	Message    string        // "" = a message naming the class
	// Applied makes a write land before the error is reported: with Class
	// Unknown it is the timeout after sending that a runner must never
	// answer with a blind repeat.
	Applied bool
}

type faultState struct {
	Fault
	matched, fired int
}

// AddFault installs a rule; rules are checked in the order added and the
// first that fires wins.
func (a *Adapter) AddFault(f Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults = append(a.faults, &faultState{Fault: f})
}

// ClearFaults removes every rule.
func (a *Adapter) ClearFaults() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults = nil
}

// matchFault returns the fault that fires for c, or nil; a.mu is held.
func (a *Adapter) matchFault(c Call) *Fault {
	for _, f := range a.faults {
		if (f.Op != "" && f.Op != c.Op) || (f.Kind != "" && f.Kind != c.Kind) || (f.Key != "" && f.Key != c.Key) {
			continue
		}
		if f.Times > 0 && f.fired >= f.Times {
			continue
		}
		f.matched++
		fire := f.Every == 0 && f.Probability == 0
		if f.Every > 0 && f.matched%f.Every == 0 {
			fire = true
		}
		if f.Probability > 0 && a.rng.Float64() < f.Probability {
			fire = true
		}
		if fire {
			f.fired++
			a.stats.Faults++
			fault := f.Fault
			return &fault
		}
	}
	return nil
}

var classStatus = map[adapters.Class]int{
	adapters.Permanent: 400, adapters.Retryable: 502, adapters.Throttled: 429,
	adapters.NotFound: 404, adapters.Conflict: 409, adapters.Auth: 401, adapters.Unknown: 504,
}

func (f *Fault) err() error {
	msg := f.Message
	if msg == "" {
		msg = "injected " + f.Class.String() + " fault"
	}
	return &adapters.Error{Class: f.Class, Status: classStatus[f.Class], RetryAfter: f.RetryAfter, Message: msg}
}
