//go:build !unix

package rundir

import (
	"errors"
	"os"
)

// tryLock takes the lock by creating the file at path exclusively. Without
// flock a crashed process leaves the file behind: staleHint says to remove
// it once the named process is gone.
func tryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, errHeld
	}
	return f, err
}

func staleHint(path string) string {
	return "; if that process is gone, remove " + path
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
