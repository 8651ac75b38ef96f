package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// kindInfo is one kind as `kinds --format json` prints it.
type kindInfo struct {
	Kind       string    `json:"kind"`
	Sheet      string    `json:"sheet"` // the plural a sheet or CSV file may be named after
	Title      string    `json:"title,omitempty"`
	Key        []string  `json:"key"`
	References []kindRef `json:"references"`
	Required   []string  `json:"required"`
	Secrets    []string  `json:"secrets"`
	ReadOnly   bool      `json:"read_only,omitempty"`
	Fields     int       `json:"fields"`
}

type kindRef struct {
	Field string `json:"field"`
	Kind  string `json:"kind"`
	Many  bool   `json:"many,omitempty"`
}

func newKindsCmd(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "kinds ADAPTER [--format text|json]",
		Short: "List an adapter's kinds in dependency order, with keys, references and secrets",
		Long: `kinds lists the record kinds of an adapter in the order they are created
(every kind after the kinds it references), each with its natural key, the
fields that reference other kinds, its required fields and its secret fields
(never printed, logged or reported in clear). Read-only kinds are catalogues
of the platform: export writes them, import ignores them. The text output
ends with the options a target of the platform may set in pbxbatch.yaml.

EXIT STATUS
  0  success
  1  unknown adapter, or its schemas are broken`,
		Example: "  pbxbatch kinds mxone\n  pbxbatch kinds mxone --format json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: use text or json", format)
			}
			p, err := registry().Platform(args[0])
			if err != nil {
				return err
			}
			infos, err := describeKinds(p.Adapter.Kinds())
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), infos)
			}
			return writeKindsText(cmd.OutOrStdout(), p, infos)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func describeKinds(set *schemas.Set) ([]kindInfo, error) {
	order, err := set.Order()
	if err != nil {
		return nil, err
	}
	var importable, catalogues []kindInfo
	for _, k := range order {
		info := kindInfo{Kind: k.Name, Sheet: k.Plural, Title: k.Title, Key: k.Key, ReadOnly: k.ReadOnly,
			References: []kindRef{}, Required: []string{}, Secrets: []string{}, Fields: len(k.Fields)}
		for _, r := range k.Refs {
			info.References = append(info.References, kindRef{Field: r.Field, Kind: r.Kind, Many: r.Many})
		}
		for _, f := range k.Fields {
			if f.Required {
				info.Required = append(info.Required, f.Path)
			}
			if f.Secret {
				info.Secrets = append(info.Secrets, f.Path)
			}
		}
		if k.ReadOnly {
			catalogues = append(catalogues, info)
		} else {
			importable = append(importable, info)
		}
	}
	return append(importable, catalogues...), nil
}

func writeKindsText(w io.Writer, p adapters.Platform, infos []kindInfo) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s kinds, in the order they are created:\n", p.Name())
	shownCatalogues := false
	n := 0
	for _, k := range infos {
		if k.ReadOnly && !shownCatalogues {
			b.WriteString("\nRead-only catalogues (exported, ignored by import):\n")
			shownCatalogues = true
		}
		n++
		fmt.Fprintf(&b, "\n%2d. %s  (sheet %q", n, k.Kind, k.Sheet)
		if k.Title != "" && !strings.EqualFold(k.Title, strings.ReplaceAll(k.Kind, "_", " ")) {
			fmt.Fprintf(&b, ", %s", k.Title)
		}
		fmt.Fprintf(&b, ", %d fields)\n", k.Fields)
		fmt.Fprintf(&b, "    key:        %s\n", strings.Join(k.Key, " + "))
		refs := "-"
		if len(k.References) > 0 {
			var parts []string
			for _, r := range k.References {
				s := r.Field + " → " + r.Kind
				if r.Many {
					s += " (list)"
				}
				parts = append(parts, s)
			}
			refs = strings.Join(parts, ", ")
		}
		fmt.Fprintf(&b, "    references: %s\n", refs)
		fmt.Fprintf(&b, "    required:   %s\n", orDash(k.Required))
		fmt.Fprintf(&b, "    secrets:    %s\n", orDash(k.Secrets))
	}
	if len(p.Options) > 0 {
		b.WriteString("\nTarget options (pbxbatch.yaml, under options:):\n")
		for _, o := range p.Options {
			fmt.Fprintf(&b, "  %s (%s): %s\n", o.Name, o.Type, o.Doc)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}
