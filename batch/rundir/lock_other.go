//go:build !unix

package rundir

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// acquire takes the run's lock by creating the lock file exclusively. Without
// flock a crashed process leaves the file behind: the error says to remove
// it once the named process is gone.
func (d *Dir) acquire() error {
	path := d.File(lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		data, _ := os.ReadFile(path)
		return fmt.Errorf("run %s is in use by process %s; if that process is gone, remove %s", d.ID, data, path)
	}
	if err != nil {
		return fmt.Errorf("locking run %s: %w", d.ID, err)
	}
	_, _ = f.WriteString(strconv.Itoa(os.Getpid()))
	d.lock = f
	return nil
}

// release removes the lock file at path, where it is now: not f.Name(),
// which still names the temporary directory a new run was created in.
func release(f *os.File, path string) error {
	return errors.Join(f.Close(), os.Remove(path))
}

func held(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
