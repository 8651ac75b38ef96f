package report

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/internal/atomicfile"
)

// Summary is summary.json.
type Summary struct {
	RunID           string    `json:"run_id"`
	Adapter         string    `json:"adapter"`
	Target          string    `json:"target"`
	TargetURL       string    `json:"target_url,omitempty"`
	Input           string    `json:"input"`
	InputSHA256     string    `json:"input_sha256,omitempty"`
	Started         time.Time `json:"started,omitzero"`
	Finished        time.Time `json:"finished,omitzero"`
	DurationSeconds float64   `json:"duration_seconds"`
	// OpsPerSecond counts the operations sent to the target (succeeded or
	// failed; not no-ops, blocked or skipped ones) per second of the run.
	OpsPerSecond float64         `json:"ops_per_second"`
	Counts       batch.RunCounts `json:"counts"`
	Kinds        []KindCounts    `json:"kinds"`
	Latency      []Latency       `json:"latency"`
	// EndOfRun is the end-of-run step's outcome (profiles generated,
	// configuration pushed, documents published), per server.
	EndOfRun *batch.Step `json:"end_of_run,omitempty"`
	Reports  []string    `json:"reports,omitempty"` // files written beside summary.json
	// NotesDropped counts cell notes left out of the workbooks (past 20,000
	// on a sheet); the message column still holds every message.
	NotesDropped int `json:"notes_dropped,omitempty"`
}

// KindCounts are the counts of one kind.
type KindCounts struct {
	Kind string `json:"kind"`
	batch.RunCounts
}

// Latency are the percentiles of one kind and action, in milliseconds.
type Latency struct {
	Kind   string         `json:"kind"`
	Action batch.OpAction `json:"action"`
	Count  int            `json:"count"`
	P50    float64        `json:"p50_ms"`
	P90    float64        `json:"p90_ms"`
	P99    float64        `json:"p99_ms"`
	Max    float64        `json:"max_ms"`
}

func summarize(in Input, res []opResult) *Summary {
	p := in.Plan
	s := &Summary{
		RunID: in.RunID, Adapter: cmp.Or(in.Adapter, p.Adapter), Target: cmp.Or(in.Target, p.Target),
		TargetURL: cmp.Or(in.TargetURL, p.TargetURL), Input: cmp.Or(in.InputPath, p.Input), InputSHA256: p.InputSHA256,
		Started: in.Started, Finished: in.Finished, EndOfRun: in.Step,
	}
	byKind := map[string]*batch.RunCounts{}
	var kinds []string
	sent := 0
	samples := in.Samples
	for _, o := range res {
		st := batch.StatusPending
		switch {
		case o.res != nil:
			st = o.res.Status
		case o.op.Action == batch.OpBlocked:
			st = batch.StatusBlocked
		case o.op.Action == batch.OpNoop:
			st = batch.StatusNoop
		}
		s.Counts.Add(o.op.Action, st)
		c := byKind[o.op.Kind]
		if c == nil {
			c = &batch.RunCounts{}
			byKind[o.op.Kind] = c
			kinds = append(kinds, o.op.Kind)
		}
		c.Add(o.op.Action, st)
		if st == batch.StatusSucceeded || st == batch.StatusFailed {
			sent++
		}
		if in.Samples == nil && o.res != nil && !o.res.StartedAt.IsZero() && o.res.FinishedAt.After(o.res.StartedAt) {
			samples = append(samples, Sample{Kind: o.op.Kind, Action: o.op.Action, D: o.res.FinishedAt.Sub(o.res.StartedAt)})
		}
	}
	for _, k := range kinds {
		s.Kinds = append(s.Kinds, KindCounts{Kind: k, RunCounts: *byKind[k]})
	}
	if !s.Started.IsZero() && s.Finished.After(s.Started) {
		d := s.Finished.Sub(s.Started)
		s.DurationSeconds = d.Seconds()
		s.OpsPerSecond = float64(sent) / d.Seconds()
	}
	s.Latency = percentiles(samples)
	return s
}

// percentiles groups samples by kind and action (in first-seen order) and
// computes nearest-rank percentiles.
func percentiles(samples []Sample) []Latency {
	type group struct {
		kind   string
		action batch.OpAction
	}
	by := map[group][]time.Duration{}
	var order []group
	for _, s := range samples {
		g := group{s.Kind, s.Action}
		if _, ok := by[g]; !ok {
			order = append(order, g)
		}
		by[g] = append(by[g], s.D)
	}
	out := []Latency{}
	for _, g := range order {
		ds := by[g]
		slices.Sort(ds)
		out = append(out, Latency{
			Kind: g.kind, Action: g.action, Count: len(ds),
			P50: ms(rank(ds, 0.50)), P90: ms(rank(ds, 0.90)), P99: ms(rank(ds, 0.99)), Max: ms(ds[len(ds)-1]),
		})
	}
	return out
}

// rank is the nearest-rank percentile of sorted durations.
func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func writeSummary(path string, s *Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, 0o600, append(b, '\n'))
}
