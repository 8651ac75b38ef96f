package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildVersion is what this binary is: the release version (set by the
// linker) or the module version, with the commit it was built from when the
// build recorded one (go build records it; -buildvcs=false, as CI builds,
// does not). Exports are stamped with it.
type buildVersion struct {
	Version  string // "v1.2.0", "(devel)" for a build from a checkout
	Commit   string // "" when unknown
	Modified bool   // built from a checkout with uncommitted changes
	Go       string
}

func readBuildVersion() buildVersion {
	v := buildVersion{Version: version}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Go = info.GoVersion
	if version == "dev" && info.Main.Version != "" {
		v.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the one-line form: "v1.2.0 (commit 0123abcd4567)",
// "(devel) (commit 0123abcd4567, modified)", "(devel) (commit unknown)".
func (v buildVersion) String() string {
	commit := "commit unknown"
	if v.Commit != "" {
		commit = "commit " + v.Commit[:min(12, len(v.Commit))]
		if v.Modified {
			commit += ", modified"
		}
	}
	return fmt.Sprintf("%s (%s)", v.Version, commit)
}

func newVersionCmd(*globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit this binary was built from",
		Long: `version prints the version of pbxbatch and the commit it was built from, as
recorded in the binary's build information (the same text as --version).
Exports record it in their metadata (tool_version). A binary built without
version control information (go build -buildvcs=false) says "commit
unknown".

EXIT STATUS
  0  printed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readBuildVersion()
			fmt.Fprintf(cmd.OutOrStdout(), "pbxbatch %s\n", v)
			if v.Commit != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "commit:  %s\n", v.Commit)
			}
			if v.Go != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "go:      %s\n", v.Go)
			}
			return nil
		},
	}
}
