package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// errHeld says a live process holds a lock.
var errHeld = errors.New("lock held")

// holder is what a lock file says about the process holding it, for the
// message the next process gets.
type holder struct {
	Run      string `json:"run,omitempty"`
	Host     string `json:"host,omitempty"`
	PID      int    `json:"pid"`
	StateDir string `json:"state_dir,omitempty"`
	Started  string `json:"started,omitempty"`
}

func (h holder) String() string {
	s := "process " + strconv.Itoa(h.PID)
	if h.PID == 0 {
		s = "a process"
	}
	if h.Host != "" {
		s += " on " + h.Host
	}
	if h.Run != "" {
		s = "run " + h.Run + " (" + s + ")"
	}
	if h.StateDir != "" {
		s += " in state directory " + h.StateDir
	}
	return s
}

// readHolder reads a lock file; a bare pid (the format of run locks before
// they said more) is read too.
func readHolder(path string) holder {
	var h holder
	data, err := os.ReadFile(path)
	if err != nil {
		return h
	}
	if json.Unmarshal(data, &h) != nil {
		h.PID, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	return h
}

// writeHolder replaces the content of a held lock file.
func writeHolder(f *os.File, h holder) {
	data, _ := json.Marshal(h)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(data, '\n'), 0)
	}
}

func thisProcess() holder {
	host, _ := os.Hostname()
	return holder{Host: host, PID: os.Getpid()}
}

// acquire takes the run's lock; the error names the process holding it.
func (d *Dir) acquire() error {
	path := d.File(lockFile)
	f, err := tryLock(path)
	if errors.Is(err, errHeld) {
		return fmt.Errorf("run %s is in use by %s; wait for it to finish or stop it before resuming%s", d.ID, readHolder(path), staleHint(path))
	}
	if err != nil {
		return fmt.Errorf("locking run %s: %w", d.ID, err)
	}
	h := thisProcess()
	h.Run = d.ID
	writeHolder(f, h)
	d.lock = f
	return nil
}
