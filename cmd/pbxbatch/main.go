// Command pbxbatch validates, plans, applies, exports and diffs bulk
// telephony provisioning against PBX platforms. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set by the linker (-X main.version=…) for releases.
var version = "dev"

// globalOptions are the flags every command shares.
type globalOptions struct {
	config   string // path of pbxbatch.yaml
	stateDir string // root of run directories
	verbose  bool
}

func newRootCmd() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "pbxbatch",
		Short: "Bulk import/export for telephony provisioning (MX-ONE, sipXcom, Verba, APIO, Acrobits)",
		Long: `pbxbatch turns workbooks into records on a PBX and back:
validate a workbook against the platform's schemas, plan the changes against
the live target, apply them with a rate-limited, resumable runner, export a
full inventory, and diff two exports.

EXIT STATUS
  0  success (plan: no changes; diff: identical)
  1  error
  2  plan has changes / diff found differences
  3  some rows failed or were blocked (the report is written)
  130 cancelled (resumable)`,
		Version:       readBuildVersion().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.config, "config", defaultConfig, "targets file")
	root.PersistentFlags().StringVar(&g.stateDir, "state-dir", defaultStateDir, "where runs (journals, reports) are kept")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log every request to the target (method, URL, status, time; never credentials or bodies), and list every field of planned creates")
	root.SetVersionTemplate("pbxbatch {{.Version}}\n")
	for _, newCmd := range []func(*globalOptions) *cobra.Command{
		// Every subcommand, each in its own cmd_<name>.go; help lists them
		// sorted.
		newTemplateCmd, newValidateCmd, newKindsCmd, newPlanCmd, newApplyCmd, newRunsCmd, newStatusCmd,
		newResumeCmd, newReportCmd, newExportCmd, newDiffCmd, newSimCmd, newDemoCmd,
		newVersionCmd, newConfigCmd,
		newMapCmd,
		newMigrateCmd,
	} {
		root.AddCommand(newCmd(g))
	}
	scopeGlobalFlags(root)
	registerCompletions(root, g)
	return root
}

func main() {
	os.Exit(runMain(os.Args[1:]))
}

func runMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if err != nil && !isSilent(err) {
		fmt.Fprintln(os.Stderr, "pbxbatch:", err)
	}
	return code
}
