// Package rundir manages run directories: <state-dir>/runs/<id>/ holding
// the plan (plan.json), the journal (journal.jsonl), the run's metadata
// (meta.json) and its reports. A run directory is locked while a process
// runs it, so two processes never run the same run; the lock dies with its
// process (kill -9 included), so a crashed run can be resumed at once.
//
// Run ids sort by start time: 20261122-083012-ab12 (UTC).
package rundir

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/journal"
	"github.com/pbxbatch/pbxbatch/batch/plan"
	"github.com/pbxbatch/pbxbatch/internal/atomicfile"
)

// File names inside a run directory.
const (
	PlanFile    = "plan.json"
	JournalFile = "journal.jsonl"
	MetaFile    = "meta.json"
	lockFile    = "lock"
)

// State is where a run stands.
type State string

const (
	Running   State = "running"   // a process holds the run
	Succeeded State = "succeeded" // every operation succeeded or had nothing to do
	Partial   State = "partial"   // finished; some operations failed, were blocked or skipped
	Failed    State = "failed"    // stopped by an error (see Meta.Error)
	Cancelled State = "cancelled" // stopped by the operator; resumable
	// Interrupted is never written: List reports it for a run whose meta
	// says running but which no live process holds (a crash or kill -9).
	Interrupted State = "interrupted"
)

// Meta is meta.json: what the run is and how it ended.
type Meta struct {
	ID          string `json:"id"`
	Adapter     string `json:"adapter"`
	Target      string `json:"target"`
	TargetURL   string `json:"target_url,omitempty"`
	Input       string `json:"input"`
	InputSHA256 string `json:"input_sha256,omitempty"`
	// PlanSHA256 is plan.json's as the run saved it: resume and report
	// refuse a plan changed since.
	PlanSHA256 string          `json:"plan_sha256,omitempty"`
	Ops        int             `json:"ops"` // operations in the plan
	Started    time.Time       `json:"started"`
	Finished   time.Time       `json:"finished,omitzero"`
	State      State           `json:"state"`
	Counts     batch.RunCounts `json:"counts"`
	Error      string          `json:"error,omitempty"` // why a failed run stopped; never a secret
	PID        int             `json:"pid,omitempty"`   // of the process running it last
	Resumes    int             `json:"resumes,omitempty"`
}

// Dir is an open, locked run directory.
type Dir struct {
	ID   string
	Path string

	lock *os.File
	mu   sync.Mutex
	meta Meta
}

var idPattern = regexp.MustCompile(`^\d{8}-\d{6}-[0-9a-f]{4}$`)

// NewID returns a run id for a run started at now.
func NewID(now time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Root returns the directory that holds the runs of a state directory.
func Root(stateDir string) string { return filepath.Join(stateDir, "runs") }

// Create makes a new run directory under stateDir, locks it and writes
// meta.json from m (ID, Started, State and PID are filled in). The
// directory appears under its id only once it holds its meta and lock, so a
// crash during Create leaves no half-made run behind in List.
func Create(stateDir string, m Meta) (*Dir, error) { return CreateWithPlan(stateDir, m, nil) }

// CreateWithPlan is Create with plan.json written inside before the
// directory appears, so that every run List shows can be resumed: a crash
// between creating a run and saving its plan would leave one that cannot.
// The plan's secrets must already be masked.
func CreateWithPlan(stateDir string, m Meta, p *batch.Plan) (*Dir, error) {
	root := Root(stateDir)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".creating-")
	if err != nil {
		return nil, fmt.Errorf("creating run directory: %w", err)
	}
	now := time.Now().UTC()
	d := &Dir{ID: NewID(now), Path: tmp}
	if err := d.acquire(); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	m.ID, m.State, m.PID = d.ID, Running, os.Getpid()
	if m.Started.IsZero() {
		m.Started = now
	}
	if p != nil {
		m.Ops = len(p.Ops)
		sum, err := savePlan(d.File(PlanFile), p)
		if err != nil {
			d.Close()
			os.RemoveAll(tmp)
			return nil, err
		}
		m.PlanSHA256 = sum
	}
	d.meta = m
	if err := d.writeMeta(); err != nil {
		d.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	// The lock is on the file, so it stays held across the rename.
	for {
		path := filepath.Join(root, d.ID)
		err := os.Rename(tmp, path)
		if err == nil {
			d.Path = path
			return d, nil
		}
		if _, serr := os.Stat(path); serr != nil { // not an id collision
			d.Close()
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("creating run directory: %w", err)
		}
		d.ID = NewID(now)
		d.meta.ID = d.ID
		if err := d.writeMeta(); err != nil {
			d.Close()
			os.RemoveAll(tmp)
			return nil, err
		}
	}
}

// Open locks an existing run for resuming it; it fails, naming the process,
// when another process holds it. The meta's State becomes Running.
func Open(stateDir, id string) (*Dir, error) {
	path, err := runPath(stateDir, id)
	if err != nil {
		return nil, err
	}
	d := &Dir{ID: id, Path: path}
	if err := d.acquire(); err != nil {
		return nil, err
	}
	m, err := readMeta(path)
	if err != nil {
		d.Close()
		return nil, err
	}
	m.State, m.PID, m.Finished, m.Error = Running, os.Getpid(), time.Time{}, ""
	m.Resumes++
	d.meta = m
	if err := d.writeMeta(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func runPath(stateDir, id string) (string, error) {
	if !idPattern.MatchString(id) {
		return "", fmt.Errorf("%q is not a run id (like 20261122-083012-ab12); see pbxbatch runs", id)
	}
	path := filepath.Join(Root(stateDir), id)
	if _, err := os.Stat(filepath.Join(path, MetaFile)); err != nil {
		return "", fmt.Errorf("no run %s in %s (see pbxbatch runs --state-dir %s)", id, Root(stateDir), stateDir)
	}
	return path, nil
}

// File returns the path of a file in the run directory.
func (d *Dir) File(name string) string { return filepath.Join(d.Path, name) }

// Meta returns a copy of the run's metadata.
func (d *Dir) Meta() Meta {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.meta
}

// Update changes the metadata and writes meta.json atomically.
func (d *Dir) Update(change func(*Meta)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	change(&d.meta)
	return d.writeMeta()
}

// Finish records how the run ended: its counts, and the state they imply
// unless err says it stopped (cancelled when err wraps context.Canceled).
func (d *Dir) Finish(counts batch.RunCounts, stopped State, err error) error {
	return d.Update(func(m *Meta) {
		m.Counts = counts
		m.Finished = time.Now().UTC()
		switch {
		case stopped != "":
			m.State = stopped
		case counts.Complete():
			m.State = Succeeded
		default:
			m.State = Partial
		}
		if err != nil {
			m.Error = err.Error()
		}
	})
}

func (d *Dir) writeMeta() error {
	return writeJSON(d.File(MetaFile), d.meta)
}

// WritePlan saves the plan (secrets must already be masked) and records
// its size in the metadata.
func (d *Dir) WritePlan(p *batch.Plan) error {
	sum, err := savePlan(d.File(PlanFile), p)
	if err != nil {
		return err
	}
	return d.Update(func(m *Meta) { m.Ops, m.PlanSHA256 = len(p.Ops), sum })
}

// ReadPlan reads plan.json of the run directory, with plan.Load's checks
// (format version, operation ids and dependencies) and the SHA-256 the
// run recorded.
func (d *Dir) ReadPlan() (*batch.Plan, error) {
	return ReadPlan(d.Path, d.Meta())
}

// ReadPlan reads plan.json of the run in dir whose meta is m, refusing a
// plan that is not the one the run saved: resuming an edited plan would
// apply what nobody reviewed, and its journal would describe other
// operations.
func ReadPlan(dir string, m Meta) (*batch.Plan, error) {
	path := filepath.Join(dir, PlanFile)
	if m.PlanSHA256 != "" {
		sum, err := plan.HashInput(path)
		if err != nil {
			return nil, err
		}
		if sum != m.PlanSHA256 {
			return nil, fmt.Errorf("%s changed since run %s saved it (sha256 %.12s…, recorded %.12s… in %s): "+
				"a run carries on only with the plan it started; put the original back, or plan and apply again", path, m.ID, sum, m.PlanSHA256, MetaFile)
		}
	}
	return plan.Load(path)
}

// savePlan saves p at path and returns the file's SHA-256.
func savePlan(path string, p *batch.Plan) (string, error) {
	if err := plan.Save(path, p); err != nil {
		return "", err
	}
	return plan.HashInput(path)
}

// SetAsideJournal renames a journal that cannot be read (a damaged line)
// to journal.damaged-<time>.jsonl, kept for whoever investigates, so that
// resume --from-target can start a new one.
func (d *Dir) SetAsideJournal() (string, error) {
	to := d.File("journal.damaged-" + time.Now().UTC().Format("20060102-150405") + ".jsonl")
	if err := os.Rename(d.File(JournalFile), to); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("setting the damaged journal aside: %w", err)
	}
	return to, nil
}

// Close releases the lock. The directory stays.
func (d *Dir) Close() error {
	if d.lock == nil {
		return nil
	}
	err := release(d.lock, d.File(lockFile))
	d.lock = nil
	return err
}

// writeJSON writes v to path atomically: a crash leaves the old or the new
// file, never half of one.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, 0o600, append(data, '\n'))
}

func readMeta(dir string) (Meta, error) {
	var m Meta
	data, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, MetaFile), err)
	}
	return m, nil
}

// Info is one run as `pbxbatch runs` and `pbxbatch status` show it.
type Info struct {
	Meta
	Dir string `json:"dir"`
}

// Stat returns one run. A run that says running but that no process holds
// is reported Interrupted, with counts replayed from its journal.
func Stat(stateDir, id string) (Info, error) {
	path, err := runPath(stateDir, id)
	if err != nil {
		return Info{}, err
	}
	return stat(path)
}

func stat(path string) (Info, error) {
	m, err := readMeta(path)
	if err != nil {
		return Info{}, err
	}
	info := Info{Meta: m, Dir: path}
	if m.State == Running && !held(filepath.Join(path, lockFile)) {
		info.State = Interrupted
	}
	if info.State == Succeeded {
		return info, nil // nothing left to resume: its journal is not read
	}
	counts, err := journalCounts(filepath.Join(path, JournalFile), m.Ops)
	switch {
	case err != nil:
		// Shown, not fatal: the run is still there to be resumed.
		info.Error = fmt.Sprintf("%v; pbxbatch resume --from-target %s reads every operation back from the target instead", err, m.ID)
	case info.State == Running || info.State == Interrupted:
		info.Counts = counts
	}
	return info, nil
}

// journalCounts counts a journal's last states; operations it never
// mentions are pending.
func journalCounts(path string, ops int) (batch.RunCounts, error) {
	var c batch.RunCounts
	last, err := journal.Replay(path)
	if err != nil {
		return c, err
	}
	for _, e := range last {
		c.Add(e.Action, e.Status)
	}
	for range max(0, ops-len(last)) {
		c.Add("", batch.StatusPending)
	}
	return c, nil
}

// List returns the runs of a state directory, newest first. A directory
// that cannot be read is listed with State "" and its error, so one damaged
// run does not hide the others.
func List(stateDir string) ([]Info, error) {
	entries, err := os.ReadDir(Root(stateDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, e := range entries {
		if !e.IsDir() || !idPattern.MatchString(e.Name()) {
			continue
		}
		path := filepath.Join(Root(stateDir), e.Name())
		info, err := stat(path)
		if err != nil {
			info = Info{Meta: Meta{ID: e.Name(), Error: err.Error()}, Dir: path}
		}
		out = append(out, info)
	}
	// Newest first by start time: ids have one-second resolution, and two
	// runs started within a second must still come in order.
	slices.SortFunc(out, func(a, b Info) int { return cmp.Or(b.Started.Compare(a.Started), cmp.Compare(b.ID, a.ID)) })
	return out, nil
}
