package export

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/atomicfile"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// xlsxOutput writes one workbook.
type xlsxOutput struct {
	o   Options
	x   *workbook.XLSXWriter
	cur *workbook.TableWriter
}

func newXLSXOutput(o Options) (*xlsxOutput, error) {
	if ext := strings.ToLower(filepath.Ext(o.Out)); ext != ".xlsx" {
		return nil, fmt.Errorf("export to %q: an xlsx export is written to a .xlsx file (use --format csv for a directory)", o.Out)
	}
	x, err := workbook.NewXLSXWriter(workbook.XLSXOptions{TmpDir: o.TmpDir})
	if err != nil {
		return nil, err
	}
	return &xlsxOutput{o: o, x: x}, nil
}

func (x *xlsxOutput) begin(k *schemas.Kind, _ *KindInfo) (rowWriter, error) {
	t, err := x.x.NewTable(k.Plural, Header(k), workbook.TableOptions{ReadOnly: k.ReadOnly})
	x.cur = t
	return t, err
}

func (x *xlsxOutput) end(info *KindInfo) error {
	info.Sheets = x.cur.Sheets()
	return nil
}

func (x *xlsxOutput) finish(m *Manifest) error {
	t, err := x.x.NewTable(workbook.MetadataSheet, []string{"field", "value"}, workbook.TableOptions{NoFreeze: true})
	if err != nil {
		return err
	}
	if err := writeMetadata(t, m); err != nil {
		return err
	}
	return atomicfile.Write(x.o.Out, exportPerm, func(w io.Writer) error {
		_, err := x.x.WriteTo(w)
		return err
	})
}

func (x *xlsxOutput) abort() { x.x.Close() }
