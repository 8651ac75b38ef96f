package adapters

import (
	"context"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// The optional capabilities of a platform: small interfaces, each checked
// once by type assertion when Features is built, so that the engine asks
// one struct instead of asserting here and there, and so that a decorator
// wrapping a Conn (pacing, logging) cannot hide what the Conn it wraps can
// do (it exposes that Conn with Unwrap).

// Locker is implemented by adapters whose writes touch records other than
// their own: MX-ONE links an extension to its owner by updating the user, so
// two extensions of one user must not be written at the same time. Locks
// returns names of remote records ("user/jdoe") that the runner serialises on.
type Locker interface {
	Locks(c Change) []string
}

// Capabilities is implemented by adapters that cannot do every action on
// every kind, so that the planner can say so for the row instead of failing at
// apply time.
type Capabilities interface {
	// Supports returns "" when the action is possible, else the reason.
	Supports(kind string, a Action) string
}

// Batcher is implemented by connections that can send several writes of one
// kind and action in one request (APIO creates a list or a range of virtual
// users in one POST). The runner marks every member in flight before the
// request and records each outcome after; a rate or concurrency limit
// counts the batch as one request.
type Batcher interface {
	// MaxBatch returns how many changes of this kind and action one
	// ApplyBatch may carry; below 2 they are sent one by one with Apply.
	MaxBatch(kind string, a Action) int
	// ApplyBatch makes one attempt at every change, in one request. When
	// the target answered for each change it returns one Result and one
	// error (nil on success) per change, in order. When it answered for
	// the batch as a whole (refused it, throttled, or the outcome is
	// unknown), it returns that error and nil slices: the runner then
	// learns each member's fate by reading it back, never by resending the
	// batch blindly. A refusal (any class but Unknown) must mean that none
	// of the batch was applied: a member then found on the target with
	// other values is someone else's record, and is failed, not
	// overwritten. An outcome that may be partial is Unknown.
	ApplyBatch(ctx context.Context, cs []Change) ([]Result, []error, error)
}

// BatchGrouper is implemented by Batchers whose one request holds changes of
// one scope only (APIO posts the virtual users of one tenant and group to
// that group's path): the runner batches together only changes of the
// same BatchGroup.
type BatchGrouper interface {
	BatchGroup(c Change) string
}

// Finisher is implemented by connections that need one step at the end of a
// run that changed something (sipXconfig generates phone profiles, Verba
// pushes extension configuration to its recorders, Acrobits publishes the
// documents softphones fetch). The runner journals the step, so that resume
// runs it again when a run died before it finished.
type Finisher interface {
	// FinishKinds lists the kinds whose changes the step makes effective;
	// a run that changed none of them does not run it.
	FinishKinds() []string
	// Finish runs the step once; changed holds the kinds among FinishKinds
	// that the run created, updated or deleted records of. It must be safe
	// to run again: resume does when a run died during it. An error means
	// the step did not (fully) take effect: say what failed and where, and
	// classify it (Retryable, Throttled and Unknown are tried again).
	Finish(ctx context.Context, changed []string) (StepResult, error)
}

// StepResult is what an end-of-run step did, for summary.json and the
// report: a line for people, and a line per server (or document, or
// recorder) it touched.
type StepResult struct {
	Summary string     `json:"summary,omitempty"`
	Parts   []StepPart `json:"parts,omitempty"`
}

// StepPart is the step's result on one server.
type StepPart struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
}

// Transport is implemented by adapters and connections that say whether
// their target is an HTTP API. Those that do not implement it are (every
// platform before Acrobits). A target that is not — a document store we
// publish into — has no HTTP transport for a pacer to wrap, so pacing wraps
// its whole operations instead, and its target needs no url.
type Transport interface {
	HTTP() bool
}

// Unwrapper is implemented by decorators of a Conn: Unwrap returns the Conn
// they wrap, so that Features finds the capabilities a decorator does not
// implement itself. A decorator that changes how writes are sent (pacing)
// implements Batcher and Finisher itself when the Conn it wraps does.
type Unwrapper interface {
	Unwrap() Conn
}

// Checker is implemented by connections that can tell at plan time that the
// target would refuse a write, from what it holds beyond the schemas' reach
// (an MX-ONE extension number outside its subsystem's EX number series, or
// shorter than the series' numbers: leading zeros lost in a spreadsheet).
// The planner blocks the row at the field's cell instead of letting apply
// fail it.
type Checker interface {
	// Check returns the field at fault and the reason, or "" and "" when
	// the write looks acceptable. planned returns the record of kind and
	// key that the same plan creates or updates (nil when it does not), so
	// a parent rolled out in the same workbook is checked as it will be.
	// An error means the check itself could not be made (a read failed):
	// the planner says so and plans the row anyway.
	Check(ctx context.Context, c Change, planned func(kind, key string) schemas.Record) (field, reason string, err error)
}

// Features are the optional capabilities of one adapter and its open
// connection, found once by FeaturesOf. Nil fields are capabilities the
// platform does not have.
type Features struct {
	Locker       Locker
	Capabilities Capabilities
	Batcher      Batcher
	BatchGrouper BatchGrouper
	Finisher     Finisher
	Checker      Checker
	// HTTP is false for a target that is not an HTTP API (see Transport).
	HTTP bool
}

// FeaturesOf returns the capabilities of c (nil before a connection is
// open: those of the adapter alone) and of the adapter a. Each is taken from
// the outermost of c and the Conns it wraps (Unwrapper) that implements it,
// then from a.
func FeaturesOf(a Adapter, c Conn) Features {
	f := Features{HTTP: true}
	httpSet := false
	var layers []any
	for c != nil {
		layers = append(layers, c)
		u, ok := c.(Unwrapper)
		if !ok {
			break
		}
		c = u.Unwrap()
	}
	if a != nil {
		layers = append(layers, a)
	}
	for _, l := range layers {
		if v, ok := l.(Locker); ok && f.Locker == nil {
			f.Locker = v
		}
		if v, ok := l.(Capabilities); ok && f.Capabilities == nil {
			f.Capabilities = v
		}
		if v, ok := l.(Batcher); ok && f.Batcher == nil {
			f.Batcher = v
		}
		if v, ok := l.(BatchGrouper); ok && f.BatchGrouper == nil {
			f.BatchGrouper = v
		}
		if v, ok := l.(Finisher); ok && f.Finisher == nil {
			f.Finisher = v
		}
		if v, ok := l.(Checker); ok && f.Checker == nil {
			f.Checker = v
		}
		if v, ok := l.(Transport); ok && !httpSet {
			f.HTTP, httpSet = v.HTTP(), true
		}
	}
	return f
}
