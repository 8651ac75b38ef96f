package export

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/extsort"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Options say what to export and where.
type Options struct {
	Format Format
	// Out is the .xlsx file, or the directory for CSV (created if missing).
	Out string
	// Kinds limits the export to these kinds (names or plurals); empty
	// exports every kind.
	Kinds []string

	Adapter     string
	Target      string // target name in pbxbatch.yaml
	TargetURL   string
	ToolVersion string
	Now         time.Time // exported_at; zero = time.Now()

	// BOM starts each CSV file with a UTF-8 byte order mark, for Excel.
	BOM bool
	// TmpDir holds sort runs and excelize spill files; "" = os.TempDir.
	TmpDir string
	// SortMemBytes bounds the rows of one kind held in memory before they
	// spill to sorted temp files; 0 = 32 MiB.
	SortMemBytes int

	// Progress, when set, is called from the listing goroutine every
	// ProgressEvery rows of a kind and once when the kind is fully listed
	// (done = true).
	Progress func(kind string, rows int, done bool)
}

// ProgressEvery is how many rows pass between Progress calls.
const ProgressEvery = 1000

// Kinds resolves names (or plurals) to kinds in export order: importable
// kinds in dependency order, then read-only catalogues. Empty names select
// every kind.
func Kinds(set *schemas.Set, names []string) ([]*schemas.Kind, error) {
	ordered, err := set.Order()
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ordered, func(a, b *schemas.Kind) int {
		return cmpBool(a.ReadOnly, b.ReadOnly)
	})
	if len(names) == 0 {
		return ordered, nil
	}
	want := map[*schemas.Kind]bool{}
	for _, n := range names {
		k := set.Kind(strings.TrimSpace(n))
		if k == nil {
			var known []string
			for _, k := range ordered {
				known = append(known, k.Name)
			}
			return nil, fmt.Errorf("adapter %s has no kind %q (kinds: %s)", set.Adapter, n, strings.Join(known, ", "))
		}
		want[k] = true
	}
	return slices.DeleteFunc(ordered, func(k *schemas.Kind) bool { return !want[k] }), nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// listed is one kind, fully listed and ready to write in order.
type listed struct {
	kind *schemas.Kind
	rows *extsort.Sorter
}

// Run exports the kinds of set from conn. On error nothing is left at
// o.Out: files are written under temporary names and renamed at the end.
func Run(ctx context.Context, conn adapters.Conn, set *schemas.Set, o Options) (*Manifest, error) {
	kinds, err := Kinds(set, o.Kinds)
	if err != nil {
		return nil, err
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	m := &Manifest{
		Format: o.Format, Adapter: cmp.Or(o.Adapter, set.Adapter), Target: o.Target, TargetURL: o.TargetURL,
		ExportedAt: o.Now.UTC().Truncate(time.Second), ToolVersion: o.ToolVersion,
		SchemaVersion: SchemaVersion(set), Canonical: Canonical,
	}
	var out output
	switch o.Format {
	case XLSX, "":
		m.Format = XLSX
		out, err = newXLSXOutput(o)
	case CSV:
		out, err = newCSVOutput(o)
	default:
		return nil, fmt.Errorf("unknown export format %q (xlsx or csv)", o.Format)
	}
	if err != nil {
		return nil, err
	}
	defer out.abort()

	g, gctx := errgroup.WithContext(ctx)
	ready := make(chan listed, 1) // one kind waits while the next is listed
	g.Go(func() error {
		defer close(ready)
		for _, k := range kinds {
			s, err := list(gctx, conn, k, o)
			if err != nil {
				return err
			}
			select {
			case ready <- listed{k, s}:
			case <-gctx.Done():
				s.Close()
				return gctx.Err()
			}
		}
		return nil
	})
	g.Go(func() error {
		for l := range ready {
			info, err := writeKind(out, l)
			if err != nil {
				return err
			}
			m.Kinds = append(m.Kinds, info)
		}
		return nil
	})
	err = g.Wait()
	for l := range ready { // a kind listed but not written after a failure
		l.rows.Close()
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := out.finish(m); err != nil {
		return nil, err
	}
	return m, nil
}

// list reads every record of a kind into a sorter.
func list(ctx context.Context, conn adapters.Conn, k *schemas.Kind, o Options) (*extsort.Sorter, error) {
	s := extsort.New(rowOrder(KeyColumns(k, Header(k))), extsort.Options{MaxBytes: o.SortMemBytes, TmpDir: o.TmpDir})
	n := 0
	err := conn.List(ctx, k.Name, func(r schemas.Record) error {
		n++
		if o.Progress != nil && n%ProgressEvery == 0 {
			o.Progress(k.Name, n, false)
		}
		return s.Add(Row(k, r))
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("listing %s: %w", k.Plural, err)
	}
	if o.Progress != nil {
		o.Progress(k.Name, n, true)
	}
	return s, nil
}

// rowWriter is where one kind's rows go.
type rowWriter interface{ WriteRow([]string) error }

// output is an export being written: xlsx or a CSV directory.
type output interface {
	// begin starts a kind and returns where its rows go; end finishes it.
	begin(k *schemas.Kind, info *KindInfo) (rowWriter, error)
	end(info *KindInfo) error
	finish(m *Manifest) error
	abort()
}

// writeKind writes one listed kind and returns its metadata.
func writeKind(out output, l listed) (KindInfo, error) {
	k := l.kind
	defer l.rows.Close()
	info := KindInfo{Kind: k.Name, ReadOnly: k.ReadOnly, Withheld: k.SecretPaths()}
	w, err := out.begin(k, &info)
	if err != nil {
		return info, err
	}
	h := sha256.New()
	canon, _ := workbook.NewCSVWriter(h, false)
	header := Header(k)
	if err := canon.WriteRow(header); err != nil {
		return info, err
	}
	byKey := CompareKeys(KeyColumns(k, header))
	it, err := l.rows.Iter()
	if err != nil {
		return info, err
	}
	var prev []string
	for it.Next() {
		row := it.Row()
		if prev != nil && byKey(prev, row) == 0 {
			info.DuplicateKeys++
		}
		prev = row
		if err := w.WriteRow(row); err != nil {
			return info, fmt.Errorf("writing %s: %w", k.Plural, err)
		}
		if err := canon.WriteRow(row); err != nil {
			return info, err
		}
		info.Rows++
	}
	if err := it.Err(); err != nil {
		return info, err
	}
	if err := canon.Flush(); err != nil {
		return info, err
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	return info, out.end(&info)
}
