// Package exporttest builds large inventories for export and diff tests
// and benchmarks.
package exporttest

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Issue 5's benchmark size: 100,000 users and 120,000 extensions.
const (
	Users      = 100_000
	Extensions = 120_000
)

// SeedStub returns a stub holding users people and extensions phones over
// 10 sites and 200 groups, with realistic cell contents (E.164 labels,
// zero-padded numbers, lists, a secret PIN on every person).
func SeedStub(users, extensions int) *stub.Adapter {
	a := stub.New()
	for s := range 10 {
		a.Put("site", schemas.Record{"siteName": fmt.Sprintf("Site %02d", s), "description": "Office"})
	}
	for g := range 200 {
		a.Put("group", schemas.Record{"groupName": fmt.Sprintf("Group %03d", g), "site": fmt.Sprintf("Site %02d", g%10)})
	}
	for u := range users {
		a.Put("person", Person(u))
	}
	for e := range extensions {
		a.Put("phone", schemas.Record{
			"number": fmt.Sprintf("%06d", 100000+e), "site": fmt.Sprintf("Site %02d", e%10),
			"owner": fmt.Sprintf("user%06d", e%max(users, 1)), "model": "desk", "lines": schemas.Normalize(1 + e%4),
			"label": fmt.Sprintf("+4670%07d", e),
		})
	}
	return a
}

// Person returns the u'th person of SeedStub.
func Person(u int) schemas.Record {
	return schemas.Record{
		"userId": fmt.Sprintf("user%06d", u),
		"name":   map[string]any{"first": fmt.Sprintf("First%d", u), "last": fmt.Sprintf("Lastname%d", u)},
		"email":  fmt.Sprintf("user%06d@example.com", u),
		"groups": []any{fmt.Sprintf("Group %03d", u%200), fmt.Sprintf("Group %03d", (u+1)%200)},
		"pin":    "1234",
	}
}

// PeakHeap samples the heap in use every few milliseconds until Stop: the
// peak memory figure benchmarks report.
type PeakHeap struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

// SamplePeakHeap starts sampling.
func SamplePeakHeap() *PeakHeap {
	p := &PeakHeap{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > p.peak.Load() {
				p.peak.Store(ms.HeapInuse)
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// Stop ends sampling and returns the peak in MiB.
func (p *PeakHeap) Stop() float64 {
	close(p.stop)
	<-p.done
	return float64(p.peak.Load()) / (1 << 20)
}
