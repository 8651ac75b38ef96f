package batch

import (
	"time"

	"github.com/pbxbatch/pbxbatch/adapters"
)

// Step is the outcome of a run's end-of-run step (adapters.Finisher:
// profile generation, configuration push, publishing), for summary.json
// and the reports. A run that changed nothing the step cares about has
// none.
type Step struct {
	// Status is succeeded, failed, or pending: not run (yet) because the
	// run did not reach its end; resume runs it.
	Status   Status   `json:"status"`
	Changed  []string `json:"changed"` // the kinds whose changes it makes effective
	Message  string   `json:"message,omitempty"`
	Attempts int      `json:"attempts,omitempty"`
	adapters.StepResult
	FinishedAt time.Time `json:"finished_at,omitzero"`
}
