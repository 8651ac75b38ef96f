package batch

// RunCounts are the per-status totals of a run, as summary.json, `pbxbatch
// runs` and the runner's outcome report them. Succeeded operations count
// under their action (Created, Updated, Deleted); Unchanged counts no-ops.
type RunCounts struct {
	Planned   int `json:"planned"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
	Blocked   int `json:"blocked"`
	Skipped   int `json:"skipped"`
	InFlight  int `json:"in_flight,omitempty"` // outcome unknown: resume reads these back
	Pending   int `json:"pending,omitempty"`   // never reached
}

// Add counts one operation of the given planned action that ended in st.
func (c *RunCounts) Add(action OpAction, st Status) {
	c.Planned++
	switch st {
	case StatusSucceeded:
		switch action {
		case OpCreate:
			c.Created++
		case OpUpdate:
			c.Updated++
		case OpDelete:
			c.Deleted++
		default:
			c.Unchanged++
		}
	case StatusNoop:
		c.Unchanged++
	case StatusFailed:
		c.Failed++
	case StatusBlocked:
		c.Blocked++
	case StatusSkipped:
		c.Skipped++
	case StatusInFlight:
		c.InFlight++
	default:
		c.Pending++
	}
}

// Complete reports whether every operation succeeded or had nothing to do.
func (c RunCounts) Complete() bool {
	return c.Created+c.Updated+c.Deleted+c.Unchanged == c.Planned
}
