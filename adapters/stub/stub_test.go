package stub_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/adaptertest"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/schemas"
)

func conformance(a *stub.Adapter, target adapters.Target) adaptertest.Config {
	return adaptertest.Config{
		Adapter: a, Target: target, Fixture: stub.Fixture,
		Paging: 120, PagingKind: "site",
		ExpireAuth:  a.ExpireTokens,
		RevokeAuth:  func() { a.RevokeAuth(true) },
		RestoreAuth: func() { a.RevokeAuth(false) },
	}
}

func TestConformanceInMemory(t *testing.T) {
	a := stub.New()
	a.SetPassword("s3cret")
	adaptertest.Run(t, conformance(a, adapters.Target{Password: adapters.NewSecret("s3cret")}))
	if n := a.Stats().Logins; n < 2 {
		t.Errorf("logins = %d, want a re-login after the expired session", n)
	}
}

func TestConformanceOverHTTP(t *testing.T) {
	a := stub.New()
	a.SetPassword("s3cret")
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	adaptertest.Run(t, conformance(a, adapters.Target{URL: srv.URL, Password: adapters.NewSecret("s3cret")}))
}

func TestWrongPasswordIsAuth(t *testing.T) {
	a := stub.New()
	a.SetPassword("right")
	_, err := a.Open(context.Background(), adapters.Target{Password: adapters.NewSecret("wrong")})
	if adapters.ClassOf(err) != adapters.Auth {
		t.Fatalf("Open with a wrong password: %v, want class auth", err)
	}
}

func open(t *testing.T, a *stub.Adapter) adapters.Conn {
	t.Helper()
	c, err := a.Open(context.Background(), adapters.Target{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func create(ctx context.Context, c adapters.Conn, kind string, r schemas.Record) error {
	_, err := c.Apply(ctx, adapters.Change{Kind: kind, Action: adapters.Create, Record: r})
	return err
}

func TestReferentialIntegrity(t *testing.T) {
	ctx := context.Background()
	a := stub.New()
	c := open(t, a)
	if err := create(ctx, c, "group", stub.Fixture("group", 0)); adapters.ClassOf(err) != adapters.Permanent {
		t.Fatalf("group in a missing site: %v, want permanent", err)
	}
	for _, k := range []string{"site", "group", "person", "phone"} {
		if err := create(ctx, c, k, stub.Fixture(k, 0)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Apply(ctx, adapters.Change{Kind: "person", Action: adapters.Delete, Record: stub.Fixture("person", 0)})
	var e *adapters.Error
	if !errors.As(err, &e) || e.Class != adapters.Permanent || e.Message == "" {
		t.Fatalf("deleting a referenced person: %v, want a permanent error naming the phone", err)
	}
	if got := a.Records("person"); len(got) != 1 {
		t.Fatalf("person deleted despite the refusal: %v", got)
	}
}

func TestFaultRules(t *testing.T) {
	ctx := context.Background()
	a := stub.New()
	c := open(t, a)
	a.AddFault(stub.Fault{Op: "create", Kind: "site", Every: 2, Times: 2, Class: adapters.Throttled, RetryAfter: 3 * time.Second})
	a.AddFault(stub.Fault{Op: "create", Key: "site-5", Class: adapters.Unknown, Applied: true, Times: 1})

	var throttled int
	for i := range 4 {
		err := create(ctx, c, "site", stub.Fixture("site", i))
		if adapters.ClassOf(err) == adapters.Throttled {
			throttled++
			if adapters.RetryAfterOf(err) != 3*time.Second {
				t.Errorf("Retry-After = %v, want 3s", adapters.RetryAfterOf(err))
			}
		}
	}
	if throttled != 2 {
		t.Errorf("every 2nd create throttled: got %d of 4", throttled)
	}
	if len(a.Records("site")) != 2 {
		t.Errorf("throttled creates must not land: %d sites", len(a.Records("site")))
	}
	err := create(ctx, c, "site", stub.Fixture("site", 5))
	if adapters.ClassOf(err) != adapters.Unknown {
		t.Fatalf("applied-but-unknown fault: %v", err)
	}
	if _, err := c.Get(ctx, "site", schemas.Record{"siteName": "site-5"}); err != nil {
		t.Fatalf("the write reported unknown must have landed: %v", err)
	}
	// The retry a naive client would send is a duplicate.
	if err := create(ctx, c, "site", stub.Fixture("site", 5)); adapters.ClassOf(err) != adapters.Conflict {
		t.Fatalf("blind repeat: %v, want conflict", err)
	}
	if s := a.Stats(); s.DuplicateCreates != 1 || s.Calls["site/create"] != 6 {
		t.Errorf("stats = %+v, want 1 duplicate create and 6 site creates", s)
	}
}

func TestProbabilityFaultsAreSeeded(t *testing.T) {
	run := func() int {
		a := stub.New()
		a.SetSeed(7)
		a.AddFault(stub.Fault{Op: "get", Probability: 0.3, Class: adapters.Retryable})
		c := open(t, a)
		n := 0
		for range 200 {
			if _, err := c.Get(context.Background(), "site", schemas.Record{"siteName": "x"}); adapters.ClassOf(err) == adapters.Retryable {
				n++
			}
		}
		return n
	}
	n1, n2 := run(), run()
	if n1 != n2 || n1 < 30 || n1 > 90 {
		t.Fatalf("faults with probability 0.3 over 200 calls: %d then %d, want the same number near 60", n1, n2)
	}
}

func TestLocksAndConcurrencyCounters(t *testing.T) {
	ctx := context.Background()
	a := stub.New()
	c := open(t, a)
	for _, k := range []string{"site", "group", "person"} {
		if err := create(ctx, c, k, stub.Fixture(k, 0)); err != nil {
			t.Fatal(err)
		}
	}
	got := a.Locks(adapters.Change{Kind: "phone", Action: adapters.Create, Record: stub.Fixture("phone", 3)})
	if len(got) != 2 || got[1] != "person/user0" {
		t.Fatalf("Locks(phone) = %v, want its own record and person/user0", got)
	}
	a.SetLatency(20 * time.Millisecond)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if err := create(ctx, c, "phone", stub.Fixture("phone", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s := a.Stats()
	if s.MaxPerLock != 4 || s.MaxConcurrency != 4 {
		t.Fatalf("4 unserialised phones of one owner: MaxPerLock=%d MaxConcurrency=%d, want 4 and 4", s.MaxPerLock, s.MaxConcurrency)
	}
}

func TestCancelledWriteAfterLandingIsUnknown(t *testing.T) {
	a := stub.New()
	c := open(t, a)
	a.SetLatency(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	err := create(ctx, c, "site", stub.Fixture("site", 0))
	if adapters.ClassOf(err) != adapters.Unknown || len(a.Records("site")) != 1 {
		t.Fatalf("gave up after the write landed: %v, %d sites; want unknown and 1 site", err, len(a.Records("site")))
	}
}

func TestSecretKeptOnUpdateAndNeverRead(t *testing.T) {
	ctx := context.Background()
	a := stub.New()
	c := open(t, a)
	for _, k := range []string{"site", "group", "person"} {
		if err := create(ctx, c, k, stub.Fixture(k, 0)); err != nil {
			t.Fatal(err)
		}
	}
	upd := stub.Fixture("person", 0)
	delete(upd, "pin")
	upd["email"] = "a@example.com"
	if _, err := c.Apply(ctx, adapters.Change{Kind: "person", Action: adapters.Update, Record: upd}); err != nil {
		t.Fatal(err)
	}
	if pin := a.Records("person")[0].String("pin"); pin != stub.Fixture("person", 0).String("pin") {
		t.Errorf("an update without the PIN changed it to %q", pin)
	}
	got, err := c.Get(ctx, "person", schemas.Record{"userId": "user0"})
	if err != nil || got.String("pin") != "" || got.String("email") != "a@example.com" {
		t.Errorf("Get = %v, %v; want the email and no PIN", got, err)
	}
}
