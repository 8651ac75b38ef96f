package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// configExample is a pbxbatch.yaml with every key, commented. A test
// parses it, so it stays valid as the format changes.
const configExample = `# pbxbatch.yaml: the targets pbxbatch can reach (--config, default ./pbxbatch.yaml)
targets:
  lab:                                # the name --target uses
    adapter: mxone                    # pbxbatch kinds ADAPTER lists what it imports
    url: https://10.0.0.5:8443
    username: admin
    password_env: LAB_PASSWORD        # or password_file: a file only its owner can read
    rate: 50                          # requests per second at most, reads and retries included
    concurrency: 8                    # calls in flight at most
    timeout: 30s                      # per request
    description: MX-ONE test lab
    tls:
      ca_file: lab-ca.pem             # trust this CA (a relative path is relative to this file)
      insecure_skip_verify: false     # never true outside a lab
  rehearsal:                          # what "pbxbatch sim mxone" prints
    adapter: mxone
    url: http://127.0.0.1:8080
    username: admin
    password_env: PBXBATCH_SIM_PASSWORD
    rate: 50
    concurrency: 8
`

// configExampleHint points the help of the commands that read targets at
// the example.
const configExampleHint = `Targets come from the config file (--config); "pbxbatch config example"
prints one with every key explained.`

func newConfigCmd(*globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Help with pbxbatch.yaml, the targets file",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "Print an example pbxbatch.yaml with every key explained",
		Long: `config example prints a pbxbatch.yaml with every key a target takes,
commented. Save it, keep the targets you need, and set the password
variables it names:

  pbxbatch config example > pbxbatch.yaml

Passwords never go in the file or on the command line: password_env names
an environment variable, password_file a file only its owner can read.

EXIT STATUS
  0  printed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), configExample)
			return err
		},
	})
	return cmd
}
