package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// The printed target is named after the platform, and a plain-HTTP
// simulator is not on the port that says HTTPS.
func TestSimBannerNamesThePlatform(t *testing.T) {
	if got := defaultSimListen(false); strings.HasSuffix(got, ":8443") {
		t.Errorf("plain HTTP default %s is HTTPS's port", got)
	}
	if got := defaultSimListen(true); !strings.HasSuffix(got, ":8443") {
		t.Errorf("HTTPS default %s", got)
	}
	var b bytes.Buffer
	printSimBanner(&b, "sipx", &simkit.Server{URL: "http://127.0.0.1:8080", Addr: "127.0.0.1:8080"}, "admin", "pw", "", "")
	if !strings.Contains(b.String(), "\n  sim-sipx:\n    adapter: sipx\n") {
		t.Errorf("banner:\n%s", b.String())
	}
}

// A port in use gets the way out: any free port.
func TestSimSuggestsAFreePortWhenTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := newSimCmd(&globalOptions{stateDir: t.TempDir()})
	cmd.SetArgs([]string{"mxone", "--listen", ln.Addr().String()})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err = cmd.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--listen 127.0.0.1:0") || !strings.Contains(err.Error(), "is taken") {
		t.Errorf("err = %v, want the --listen 127.0.0.1:0 hint", err)
	}
}
