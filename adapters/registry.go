package adapters

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
	"github.com/pbxbatch/pbxbatch/internal/spelling"
)

// Platform is everything pbxbatch knows about one platform, registered
// once: each platform package exports it (mxone.Platform()), and
// adapters/platforms lists them. The commands (sim, validate, kinds,
// template, plan, apply, export, demo) take their platforms from the
// registry and nowhere else. The template needs no entry: it is generated
// from the adapter's schemas.
type Platform struct {
	Adapter Adapter
	// Options are the keys a target of this platform may set under
	// options: in pbxbatch.yaml; any other key is refused.
	Options []Option
	// Simulator builds the platform's simulator with the switches of o,
	// loaded with seed (nil: a fresh system). Reset (/_sim/reset) restores
	// the seed.
	Simulator func(ctx context.Context, o simkit.Options, seed simkit.Seed) (simkit.Simulator, error)
	// Sample generates a rollout of about users users (and what they need:
	// sites, departments, phones…), one sheet per kind in dependency
	// order, that validates without a finding.
	Sample func(users int) ([]sampledata.Sheet, error)
	// Internal platforms (the in-memory stub) serve tests: Get finds them,
	// but Names never offers them to users.
	Internal bool
}

// Name is the platform's registry name, its adapter's.
func (p Platform) Name() string { return p.Adapter.Name() }

// OptionType is the type of a target option's value.
type OptionType string

const (
	OptionString   OptionType = "string"
	OptionBool     OptionType = "boolean" // true or false
	OptionInt      OptionType = "integer"
	OptionDuration OptionType = "duration" // 30s, 2m
)

// Option declares one adapter-specific target option.
type Option struct {
	Name string
	Type OptionType
	// Doc says what it does, for `pbxbatch kinds` and error messages.
	Doc string
}

// Check returns the canonical form of a value ("true", "30s"), or an error
// saying what the option takes.
func (o Option) Check(value string) (string, error) {
	switch o.Type {
	case OptionBool:
		b, err := strconv.ParseBool(value)
		if err != nil || (value != "true" && value != "false") {
			return "", fmt.Errorf("option %s is true or false, not %q", o.Name, value)
		}
		return strconv.FormatBool(b), nil
	case OptionInt:
		n, err := strconv.Atoi(value)
		if err != nil {
			return "", fmt.Errorf("option %s is a whole number, not %q", o.Name, value)
		}
		return strconv.Itoa(n), nil
	case OptionDuration:
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return "", fmt.Errorf("option %s is a duration such as 30s or 2m, not %q", o.Name, value)
		}
		return d.String(), nil
	}
	return value, nil
}

// Registry maps names to platforms. Build one explicitly at start-up (no
// init() side effects, no global list); Register panics on a duplicate or
// an incomplete platform, so wiring mistakes fail at once.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Platform
}

func NewRegistry(ps ...Platform) *Registry {
	r := &Registry{m: map[string]Platform{}}
	for _, p := range ps {
		r.Register(p)
	}
	return r
}

// Register adds a platform. A platform offered to users must bring its
// simulator and its sample generator.
func (r *Registry) Register(p Platform) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.Adapter == nil {
		panic("adapters: Register of a platform without an adapter")
	}
	name := p.Name()
	if _, dup := r.m[name]; dup {
		panic("adapters: duplicate platform " + name)
	}
	if !p.Internal && (p.Simulator == nil || p.Sample == nil) {
		panic("adapters: platform " + name + " has no simulator or no sample generator")
	}
	r.m[name] = p
}

// Platform returns the named platform or an error naming the known ones.
func (r *Registry) Platform(name string) (Platform, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if p, ok := r.m[name]; ok {
		return p, nil
	}
	known := strings.Join(r.names(), ", ")
	if name == "" {
		return Platform{}, fmt.Errorf("name the platform (one of %s)", known)
	}
	if s := spelling.Suggest(name, r.names()); s != "" {
		return Platform{}, fmt.Errorf("unknown adapter %q: did you mean %s? (known: %s)", name, s, known)
	}
	return Platform{}, fmt.Errorf("unknown adapter %q (known: %s)", name, known)
}

// Get returns the named platform's adapter or an error naming the known
// ones.
func (r *Registry) Get(name string) (Adapter, error) {
	p, err := r.Platform(name)
	return p.Adapter, err
}

// Names lists the platforms offered to users, sorted; internal ones are
// left out.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.names()
}

func (r *Registry) names() []string {
	out := make([]string, 0, len(r.m))
	for n, p := range r.m {
		if !p.Internal {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return slices.Clip(out)
}
