package adaptertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// TLSVerified checks that a simulator serving a self-signed certificate
// (t.URL, its CA in caPEM) is refused unless the target trusts that CA,
// with an error not worth retrying, and that trusting it lets kind be
// listed. Every HTTP adapter builds its client through internal/httpclient;
// this proves the adapter does not bypass it with a client of its own.
func TLSVerified(t *testing.T, a adapters.Adapter, target adapters.Target, caPEM []byte, kind string) {
	t.Helper()
	ctx := context.Background()
	untrusted := target
	untrusted.HTTPClient = nil
	if _, err := a.Open(ctx, untrusted); adapters.ClassOf(err) != adapters.Permanent || err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("Open against an untrusted certificate: %v, want a permanent 'not trusted' error", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	trusted := untrusted
	trusted.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c, err := a.Open(ctx, trusted)
	if err != nil {
		t.Fatalf("Open trusting the simulator's CA: %v", err)
	}
	defer c.Close()
	if err := c.List(ctx, kind, func(schemas.Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
