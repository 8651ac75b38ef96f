package main

import (
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/batch/rundir"
	"github.com/pbxbatch/pbxbatch/internal/config"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// registerCompletions teaches shell completion (scripts from cobra's
// "pbxbatch completion bash|zsh|fish|powershell") the values pbxbatch
// knows: run ids, target names from the config file, adapters, kinds, and
// each command's --format values.
func registerCompletions(root *cobra.Command, g *globalOptions) {
	for _, c := range root.Commands() {
		switch c.Name() {
		case "resume", "status", "report":
			c.ValidArgsFunction = firstArg(func() []string { return runIDs(g) })
		case "kinds", "template", "sim":
			c.ValidArgsFunction = firstArg(registry().Names)
		}
		fixed := func(name string, values func(*cobra.Command) []string) {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
					return values(cmd), cobra.ShellCompDirectiveNoFileComp
				})
			}
		}
		fixed("target", func(*cobra.Command) []string { return targetNames(g) })
		fixed("adapter", func(*cobra.Command) []string { return registry().Names() })
		fixed("kinds", func(cmd *cobra.Command) []string { return kindNames(cmd, g) })
		fixed("kind", func(cmd *cobra.Command) []string { return kindNames(cmd, g) })
		fixed("format", formatValues)
	}
}

// firstArg completes the first argument from values, and no file names.
func firstArg(values func() []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return values(), cobra.ShellCompDirectiveNoFileComp
	}
}

func runIDs(g *globalOptions) []string {
	runs, err := rundir.List(g.stateDir)
	if err != nil {
		return nil
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID + "\t" + r.Target + ", " + string(r.State)
	}
	return ids
}

func targetNames(g *globalOptions) []string {
	f, err := config.Load(g.config)
	if err != nil {
		return nil
	}
	return f.Names()
}

// kindNames lists the kinds of the adapter the command line names (with
// --adapter, or through --target), else of every adapter.
func kindNames(cmd *cobra.Command, g *globalOptions) []string {
	adapters := registry().Names()
	if a, _ := cmd.Flags().GetString("adapter"); a != "" {
		adapters = []string{a}
	} else if name, _ := cmd.Flags().GetString("target"); name != "" {
		if f, err := config.Load(g.config); err == nil {
			if spec, err := f.Spec(name); err == nil && spec.Adapter != "" {
				adapters = []string{spec.Adapter}
			}
		}
	}
	var out []string
	for _, a := range adapters {
		set, err := schemas.Load(a)
		if err != nil {
			continue
		}
		for _, k := range set.Kinds {
			if !slices.Contains(out, k.Name) {
				out = append(out, k.Name)
			}
		}
	}
	return out
}

// formatUse finds a command's formats in its usage line, the one place
// they are listed: "diff OLD NEW [--format text|json|xlsx]".
var formatUse = regexp.MustCompile(`--format ([a-z|]+)`)

func formatValues(cmd *cobra.Command) []string {
	m := formatUse.FindStringSubmatch(cmd.Use)
	if m == nil {
		return nil
	}
	return strings.Split(m[1], "|")
}
