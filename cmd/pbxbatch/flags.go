package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Defaults of the global flags; hints leave out the flags at their default.
const (
	defaultConfig   = "pbxbatch.yaml"
	defaultStateDir = ".pbxbatch"
)

// globalFlagUse lists, per command, the root's flags that mean something to
// it; help shows only those under "Global Flags". The others are still
// accepted everywhere, so that a script that puts --config before any
// command keeps working.
var globalFlagUse = map[string][]string{
	"apply":  {"config", "state-dir", "verbose"},
	"plan":   {"config", "verbose"},
	"resume": {"config", "state-dir", "verbose"},
	"export": {"config", "verbose"},
	"runs":   {"state-dir"},
	"status": {"state-dir"},
	"report": {"state-dir"},
	"sim":    {"state-dir"}, // where --tls writes its certificate
}

// scopeGlobalFlags makes each command's help list only the global flags it
// uses.
func scopeGlobalFlags(root *cobra.Command) {
	tmpl := strings.NewReplacer(
		".HasAvailableInheritedFlags", "(meaningfulGlobals .).HasAvailableFlags",
		".InheritedFlags.FlagUsages", "(meaningfulGlobals .).FlagUsages",
	).Replace(root.UsageTemplate())
	for _, c := range root.Commands() {
		c.SetUsageTemplate(tmpl)
	}
}

func init() {
	cobra.AddTemplateFunc("meaningfulGlobals", func(c *cobra.Command) *pflag.FlagSet {
		out := pflag.NewFlagSet(c.Name(), pflag.ContinueOnError)
		top := c
		for top.HasParent() && top.Parent().HasParent() {
			top = top.Parent()
		}
		c.InheritedFlags().VisitAll(func(f *pflag.Flag) {
			if slices.Contains(globalFlagUse[top.Name()], f.Name) {
				out.AddFlag(f)
			}
		})
		return out
	})
}
