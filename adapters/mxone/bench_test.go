package mxone_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/mxone"
	"github.com/pbxbatch/pbxbatch/adapters/mxone/sim"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// BenchmarkCreateUserAndExtension measures the adapter's cost of one
// rollout row pair (a user, then an IP extension owned by it) against the
// in-process simulator without latency, and reports the HTTP requests it
// takes: the "ideal" of an apply benchmark must count these read-backs and
// link calls.
func BenchmarkCreateUserAndExtension(b *testing.B) {
	s, err := sim.New(sim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := s.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	user, pass := s.Credentials()
	t := adapters.Target{URL: srv.URL, Username: user, Password: adapters.NewSecret(pass), HTTPClient: srv.Client()}
	ctx := context.Background()
	c, err := mxoneOpen(ctx, t)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	setup := []adapters.Change{
		{Kind: "location", Action: adapters.Create, Record: schemas.Record{"locationName": "B"}},
		{Kind: "subsystem", Action: adapters.Create, Record: schemas.Record{"subsystemName": "MXB", "subsystemType": "TelephonyServer",
			"location": "B", "numberSeries": []any{"EX:100000-999999"}}},
		{Kind: "department", Action: adapters.Create, Record: schemas.Record{"departmentName": "D", "location": "B"}},
	}
	for _, ch := range setup {
		if _, err := c.Apply(ctx, ch); err != nil {
			b.Fatal(err)
		}
	}
	before := s.Stats().TotalRequests()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		uid := fmt.Sprintf("bench%07d", i)
		if _, err := c.Apply(ctx, adapters.Change{Kind: "user", Action: adapters.Create, Record: schemas.Record{
			"userId": uid, "firstName": "B", "lastName": "M", "departments": []any{"D"}}}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Apply(ctx, adapters.Change{Kind: "extension", Action: adapters.Create, Record: schemas.Record{
			"extensionNumber": fmt.Sprint(100000 + i), "subsystemName": "MXB", "extensionType": "ip", "owner": uid,
			"macAddress": "00:11:22:33:44:55"}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(s.Stats().TotalRequests()-before)/float64(b.N), "requests/op")
}

func mxoneOpen(ctx context.Context, t adapters.Target) (adapters.Conn, error) {
	return mxone.New().Open(ctx, t)
}
