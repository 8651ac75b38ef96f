package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/export"
	"github.com/pbxbatch/pbxbatch/batch/mapping"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/batch/rundir"
)

type migrateFlags struct {
	runFlags
	from, to, profile, out, secrets string
	set                             []string
	yes                             bool
}

// Files migrate keeps in --out.
const (
	migrateSource = "source.xlsx"
	migrateMapped = "mapped.xlsx"
	migratePlan   = "plan.json"
	migratePlanTx = "plan.txt"
)

func newMigrateCmd(g *globalOptions) *cobra.Command {
	var f migrateFlags
	cmd := &cobra.Command{
		Use:   "migrate --from SOURCE --to TARGET --profile P --out DIR [--yes]",
		Short: "Move a site between platforms: export, map, validate, plan and apply",
		Long: `migrate runs the whole migration and keeps every artifact in DIR:

  1. export   the source target's inventory           DIR/source.xlsx
  2. map      with the profile (see "pbxbatch map")    DIR/mapped.xlsx, mapped.mapping.txt/.json
                                                       DIR/mapped.secrets.xlsx (generated secrets, 0600)
  3. validate the mapped workbook against the target's schemas; on any error
              migrate stops here, before anything is planned
  4. plan     against the destination target           DIR/plan.txt, DIR/plan.json
  5. apply    after confirmation (or --yes); the run directory holds the
              journal, results.xlsx and failed.xlsx, whose rows name their
              source row (#origin)

Generated secrets go with the records migrate creates and nowhere else
(records that exist keep theirs): re-running migrate plans all no-ops once
the destination matches, and keeps the secrets of DIR/mapped.secrets.xlsx.
A run stopped midway is finished by running migrate again (resume cannot
refill secrets that are not in the mapped workbook).

EXIT STATUS
  0   migrated (or nothing to change)
  1   error: export, a mapping or validation error, plan errors, or not
      confirmed
  3   some rows failed or were blocked (reports written)
  130 cancelled`,
		Example: `  pbxbatch migrate --from sipx-prod --to mxone-new --profile sipx-to-mxone --out site-a/`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrate(cmd.Context(), g, f, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "the source target in the config file")
	fl.StringVar(&f.to, "to", "", "the destination target in the config file")
	fl.StringVar(&f.profile, "profile", "", "a shipped profile's name, or the path of a profile .yaml file")
	fl.StringVar(&f.out, "out", "", "directory for every artifact (created)")
	fl.StringVar(&f.secrets, "secrets", "", "side file with secrets for the profile's \"file\" policies")
	fl.StringSliceVar(&f.set, "set", nil, "set a profile parameter: name=value (repeatable)")
	fl.BoolVarP(&f.yes, "yes", "y", false, "apply without asking")
	return cmd
}

func runMigrate(ctx context.Context, g *globalOptions, f migrateFlags, stdin io.Reader, stdout, stderr io.Writer) error {
	if f.from == "" || f.to == "" || f.profile == "" || f.out == "" {
		return errors.New("give --from, --to, --profile and --out")
	}
	p, err := mapping.Load(f.profile)
	if err != nil {
		return err
	}
	params, err := parseSets(f.set)
	if err != nil {
		return err
	}
	src, err := loadTarget(g, f.from, stderr)
	if err != nil {
		return err
	}
	dst, err := loadTarget(g, f.to, stderr)
	if err != nil {
		return err
	}
	if src.Adapter != p.Source.Adapter || dst.Adapter != p.Target.Adapter {
		return fmt.Errorf("profile %s maps %s to %s, but %s is %s and %s is %s", p.Name, p.Source.Adapter, p.Target.Adapter, src.Name, src.Adapter, dst.Name, dst.Adapter)
	}
	f.override(dst)
	if err := os.MkdirAll(f.out, 0o700); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "1. export %s → %s\n", src.Name, filepath.Join(f.out, migrateSource))
	if err := migrateExport(ctx, src, filepath.Join(f.out, migrateSource)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "2. map with %s, 3. validate against %s\n", p.Name, dst.Adapter)
	res, err := mapWorkbook(ctx, p, filepath.Join(f.out, migrateSource), filepath.Join(f.out, migrateMapped),
		mapping.Options{Params: params, SecretsIn: f.secrets}, true, stdout)
	if err != nil {
		if res != nil {
			fmt.Fprintln(stderr, "Stopped before plan: the mapped workbook has errors (see above).")
		}
		return err
	}

	fmt.Fprintf(stdout, "4. plan against %s → %s\n", dst.Name, filepath.Join(f.out, migratePlanTx))
	// Locked before planning, as apply does: the plan is made against a
	// target no other run is changing.
	lock, err := lockTarget(g, dst, f.force, stderr)
	if err != nil {
		return err
	}
	defer lock.Release()
	p2, in, conn, err := migratePlanFor(ctx, dst, filepath.Join(f.out, migrateMapped), res.Secrets, stderr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := writePlanFiles(f.out, p2); err != nil {
		return err
	}
	total, _, _ := plan.Count(p2)
	fmt.Fprintf(stdout, "Plan: %s\n", planLine(total))
	if total.Changes() == 0 {
		fmt.Fprintln(stdout, "Nothing to change: the destination already holds the migrated site.")
		return nil
	}
	if !f.yes && !approved(stdin, stderr, p2, total, dst.Name) {
		return withCode(exitError)
	}
	fmt.Fprintf(stdout, "5. apply to %s\n", dst.Name)
	d, err := rundir.CreateWithPlan(g.stateDir, rundir.Meta{Adapter: p2.Adapter, Target: dst.Name, TargetURL: dst.URL, Input: in.path, InputSHA256: in.sha256}, p2)
	if err != nil {
		return err
	}
	defer d.Close()
	lock.SetRun(d.ID)
	if err := plan.FillSecrets(p2, in.rows); err != nil {
		return failRun(d, err)
	}
	fmt.Fprintf(stdout, "Run %s (%s)\n", d.ID, d.Path)
	return execute(ctx, g, dst, conn, d, p2, nil, f.runFlags, stdout, stderr)
}

func migrateExport(ctx context.Context, t *target, out string) error {
	conn, err := t.open(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = export.Run(ctx, conn, t.adapter.Kinds(), export.Options{
		Format: export.XLSX, Out: out, Adapter: t.adapter.Name(), Target: t.Name, TargetURL: t.URL, ToolVersion: version,
	})
	return err
}

// migratePlanFor plans the mapped workbook with its secrets put back into
// the rows in memory, so that the records it creates get them; records
// that exist keep theirs (secrets alone make no update).
func migratePlanFor(ctx context.Context, t *target, mapped string, secrets []mapping.Secret, stderr io.Writer) (*batch.Plan, *input, adapters.Conn, error) {
	in, err := readInput(ctx, t, mapped)
	if err != nil {
		return nil, nil, nil, err
	}
	if in.diags.HasErrors() {
		_ = writeDiagsText(stderr, in.diags, in.nRows)
		return nil, nil, nil, withCode(exitError)
	}
	putSecrets(t, in.rows, secrets)
	conn, err := t.open(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	p, diags, err := plan.Build(ctx, conn, t.adapter.Kinds(), in.rows, t.planOptions(in))
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	notes := planNotes(in, diags)
	writeNotes(stderr, notes)
	if notes.HasErrors() {
		conn.Close()
		fmt.Fprintln(stderr, "\nNothing applied: the plan has errors (see above and plan.txt).")
		return nil, nil, nil, withCode(exitError)
	}
	return p, in, conn, nil
}

func putSecrets(t *target, rows []batch.Row, secrets []mapping.Secret) {
	byKey := map[string][]mapping.Secret{}
	for _, s := range secrets {
		byKey[s.Kind+"\x00"+s.Key] = append(byKey[s.Kind+"\x00"+s.Key], s)
	}
	set := t.adapter.Kinds()
	for i := range rows {
		k := set.Kind(rows[i].Kind)
		for _, s := range byKey[rows[i].Kind+"\x00"+k.KeyOf(rows[i].Set)] {
			rows[i].Set.Set(s.Field, s.Value)
		}
	}
}

func writePlanFiles(dir string, p *batch.Plan) error {
	if err := plan.Save(filepath.Join(dir, migratePlan), p); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, migratePlanTx), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := plan.WriteText(f, p, plan.TextOptions{}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
