package adaptertest_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/adaptertest"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// The suite must be able to fail: TestSuiteCatchesBrokenAdapters runs it
// (in a child process, so that its failures are observed, not suffered)
// against adapters broken on purpose and checks which subtests fail.

const brokenEnv = "ADAPTERTEST_BROKEN"

// broken is the stub with one defect, named by how.
type broken struct {
	*stub.Adapter
	how string
}

// Locks forgets the owner a phone write links ("no_owner_lock").
func (b broken) Locks(c adapters.Change) []string {
	if b.how == "no_owner_lock" {
		return nil
	}
	return b.Adapter.Locks(c)
}

func (b broken) Open(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	c, err := b.Adapter.Open(ctx, t)
	if err != nil {
		return nil, err
	}
	return &brokenConn{Conn: c, how: b.how, pins: map[string]string{}}, nil
}

type brokenConn struct {
	adapters.Conn
	how  string
	mu   sync.Mutex
	pins map[string]string // userId → the PIN last written
}

func (c *brokenConn) Apply(ctx context.Context, ch adapters.Change) (adapters.Result, error) {
	if pin := ch.Record.String("pin"); pin != "" {
		c.mu.Lock()
		c.pins[ch.Record.String("userId")] = pin
		c.mu.Unlock()
	}
	return c.Conn.Apply(ctx, ch)
}

// leak puts the PIN back in clear ("secret_in_clear").
func (c *brokenConn) leak(r schemas.Record) schemas.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pin, ok := c.pins[r.String("userId")]; ok && c.how == "secret_in_clear" {
		r = r.Clone()
		r["pin"] = pin
	}
	return r
}

func (c *brokenConn) Get(ctx context.Context, kind string, key schemas.Record) (schemas.Record, error) {
	r, err := c.Conn.Get(ctx, kind, key)
	if c.how == "wrong_class" && adapters.IsNotFound(err) {
		return nil, adapters.Errorf(adapters.Permanent, "no such record")
	}
	if err != nil {
		return nil, err
	}
	return c.leak(r), nil
}

func (c *brokenConn) List(ctx context.Context, kind string, fn func(schemas.Record) error) error {
	return c.Conn.List(ctx, kind, func(r schemas.Record) error {
		err := fn(c.leak(r))
		if c.how == "list_ignores_stop" {
			return nil
		}
		return err
	})
}

// TestBrokenAdapter is the child: it runs only when the parent asks.
func TestBrokenAdapter(t *testing.T) {
	how := os.Getenv(brokenEnv)
	if how == "" {
		t.Skip("run by TestSuiteCatchesBrokenAdapters")
	}
	a := stub.New()
	adaptertest.Run(t, adaptertest.Config{
		Adapter: broken{Adapter: a, how: how}, Fixture: stub.Fixture,
		Paging: 3, PagingKind: "site", Written: a.Written,
	})
}

func TestSuiteCatchesBrokenAdapters(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("the child runs TestBrokenAdapter only")
	}
	verdict := regexp.MustCompile(`--- (PASS|FAIL): (TestBrokenAdapter/\S+)`)
	for how, c := range map[string]struct{ fail, pass []string }{
		"":                  {pass: []string{"site", "group", "person", "phone", "paging", "cleanup"}},
		"secret_in_clear":   {fail: []string{"person"}, pass: []string{"site", "group"}},
		"wrong_class":       {fail: []string{"site"}},
		"list_ignores_stop": {fail: []string{"paging"}, pass: []string{"site", "group", "person", "phone", "cleanup"}},
		"no_owner_lock":     {fail: []string{"phone"}, pass: []string{"site", "group", "person"}},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenAdapter$", "-test.v", "-test.count=1")
		env := how
		if env == "" {
			env = "none" // the unbroken stub, to show the checks are not always failing
		}
		cmd.Env = append(os.Environ(), brokenEnv+"="+env)
		out, err := cmd.CombinedOutput()
		if (err == nil) != (len(c.fail) == 0) {
			t.Errorf("%s: the suite's run ended with %v, want failure %v\n%s", env, err, len(c.fail) > 0, out)
		}
		got := map[string][]string{}
		for _, m := range verdict.FindAllStringSubmatch(string(out), -1) {
			got[m[1]] = append(got[m[1]], m[2])
		}
		for verdict, names := range map[string][]string{"FAIL": c.fail, "PASS": c.pass} {
			for _, n := range names {
				if !slices.Contains(got[verdict], "TestBrokenAdapter/"+n) {
					t.Errorf("%s: subtest %s did not %s (failed %v, passed %v)", env, n, verdict, got["FAIL"], got["PASS"])
				}
			}
		}
	}
}
