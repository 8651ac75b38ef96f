package main

import (
	"fmt"
	"os"

	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

const demoSipxPasswordEnv = "PBXBATCH_DEMO_SIPX_PASSWORD"

// migrate moves the demo site from the MX-ONE simulator (target "demo") to
// an empty sipXcom simulator it starts beside it, then runs the migration
// again to show it is all no-ops.
func (d *demo) migrate(config string) {
	if d.err != nil {
		return
	}
	sipx, err := registry().Platform("sipx")
	if err != nil {
		d.err = err
		return
	}
	o := simkit.Options{Username: "superadmin", Password: "demo-sipx"}
	sim, err := sipx.Simulator(d.ctx, o, nil)
	if err != nil {
		d.err = err
		return
	}
	srv, err := simkit.Start("127.0.0.1:0", sim, o)
	if err != nil {
		d.err = err
		return
	}
	defer srv.Close()
	d.do("sipXcom simulator for a migration: target \"sipx\"", func() error {
		f, err := os.OpenFile(config, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		os.Setenv(demoSipxPasswordEnv, "demo-sipx")
		fmt.Fprintf(d.stdout, "    sipXcom simulator at %s\n", srv.URL)
		_, err = fmt.Fprintf(f, "  sipx:\n    adapter: sipx\n    url: %s\n    username: superadmin\n    password_env: %s\n    rate: 500\n    concurrency: 8\n    timeout: 2s\n", srv.URL, demoSipxPasswordEnv)
		return err
	})
	d.step("map --profile mxone-to-sipx --explain", exitOK, d.path("profile.txt"), "map", "--profile", "mxone-to-sipx", "--explain")
	args := []string{"migrate", "--from", "demo", "--to", "sipx", "--profile", "mxone-to-sipx", "--out", d.path("migration"), "--yes", "--progress", "none"}
	d.step("migrate --from demo --to sipx --profile mxone-to-sipx --out migration/", exitOK, d.path("migrate.txt"), args...)
	d.step("migrate … again: all no-ops", exitOK, d.path("migrate-again.txt"), args...)
}
