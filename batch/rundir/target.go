package rundir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// TargetLock keeps other runs off a target while one runs: two runs
// writing one target at once (from one state directory or two) race each
// other's creates into duplicates. It is a lock file keyed by the target's
// identity (adapter and normalized URL, not its name in a config file) in
// the user's lock directory, catching runs from other state directories,
// and in the state directory, catching other users who share it.
type TargetLock struct {
	files []*os.File
	paths []string
}

// TargetBusyError is returned by LockTarget when another run holds the
// target.
type TargetBusyError struct {
	Target string // as the caller named it
	Holder string // the other run, its host and process
}

func (e *TargetBusyError) Error() string {
	return fmt.Sprintf("target %s is in use by %s: two runs on one target race each other into duplicates; "+
		"wait for it to finish or stop it (or, if you know it is safe, use --force)", e.Target, e.Holder)
}

// TargetKey is a target's identity for locking: the adapter and its URL
// normalized (scheme and host lower-cased, default port and trailing
// slash dropped), so that two spellings of one URL are one target.
func TargetKey(adapter, rawURL string) string {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return adapter + " " + rawURL
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	switch {
	case port != "" && !(scheme == "https" && port == "443") && !(scheme == "http" && port == "80"):
		host = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"): // IPv6
		host = "[" + host + "]"
	}
	p := strings.TrimSuffix(path.Clean("/"+u.Path), "/")
	return adapter + " " + scheme + "://" + host + p
}

// UserLockDir is the per-user directory of target locks.
func UserLockDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "pbxbatch", "target-locks"), nil
}

// LockTarget locks target (adapter + URL; name is how messages call it)
// for run id (may be "" and set later with SetRun) in stateDir and in the
// user's lock directory. It fails with a *TargetBusyError naming the
// other run when one holds either lock.
func LockTarget(stateDir, name, adapter, rawURL, id string) (*TargetLock, error) {
	dirs := []string{filepath.Join(stateDir, "target-locks")}
	if d, err := UserLockDir(); err == nil {
		dirs = append(dirs, d)
	}
	return lockTargetIn(dirs, name, adapter, rawURL, id, stateDir)
}

func lockTargetIn(dirs []string, name, adapter, rawURL, id, stateDir string) (*TargetLock, error) {
	sum := sha256.Sum256([]byte(TargetKey(adapter, rawURL)))
	file := hex.EncodeToString(sum[:12]) + ".lock"
	if abs, err := filepath.Abs(stateDir); err == nil {
		stateDir = abs
	}
	h := thisProcess()
	h.Run, h.StateDir, h.Started = id, stateDir, time.Now().UTC().Format(time.RFC3339)
	l := &TargetLock{}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			l.Release()
			return nil, fmt.Errorf("locking target %s: %w", name, err)
		}
		p := filepath.Join(dir, file)
		f, err := tryLock(p)
		if errors.Is(err, errHeld) {
			l.Release()
			return nil, &TargetBusyError{Target: name, Holder: readHolder(p).String() + staleHint(p)}
		}
		if err != nil {
			l.Release()
			return nil, fmt.Errorf("locking target %s: %w", name, err)
		}
		writeHolder(f, h)
		l.files, l.paths = append(l.files, f), append(l.paths, p)
	}
	return l, nil
}

// SetRun records the run id in the lock files, once the run has one. Safe
// on nil (no lock taken: --force).
func (l *TargetLock) SetRun(id string) {
	if l == nil {
		return
	}
	for _, f := range l.files {
		h := readHolder(f.Name())
		h.Run = id
		writeHolder(f, h)
	}
}

// Release lets other runs have the target. Safe on nil and twice.
func (l *TargetLock) Release() error {
	if l == nil {
		return nil
	}
	var errs []error
	for i, f := range l.files {
		errs = append(errs, release(f, l.paths[i]))
	}
	l.files, l.paths = nil, nil
	return errors.Join(errs...)
}
