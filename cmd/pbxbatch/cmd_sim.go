package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/batch/seed"
	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// simPasswordEnv is the variable the printed target reads its password from.
const simPasswordEnv = "PBXBATCH_SIM_PASSWORD"

func newSimCmd(g *globalOptions) *cobra.Command {
	var (
		listen, username, password, seedPath, faults, caOut string
		o                                                   simkit.Options
	)
	cmd := &cobra.Command{
		Use:   "sim ADAPTER [flags]",
		Short: "Run a simulator of a platform's API on this machine, for rehearsals and tests",
		Long: `sim serves a faithful in-memory copy of ADAPTER's provisioning API (` + strings.Join(registry().Names(), ", ") + `)
until interrupted: same paths, verbs, envelopes, status codes, pagination and
auth flow as the real system, and the integrity rules a real PBX enforces.
Rehearse a rollout or a migration against it before touching production.

It prints its URL, the credentials to use and a target ready to paste into
pbxbatch.yaml. With --tls it serves HTTPS with a self-signed certificate and
writes that certificate (the CA to trust) to --ca-out.

--seed loads an inventory first, in the import format (for instance a
` + "`pbxbatch export`" + ` of the production system); POST /_sim/reset restores it.
GET /_sim/stats returns counters (requests per route, creates per kind,
duplicate-create attempts, faults injected, max concurrent requests). Both
answer only to loopback clients.

Switches to make it misbehave like a busy PBX: --latency and --jitter (each
request waits latency + a uniform 0..jitter), --fault-rate with --faults (a
comma-separated list of 429, 503, 500, timeout, drop; prefix write/ to hit
only writes, suffix @after to apply the change and then fail, which tempts
clients into duplicate creates; the default list has both kinds), and
--rate-limit (requests per second; above it 429 with Retry-After).

The simulator's password defaults to $` + simPasswordEnv + `, else "admin".

EXIT STATUS
  0  stopped by an interrupt (Ctrl-C) or SIGTERM
  1  could not start: unknown adapter, bad flag, address in use, invalid seed`,
		Example: `  pbxbatch sim mxone
  pbxbatch sim mxone --listen 127.0.0.1:0 --seed inventory.xlsx --tls
  pbxbatch sim mxone --latency 20ms --jitter 5ms --fault-rate 0.05 --rate-limit 100
  pbxbatch sim apio --set DEFAULT_CALL_TYPE=default --set GROUPS="footenant/foogroup;acme/hq"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := registry().Platform(args[0])
			if err != nil || p.Internal {
				return fmt.Errorf("no simulator for adapter %q; available: %s", args[0], strings.Join(registry().Names(), ", "))
			}
			if o.FaultRate < 0 || o.FaultRate > 1 {
				return fmt.Errorf("--fault-rate %v: give a fraction between 0 and 1 (0.05 = 5 %%)", o.FaultRate)
			}
			if o.RateLimit < 0 {
				return fmt.Errorf("--rate-limit %v: give requests per second, or 0 for no limit", o.RateLimit)
			}
			if o.Faults, err = simkit.ParseFaults(faults); err != nil {
				return fmt.Errorf("--faults: %w", err)
			}
			if password == "" {
				password = os.Getenv(simPasswordEnv)
			}
			if password == "" {
				password = "admin"
			}
			o.Username, o.Password = username, password
			var records simkit.Seed
			if seedPath != "" {
				if records, err = seed.Read(cmd.Context(), p.Adapter.Kinds(), seedPath); err != nil {
					return err
				}
			}
			h, err := p.Simulator(cmd.Context(), o, records)
			if err != nil {
				return err
			}
			if listen == "" {
				listen = defaultSimListen(o.TLS)
			}
			srv, err := simkit.Start(listen, h, o)
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("%s is taken (another simulator?): %w; serve on any free port with --listen 127.0.0.1:0", listen, err)
			}
			if err != nil {
				return err
			}
			if o.TLS {
				if caOut == "" {
					caOut = filepath.Join(g.stateDir, "sim-"+args[0]+"-ca.pem")
				}
				if err := writeCA(caOut, srv.CAPEM); err != nil {
					srv.Close()
					return err
				}
			}
			printSimBanner(cmd.OutOrStdout(), args[0], srv, username, password, caOut, seedPath)
			<-cmd.Context().Done()
			fmt.Fprintln(cmd.OutOrStdout(), "pbxbatch sim: stopping")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// Held "timeout" faults would keep a graceful shutdown waiting.
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "", "address to serve on (host:port; port 0 picks a free one) (default 127.0.0.1:8080, with --tls 127.0.0.1:8443)")
	f.StringVar(&username, "username", "admin", "username the simulator accepts")
	f.StringVar(&password, "password", "", "password the simulator accepts (default $"+simPasswordEnv+", else admin)")
	f.StringVar(&seedPath, "seed", "", "workbook (.xlsx, .csv or directory) to load first, in the import format")
	f.DurationVar(&o.Latency, "latency", 0, "added to every request")
	f.DurationVar(&o.LatencyJitter, "jitter", 0, "plus a uniform random 0..jitter per request")
	f.Float64Var(&o.FaultRate, "fault-rate", 0, "fraction of requests (0..1) answered with an injected fault")
	f.StringVar(&faults, "faults", "", "faults to draw from: 429,503,500,timeout,drop with optional write/ prefix and @after suffix (default: all)")
	f.Int64Var(&o.FaultSeed, "fault-seed", 1, "seed of the fault and jitter draws (same seed, same sequence)")
	f.DurationVar(&o.TimeoutHold, "timeout-hold", 30*time.Second, "how long a timeout fault holds a request before answering 504")
	f.Float64Var(&o.RateLimit, "rate-limit", 0, "requests per second accepted; above it 429 with Retry-After (0 = no limit)")
	f.BoolVar(&o.TLS, "tls", false, "serve HTTPS with a self-signed certificate")
	f.StringVar(&caOut, "ca-out", "", "with --tls, where to write the certificate to trust (default STATE-DIR/sim-ADAPTER-ca.pem)")
	f.DurationVar(&o.TokenLifetime, "token-lifetime", 0, "lifetime of issued tokens (default: the platform's documented one)")
	f.StringToStringVar(&o.Settings, "set", nil, "a platform setting KEY=VALUE the simulator knows (apio: DEFAULT_CALL_TYPE, CALL_TYPES, GROUPS; lists take ;); repeatable")
	return cmd
}

// defaultSimListen is where sim serves without --listen: the port says
// what it speaks (8443 for HTTPS, 8080 for plain HTTP).
func defaultSimListen(tls bool) string {
	if tls {
		return "127.0.0.1:8443"
	}
	return "127.0.0.1:8080"
}

func writeCA(path string, pem []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing the simulator's certificate: %w", err)
	}
	if err := os.WriteFile(path, pem, 0o644); err != nil {
		return fmt.Errorf("writing the simulator's certificate: %w", err)
	}
	return nil
}

func printSimBanner(w io.Writer, adapter string, srv *simkit.Server, username, password, caFile, seed string) {
	fmt.Fprintf(w, "pbxbatch sim: %s simulator listening on %s\n", adapter, srv.URL)
	if seed != "" {
		fmt.Fprintf(w, "seeded from %s (POST %s/_sim/reset restores it)\n", seed, srv.URL)
	}
	// Never the password itself: this banner ends up in terminals'
	// scrollback and CI logs.
	fmt.Fprintf(w, "credentials: username %s, password %s (set $%s to it where pbxbatch runs)\n", username, passwordSource(password), simPasswordEnv)
	fmt.Fprintf(w, "counters:    curl %s%s/_sim/stats\n", curlTLS(caFile), srv.URL)
	if host, _, err := net.SplitHostPort(srv.Addr); err == nil {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			fmt.Fprintf(w, "note: /_sim/ answers only to clients on this machine\n")
		}
	}
	fmt.Fprintf(w, "\nready to paste into pbxbatch.yaml:\n\n")
	fmt.Fprintf(w, "targets:\n  sim-%s:\n    adapter: %s\n    url: %s\n    username: %s\n    password_env: %s\n    rate: 50\n    concurrency: 8\n",
		adapter, adapter, srv.URL, username, simPasswordEnv)
	if caFile != "" {
		abs, err := filepath.Abs(caFile)
		if err != nil {
			abs = caFile
		}
		fmt.Fprintf(w, "    tls:\n      ca_file: %s\n", abs)
	}
	fmt.Fprintf(w, "\nserving until interrupted (Ctrl-C)\n")
}

// passwordSource says where the simulator's password came from, without it.
func passwordSource(password string) string {
	switch {
	case password == "admin":
		return "the default (admin)"
	case password == os.Getenv(simPasswordEnv):
		return "from $" + simPasswordEnv
	}
	return "as given with --password"
}

func curlTLS(caFile string) string {
	if caFile == "" {
		return ""
	}
	return "--cacert " + caFile + " "
}
