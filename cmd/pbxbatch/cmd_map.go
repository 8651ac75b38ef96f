package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/batch/mapping"
)

type mapFlags struct {
	profile, out, secrets string
	set                   []string
	list, explain         bool
}

func newMapCmd(*globalOptions) *cobra.Command {
	var f mapFlags
	cmd := &cobra.Command{
		Use:   "map --profile P [--set name=value] -o MAPPED.xlsx SOURCE",
		Short: "Turn a workbook of one platform (an export) into a workbook of another",
		Long: `map reads SOURCE, a workbook of the profile's source platform (usually an
export), and writes MAPPED.xlsx, a workbook of its target platform that
validate, plan and apply read. A profile (--profile NAME of a shipped one,
or the path of your own .yaml file; --list shows them, --explain shows what
one does) says per target kind which source rows feed it and how each field
is computed.

Nothing is lost silently. The mapping report (MAPPED.mapping.txt, .json,
and the _mapping sheet of MAPPED.xlsx) lists per target kind and field what
was mapped and defaulted, per source kind the rows used and filtered out on
purpose, and every source field with data that no rule consumed (dropped),
with its count, an example cell and why. A source row that maps to nothing,
unless the profile filters it or drops its kind with a reason, is an error.

MAPPED.xlsx is validated against the target's schemas before it is written,
as validate does; every message names the source cell the value came from.
Its #origin column names each row's source row (site-a.xlsx users!14);
plan, results.xlsx and failed.xlsx carry it. When there are errors nothing
but the report is written.

Secrets are never in MAPPED.xlsx or the report. A profile generates them,
takes them from a side file (--secrets FILE: a workbook of the target's
kinds with key and secret columns), or leaves them blank so that the target
keeps or sets its default. Generated ones are delivered once, in
MAPPED.secrets.xlsx (readable by its owner only; a later map to the same
file keeps them): apply it after MAPPED.xlsx to set them
("pbxbatch apply --target T MAPPED.secrets.xlsx"), or let migrate send them
with the records it creates.

PROFILE FORMAT (see templates/profiles/*.yaml)
  source: sipx                      target: mxone
  params:  {site: {value: HQ, help: …}}          set with --set site=Berlin
  kinds:                            per target kind, a list of rules:
    user:
      - from: user                  one target row per source row (same key: merged)
        where: {userName: {not: superadmin}}      filter: value, {not}, {in},
                                                  {matches}, {present}, any: [...]
        fields:
          userId: "{userName}"                    text template ({param.x} too)
          firstName: {copy: firstName, default: "{userName}"}
          departments: {table: {HQ: Head office}, of: "{branchName}", default: Other}
          sms: {rewrite: "{userName}", match: '^(\d{4})$', to: '+46855$1', else: ""}
          description: {lookup: phone, key: "{phone}", field: description}
          keyWords: {join: ["{a}", "{b}"], sep: ";"}
          x: {if: {branchName: HQ}, then: a, else: b}
      - rows: [{locationName: "{param.site}"}]  constant rows
    extension: {rules: [...], defaults: {extensionType: virtual}}
  renames:  {department: "Site {value}"}  the key and every reference to it
  secrets:  {user.newPassword: {generate: {length: 12, chars: alnum}}}  or file, blank
  drop:     {call_group: why, user.groups: why}  on purpose, listed with the reason

EXIT STATUS
  0  mapped and valid
  1  error: a profile error (with its file and line), a source row that maps
     to nothing, or a mapped value the target's schemas refuse`,
		Example: `  pbxbatch map --list
  pbxbatch map --profile sipx-to-mxone --explain
  pbxbatch map --profile sipx-to-mxone --set location=Berlin -o site-a-mxone.xlsx site-a.xlsx`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMap(cmd.Context(), f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.profile, "profile", "", "a shipped profile's name, or the path of a profile .yaml file")
	fl.StringVarP(&f.out, "output", "o", "", "the mapped workbook (.xlsx)")
	fl.StringVar(&f.secrets, "secrets", "", "side file with secrets for the profile's \"file\" policies")
	fl.StringSliceVar(&f.set, "set", nil, "set a profile parameter: name=value (repeatable)")
	fl.BoolVar(&f.list, "list", false, "list the shipped profiles")
	fl.BoolVar(&f.explain, "explain", false, "print what the profile does, per target kind")
	return cmd
}

func runMap(ctx context.Context, f mapFlags, args []string, stdout, stderr io.Writer) error {
	if f.list {
		return listProfiles(stdout)
	}
	if f.profile == "" {
		return errors.New("name the profile with --profile (pbxbatch map --list shows them)")
	}
	p, err := mapping.Load(f.profile)
	if err != nil {
		return err
	}
	if f.explain {
		return p.Explain(stdout)
	}
	if len(args) != 1 || f.out == "" {
		return errors.New("give the source workbook and -o MAPPED.xlsx")
	}
	params, err := parseSets(f.set)
	if err != nil {
		return err
	}
	_, err = mapWorkbook(ctx, p, args[0], f.out, mapping.Options{Params: params, SecretsIn: f.secrets}, false, stdout)
	return err
}

// mapWorkbook maps source into out and its report files, prints the
// report (brief: one line, the messages and where the report is), and fails
// (exit 1, already explained) when the map has errors.
func mapWorkbook(ctx context.Context, p *mapping.Profile, source, out string, o mapping.Options, brief bool, stdout io.Writer) (*mapping.Result, error) {
	paths := mapping.PathsFor(out)
	o.Previous = paths.Secrets
	res, err := mapping.Map(ctx, p, source, o)
	if err != nil {
		return nil, err
	}
	if err := mapping.Write(ctx, res, paths); err != nil {
		return nil, err
	}
	write := res.WriteText
	if brief {
		fmt.Fprintf(stdout, "Mapped %s\n", res.Report.Summary())
		write = res.WriteDiags
	}
	if err := write(stdout); err != nil {
		return nil, err
	}
	if res.Diags.HasErrors() {
		fmt.Fprintf(stdout, "\nNot written: %s (the report is in %s)\n", paths.Workbook, paths.ReportText)
		return res, withCode(exitError)
	}
	fmt.Fprintf(stdout, "\nWrote %s (report: %s, %s)\n", paths.Workbook, paths.ReportText, paths.ReportJSON)
	if len(res.Secrets) > 0 {
		fmt.Fprintf(stdout, "Secrets: %s (readable by you only; never in the workbook or the report)\n", paths.Secrets)
	}
	return res, nil
}

func listProfiles(w io.Writer) error {
	for _, name := range mapping.List() {
		p, err := mapping.Load(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-20s %s → %s  %s\n", name, p.Source.Adapter, p.Target.Adapter, firstSentence(p.Description))
	}
	return nil
}

func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ": "); i > 0 {
		return s[:i]
	}
	return s
}

func parseSets(sets []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: write name=value", s)
		}
		out[k] = v
	}
	return out, nil
}
