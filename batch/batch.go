// Package batch is the engine's vocabulary: input rows, plans and operations.
// Sub-packages do the work: validate (rows from a workbook), plan (rows +
// live state → Plan), run (Plan → target, with journal), journal (durable
// checkpoints), report (results workbooks and summary), export and diff.
// Nothing here knows a platform: that is behind adapters.Conn.
package batch

import (
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// RowAction is the action column of an input row.
type RowAction string

const (
	Upsert    RowAction = "upsert" // default: create when absent, else update
	CreateRow RowAction = "create" // fail when it already exists
	UpdateRow RowAction = "update" // fail when it does not exist
	DeleteRow RowAction = "delete"
)

// ClearToken in a cell clears the field on the target. A blank cell keeps
// the target's value; any other text sets it.
const ClearToken = "<clear>"

// Row is one input row of one kind, converted to the schema's types.
type Row struct {
	Kind   string
	Origin diag.Origin // the row: Sheet/File and Row; Col empty
	Action RowAction
	Set    schemas.Record         // the values the row sets (nested by dotted path)
	Clear  []string               // dotted paths the row clears
	Cells  map[string]diag.Origin // dotted path -> the cell it came from
	// ReadOnly holds the values of read-only columns (x-readonly: exported
	// for audits, never settable). They are never applied; the planner
	// compares them to say what it cannot change.
	ReadOnly schemas.Record
	// Source is where a mapped row came from ("site-a.xlsx users!14", the
	// mapped workbook's #origin column); empty for other input.
	Source string
}

// OpAction is what the plan will do with one row.
type OpAction string

const (
	OpCreate  OpAction = "create"
	OpUpdate  OpAction = "update"
	OpDelete  OpAction = "delete"
	OpNoop    OpAction = "noop"
	OpBlocked OpAction = "blocked" // cannot run: Reason says why
)

// Write returns the adapter write an operation makes, and false for the
// actions that make none (no-op, blocked).
func (a OpAction) Write() (adapters.Action, bool) {
	switch a {
	case OpCreate:
		return adapters.Create, true
	case OpUpdate:
		return adapters.Update, true
	case OpDelete:
		return adapters.Delete, true
	}
	return "", false
}

// FieldChange is one field of an update: before → after. Secret values are
// masked.
type FieldChange struct {
	Field  string `json:"field"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// Op is one planned operation on one record.
type Op struct {
	ID      int            `json:"id"` // index in Plan.Ops, stable
	Kind    string         `json:"kind"`
	Key     string         `json:"key"` // Kind.KeyOf the record
	Action  OpAction       `json:"action"`
	Origin  diag.Origin    `json:"origin"`           // the input row
	Source  string         `json:"source,omitempty"` // the input row's own source, when it was mapped (Row.Source)
	Record  schemas.Record `json:"record,omitempty"` // desired full state; secrets masked when saved
	Before  schemas.Record `json:"before,omitempty"` // what the target held at plan time
	Changes []FieldChange  `json:"changes,omitempty"`
	Needs   []int          `json:"needs,omitempty"` // ops that must succeed first
	Locks   []string       `json:"locks,omitempty"` // remote records this op touches (adapters.Locker)
	Reason  string         `json:"reason,omitempty"`
}

// Where names an operation's input row for messages: "Users!7", or
// "extensions!7 from site-a.xlsx users!14" for a mapped row.
func Where(op *Op) string {
	if op.Source == "" {
		return op.Origin.String()
	}
	return op.Origin.String() + " from " + op.Source
}

// Plan is everything apply will do, deterministic for the same input and
// target state.
type Plan struct {
	Version     int    `json:"version"`
	Adapter     string `json:"adapter"`
	Target      string `json:"target"`
	TargetURL   string `json:"target_url"`
	Input       string `json:"input"`
	InputSHA256 string `json:"input_sha256"`
	// Accept lists the validation codes the operator accepted when the
	// plan was made (plan --accept): apply and resume read the input again
	// with the same judgement.
	Accept    []string  `json:"accept,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Ops       []*Op     `json:"ops"`
}

// Status is where one operation ended up in a run.
type Status string

const (
	StatusPending   Status = "pending"   // not started (yet)
	StatusInFlight  Status = "in_flight" // sent; outcome not yet recorded
	StatusSucceeded Status = "succeeded" // created, updated or deleted as planned
	StatusNoop      Status = "noop"      // nothing to do
	StatusFailed    Status = "failed"    // the target refused it, or retries ran out
	StatusBlocked   Status = "blocked"   // a dependency failed or was blocked; never sent
	StatusSkipped   Status = "skipped"   // not scheduled: failure budget spent or run cancelled
)

// Result is the outcome of one operation in a run.
type Result struct {
	Op         int       `json:"op"` // Op.ID
	Status     Status    `json:"status"`
	Message    string    `json:"message,omitempty"`    // why it failed or was blocked; never a secret
	BlockedBy  *int      `json:"blocked_by,omitempty"` // Op.ID of the failed op at the root of a block
	TargetID   string    `json:"target_id,omitempty"`
	Attempts   int       `json:"attempts,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}
