package export

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/atomicfile"
	"github.com/pbxbatch/pbxbatch/internal/workbook"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// csvOutput writes a directory of <plural>.csv files and manifest.json.
type csvOutput struct {
	o       Options
	f       *os.File
	bw      *bufio.Writer
	c       *workbook.CSVWriter
	renames [][2]string // temporary name → final name, renamed by finish
}

func newCSVOutput(o Options) (*csvOutput, error) {
	if strings.EqualFold(filepath.Ext(o.Out), ".xlsx") {
		return nil, fmt.Errorf("export to %q: a CSV export is written to a directory, not a .xlsx file", o.Out)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("export directory: %w", err)
	}
	return &csvOutput{o: o}, nil
}

func (c *csvOutput) begin(k *schemas.Kind, info *KindInfo) (rowWriter, error) {
	info.File = k.Plural + ".csv"
	final := filepath.Join(c.o.Out, info.File)
	f, err := os.CreateTemp(c.o.Out, "."+info.File+".*.tmp")
	if err != nil {
		return nil, err
	}
	c.renames = append(c.renames, [2]string{f.Name(), final})
	c.f, c.bw = f, bufio.NewWriterSize(f, 256<<10)
	if c.c, err = workbook.NewCSVWriter(c.bw, c.o.BOM); err != nil {
		return nil, err
	}
	return c.c, c.c.WriteRow(Header(k))
}

func (c *csvOutput) end(*KindInfo) error {
	err := errors.Join(c.c.Flush(), c.bw.Flush(), c.f.Close())
	c.f = nil
	return err
}

func (c *csvOutput) finish(m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	err = atomicfile.Write(filepath.Join(c.o.Out, ManifestFile), exportPerm, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range c.renames {
		if err := os.Rename(r[0], r[1]); err != nil {
			return err
		}
	}
	c.renames = nil
	return nil
}

func (c *csvOutput) abort() {
	if c.f != nil {
		c.f.Close()
	}
	for _, r := range c.renames { // written under temporary names only
		os.Remove(r[0])
	}
}
