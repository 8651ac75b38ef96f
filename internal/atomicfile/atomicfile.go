// Package atomicfile writes files so that a reader, or whoever looks after a
// crash, finds the old file or the new one, never half of one: the content
// goes to a temp file in the same directory, is synced, and is renamed over
// the path; the directory is synced too, for the rename's durability.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes path with perm through write. On any error nothing is left
// behind and path is untouched.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	err = errors.Join(write(bw), bw.Flush(), f.Sync(), f.Close())
	if err == nil {
		err = os.Chmod(f.Name(), perm)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not every filesystem supports it; the data is synced already
		d.Close()
	}
	return nil
}

// WriteBytes is Write for content already in memory.
func WriteBytes(path string, perm fs.FileMode, b []byte) error {
	return Write(path, perm, func(w io.Writer) error { _, err := w.Write(b); return err })
}
