package adapters

import (
	"fmt"
	"slices"
	"sort"
	"sync"
)

// Registry maps names to adapters. Build one explicitly at start-up (no
// init() side effects); Register panics on a duplicate so wiring mistakes
// fail at once.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Adapter
}

func NewRegistry(as ...Adapter) *Registry {
	r := &Registry{m: map[string]Adapter{}}
	for _, a := range as {
		r.Register(a)
	}
	return r
}

func (r *Registry) Register(a Adapter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a == nil {
		panic("adapters: Register of a nil adapter")
	}
	if _, dup := r.m[a.Name()]; dup {
		panic("adapters: duplicate adapter " + a.Name())
	}
	r.m[a.Name()] = a
}

// Get returns the named adapter or an error listing the known ones.
func (r *Registry) Get(name string) (Adapter, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if a, ok := r.m[name]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("unknown adapter %q (known: %v)", name, r.names())
}

func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.names()
}

func (r *Registry) names() []string {
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return slices.Clip(out)
}
