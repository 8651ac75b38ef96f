// Package journal is a run's checkpoint: an append-only JSON-lines file of
// operation transitions. The runner marks an operation in flight — durably,
// fsynced — before its remote write and records the outcome after, so that
// after a crash (kill -9 at any instant) resume knows exactly which
// operations are done, which never started, and which must be read back
// from the target because their outcome is unknown.
//
// Writes go through one goroutine that batches whatever is queued into one
// write and one fsync (group commit): many concurrent operations share the
// cost of a sync. Sync queues an entry and waits until it is on disk.
// Append queues one and returns; it reaches the OS with its batch (so it
// survives the process being killed) and the disk with the next Sync or
// Close. Only a power loss can take an appended outcome away, and then the
// in-flight mark before it makes resume read the record back.
//
// A crash can tear the last line. Open cuts a torn tail off before
// appending, and Read/Replay ignore it.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Entry is one transition of one operation. Records in it (Before) must be
// redacted by the writer's caller with the kind's Redact: the journal never
// holds a secret.
type Entry struct {
	Op     int            `json:"op"`
	Status batch.Status   `json:"status"`
	Action batch.OpAction `json:"action,omitempty"` // the op's planned action, for counts without the plan
	// Sent is the action sent instead of the planned one: a create found
	// on the target in part (it landed, its second half did not) is
	// finished as an update, never created again.
	Sent      batch.OpAction `json:"sent,omitempty"`
	Kind      string         `json:"kind,omitempty"`
	Key       string         `json:"key,omitempty"`
	Attempt   int            `json:"attempt,omitempty"`
	TargetID  string         `json:"target_id,omitempty"`
	Message   string         `json:"message,omitempty"`
	BlockedBy *int           `json:"blocked_by,omitempty"`
	Before    schemas.Record `json:"before,omitempty"`
	// Step is the end-of-run step's outcome, on its entries (Op StepOp).
	Step *batch.Step `json:"step,omitempty"`
	At   time.Time   `json:"at"`
}

// StepOp is the Op of the end-of-run step's entries: marked in flight
// before it runs, like an operation's write, and its outcome after.
const StepOp = -1

// Journal appends entries to one file. Safe for concurrent use.
type Journal struct {
	f     *os.File
	queue chan request
	done  chan struct{}
	err   error // first write or sync error; read after done is closed
}

type request struct {
	line []byte
	ack  chan error // nil for Append
}

// ErrClosed is returned by Sync after Close.
var ErrClosed = errors.New("journal is closed")

// Open opens (creating it if needed) the journal at path for appending,
// first cutting off a torn last line left by a crash: a partial line, or a
// complete one that does not decode, by the same rule as Read. Left in
// place, the next append would bury it in the middle of the file, where Read
// rightly refuses it, and the run could no longer be resumed.
func Open(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening journal: %w", err)
	}
	end, err := intactLength(f)
	if err == nil {
		err = f.Truncate(end)
	}
	if err == nil {
		_, err = f.Seek(end, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("repairing journal %s: %w", path, err)
	}
	j := &Journal{f: f, queue: make(chan request, 1024), done: make(chan struct{})}
	go j.writer()
	return j, nil
}

// intactLength returns the length of f without a torn last line: up to its
// last newline, and before that line too when it is not valid JSON.
func intactLength(f *os.File) (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end, err := completeLength(f, info.Size())
	if err != nil || end == 0 {
		return end, err
	}
	start, err := completeLength(f, end-1) // the start of the last line
	if err != nil {
		return 0, err
	}
	line := make([]byte, end-start)
	if _, err := f.ReadAt(line, start); err != nil {
		return 0, err
	}
	if json.Valid(bytes.TrimSpace(line)) {
		return end, nil
	}
	return start, nil
}

// completeLength returns the length of the first size bytes of r up to and
// including their last newline.
func completeLength(r io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, 64*1024)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := r.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Path returns the journal file's path.
func (j *Journal) Path() string { return j.f.Name() }

// Append queues e; it reaches the disk with the next group commit.
func (j *Journal) Append(e Entry) {
	j.send(e, nil)
}

// Sync queues e and waits until it (and everything queued before it) is
// fsynced. It returns the journal's first write error, if any: a caller must
// not proceed with a remote write it could not record.
func (j *Journal) Sync(e Entry) error {
	ack := make(chan error, 1)
	if !j.send(e, ack) {
		return ErrClosed
	}
	return <-ack
}

func (j *Journal) send(e Entry, ack chan error) (sent bool) {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	line, err := json.Marshal(e)
	if err != nil { // only for a Before holding a non-JSON value: a bug
		panic(fmt.Sprintf("journal: encoding entry of op %d: %v", e.Op, err))
	}
	defer func() {
		if recover() != nil { // queue closed by Close
			sent = false
		}
	}()
	j.queue <- request{line: append(line, '\n'), ack: ack}
	return true
}

func (j *Journal) writer() {
	defer close(j.done)
	var batch []request
	var buf []byte
	for first := range j.queue {
		batch = append(batch[:0], first)
	drain:
		for {
			select {
			case r, ok := <-j.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		buf = buf[:0]
		for _, r := range batch {
			buf = append(buf, r.line...)
		}
		durable := false
		for _, r := range batch {
			durable = durable || r.ack != nil
		}
		if j.err == nil {
			if _, err := j.f.Write(buf); err != nil {
				j.err = fmt.Errorf("writing journal: %w", err)
			} else if durable {
				if err := j.f.Sync(); err != nil {
					j.err = fmt.Errorf("syncing journal: %w", err)
				}
			}
		}
		for _, r := range batch {
			if r.ack != nil {
				r.ack <- j.err
			}
		}
	}
}

// Close writes what is queued, syncs and closes the file. Callers must not
// Append or Sync concurrently with or after Close.
func (j *Journal) Close() error {
	close(j.queue)
	<-j.done
	err := j.err
	if err == nil {
		err = j.f.Sync()
	}
	return errors.Join(err, j.f.Close())
}

// Read returns every complete entry of the journal at path, in order. A
// torn last line (a crash mid-write) is ignored; a damaged line elsewhere is
// an error naming its line number. A missing file is an empty journal.
func Read(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	r := bufio.NewReaderSize(f, 64*1024)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			return out, nil // a partial last line is a torn write: ignore it
		}
		if err != nil {
			return nil, err
		}
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if derr := dec.Decode(&e); derr != nil {
			if _, perr := r.Peek(1); perr == io.EOF {
				return out, nil // damaged last line: a torn write too
			}
			return nil, fmt.Errorf("%s:%d: damaged journal entry: %v (the file was edited or the disk is failing)", path, n, derr)
		}
		out = append(out, e)
	}
}

// Replay returns the last entry of every operation in the journal at path
// (the end-of-run step's are left out: see LastStep). Its Attempt counts the
// calls sent in every attempt of the run (the runner carries them over), so a
// resumed run knows what may have landed.
func Replay(path string) (map[int]Entry, error) {
	entries, err := Read(path)
	if err != nil {
		return nil, err
	}
	last := make(map[int]Entry, len(entries))
	for _, e := range entries {
		if e.Op != StepOp {
			last[e.Op] = e
		}
	}
	return last, nil
}

// LastStep returns the last entry of the end-of-run step in the journal at
// path; false when the step never started.
func LastStep(path string) (Entry, bool, error) {
	entries, err := Read(path)
	if err != nil {
		return Entry{}, false, err
	}
	for _, e := range slices.Backward(entries) {
		if e.Op == StepOp {
			return e, true, nil
		}
	}
	return Entry{}, false, nil
}
