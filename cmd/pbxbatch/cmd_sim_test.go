package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer lets the test read what the command prints while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSimCommandServesUntilInterrupted(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed")
	os.Mkdir(seed, 0o700)
	os.WriteFile(filepath.Join(seed, "locations.csv"), []byte("locationName\nStockholm\n"), 0o600)
	ca := filepath.Join(dir, "ca.pem")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	cmd := newSimCmd(&globalOptions{stateDir: dir})
	cmd.SetArgs([]string{"mxone", "--listen", "127.0.0.1:0", "--password", "sim-pw-Zq9", "--seed", seed, "--tls", "--ca-out", ca, "--rate-limit", "1000"})
	cmd.SetOut(out)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	urlRe := regexp.MustCompile(`url: (https://127\.0\.0\.1:\d+)`)
	var url string
	for range 200 {
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("command ended early: %v\n%s", err, out)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if url == "" {
		t.Fatalf("no target printed:\n%s", out)
	}
	for _, want := range []string{"adapter: mxone", "username: admin", "password_env: PBXBATCH_SIM_PASSWORD", "rate: 50", "concurrency: 8", "ca_file: " + ca, "password as given with --password"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}

	if strings.Contains(out.String(), "sim-pw-Zq9") {
		t.Errorf("the banner prints the password:\n%s", out)
	}

	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("ca file holds no certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Post(url+"/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"sim-pw-Zq9"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("login with the printed credentials: %d", resp.StatusCode)
	}
	resp, err = hc.Get(url + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"POST /auth/login":1`) {
		t.Errorf("stats %s", body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("interrupt ended the command with %v, want success", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not stop on interrupt")
	}
}

func TestSimCommandRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nosuch"}, `no simulator for adapter "nosuch"`},
		{[]string{"mxone", "--faults", "418"}, "--faults"},
		{[]string{"mxone", "--fault-rate", "5"}, "between 0 and 1"},
		{[]string{"mxone", "--seed", "/nonexistent/seed.xlsx"}, "seed.xlsx"},
	} {
		cmd := newSimCmd(&globalOptions{stateDir: t.TempDir()})
		cmd.SetArgs(append(tc.args, "--listen", "127.0.0.1:0"))
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}
