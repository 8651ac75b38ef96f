package simkit

import (
	"encoding/json"
	"sync"
)

// Stats are a simulator's counters. All methods are safe for concurrent use;
// the zero value is ready.
type Stats struct {
	mu          sync.Mutex
	requests    map[string]int64
	creates     map[string]int64
	dupCreates  map[string]int64
	faults      map[string]int64
	rateLimited int64
	inFlight    int64
	maxInFlight int64
}

// StatsSnapshot is a point-in-time copy of Stats, as served on /_sim/stats.
type StatsSnapshot struct {
	Requests         map[string]int64 `json:"requests"`         // per route ("GET /users/{id}")
	Creates          map[string]int64 `json:"creates"`          // successful creates per kind
	DuplicateCreates map[string]int64 `json:"duplicateCreates"` // creates refused because the key exists, per kind
	Faults           map[string]int64 `json:"faults"`           // injected faults per Fault.String()
	RateLimited      int64            `json:"rateLimited"`      // requests answered 429 by the rate limit
	InFlight         int64            `json:"inFlight"`
	MaxInFlight      int64            `json:"maxInFlight"` // highest number of concurrent requests seen
}

// TotalRequests sums Requests.
func (s StatsSnapshot) TotalRequests() int64 { return sum(s.Requests) }

// TotalDuplicateCreates sums DuplicateCreates.
func (s StatsSnapshot) TotalDuplicateCreates() int64 { return sum(s.DuplicateCreates) }

// TotalFaults sums Faults.
func (s StatsSnapshot) TotalFaults() int64 { return sum(s.Faults) }

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func inc(m *map[string]int64, key string) {
	if *m == nil {
		*m = map[string]int64{}
	}
	(*m)[key]++
}

// Request counts one request on a route.
func (s *Stats) Request(route string) {
	s.mu.Lock()
	inc(&s.requests, route)
	s.mu.Unlock()
}

// Created counts one successful create of a kind.
func (s *Stats) Created(kind string) {
	s.mu.Lock()
	inc(&s.creates, kind)
	s.mu.Unlock()
}

// DuplicateCreate counts one create refused because its natural key exists.
func (s *Stats) DuplicateCreate(kind string) {
	s.mu.Lock()
	inc(&s.dupCreates, kind)
	s.mu.Unlock()
}

func (s *Stats) fault(f Fault) {
	s.mu.Lock()
	inc(&s.faults, f.String())
	s.mu.Unlock()
}

func (s *Stats) limited() {
	s.mu.Lock()
	s.rateLimited++
	s.mu.Unlock()
}

// enter and leave maintain the in-flight gauge and its high-water mark.
func (s *Stats) enter() {
	s.mu.Lock()
	s.inFlight++
	if s.inFlight > s.maxInFlight {
		s.maxInFlight = s.inFlight
	}
	s.mu.Unlock()
}

func (s *Stats) leave() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

// Reset zeroes every counter but the live in-flight gauge.
func (s *Stats) Reset() {
	s.mu.Lock()
	s.requests, s.creates, s.dupCreates, s.faults = nil, nil, nil, nil
	s.rateLimited = 0
	s.maxInFlight = s.inFlight
	s.mu.Unlock()
}

// Snapshot copies the counters. Maps are never nil.
func (s *Stats) Snapshot() StatsSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StatsSnapshot{
		Requests:         clone(s.requests),
		Creates:          clone(s.creates),
		DuplicateCreates: clone(s.dupCreates),
		Faults:           clone(s.faults),
		RateLimited:      s.rateLimited,
		InFlight:         s.inFlight,
		MaxInFlight:      s.maxInFlight,
	}
}

// MarshalJSON serialises a snapshot.
func (s *Stats) MarshalJSON() ([]byte, error) { return json.Marshal(s.Snapshot()) }

func clone(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
