package mapping

import (
	"fmt"
	"io"
	"strings"
)

// Explain prints what a profile does, per target kind: the source kinds
// that feed it, each field's expression, filters, renames, defaults, the
// secrets policy, and what it drops on purpose.
func (p *Profile) Explain(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Profile %s (%s): %s → %s\n", p.Name, p.File, p.Source.Adapter, p.Target.Adapter)
	if p.Description != "" {
		fmt.Fprintf(&b, "%s\n", strings.TrimSpace(p.Description))
	}
	if len(p.Params) > 0 {
		b.WriteString("\nParameters (--set name=value):\n")
		for _, pa := range p.Params {
			fmt.Fprintf(&b, "  %s = %q", pa.Name, pa.Value)
			if pa.Help != "" {
				fmt.Fprintf(&b, "  %s", pa.Help)
			}
			b.WriteString("\n")
		}
	}
	for _, tk := range p.Kinds {
		fmt.Fprintf(&b, "\n%s:\n", tk.Kind.Name)
		for _, r := range tk.Rules {
			if r.From == nil {
				fmt.Fprintf(&b, "  %d constant %s (line %d)\n", len(r.Rows), plural(len(r.Rows), "row", "rows"), r.Line)
				for _, row := range r.Rows {
					for _, f := range row {
						fmt.Fprintf(&b, "    %-28s = %s\n", f.Path, f.Expr.desc)
					}
				}
				continue
			}
			fmt.Fprintf(&b, "  one row per %s (line %d)", r.From.Name, r.Line)
			if r.Where != nil {
				fmt.Fprintf(&b, " where %s", r.Where.desc)
			}
			b.WriteString("; rows with the same key merge\n")
			for _, f := range r.Fields {
				fmt.Fprintf(&b, "    %-28s = %s\n", f.Path, f.Expr.desc)
			}
		}
		for _, f := range tk.Defaults {
			fmt.Fprintf(&b, "  default %-20s = %s\n", f.Path, f.Expr.desc)
		}
		if e := p.Renames[tk.Kind.Name]; e != nil {
			fmt.Fprintf(&b, "  key renamed to %s, in every reference to %s too\n", e.desc, tk.Kind.Name)
		}
		for _, path := range tk.Kind.SecretPaths() {
			sp := p.Secrets[tk.Kind.Name+"."+path]
			switch sp.Policy {
			case Generate:
				fmt.Fprintf(&b, "  secret %s: generated (%d %s), delivered once in the secrets file (0600)\n", path, sp.Length, sp.Chars)
			case FromFile:
				fmt.Fprintf(&b, "  secret %s: from the side file given with --secrets\n", path)
			default:
				fmt.Fprintf(&b, "  secret %s: left blank (the target keeps or sets its default)\n", path)
			}
		}
	}
	if len(p.Drops) > 0 {
		b.WriteString("\nDropped on purpose:\n")
		for _, k := range sortedKeys(p.Drops) {
			fmt.Fprintf(&b, "  %s: %s\n", k, p.Drops[k].Reason)
		}
	}
	b.WriteString("\nEvery other source field with data is reported as dropped by the map.\n")
	_, err := io.WriteString(w, b.String())
	return err
}
