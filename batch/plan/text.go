package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// TextOptions tune WriteText.
type TextOptions struct {
	Color bool // ANSI colours, for a terminal only
	// Fields lists every field of each create, as terraform does; off by
	// default because a rollout of thousands of records would drown the
	// updates and the blocked rows.
	Fields bool
}

// ActionCounts are the operations of a plan by action.
type ActionCounts struct {
	Create, Update, Delete, Noop, Blocked int
}

// Changes is the number of writes.
func (c ActionCounts) Changes() int { return c.Create + c.Update + c.Delete }

func (c *ActionCounts) add(a batch.OpAction) {
	switch a {
	case batch.OpCreate:
		c.Create++
	case batch.OpUpdate:
		c.Update++
	case batch.OpDelete:
		c.Delete++
	case batch.OpNoop:
		c.Noop++
	case batch.OpBlocked:
		c.Blocked++
	}
}

// Count returns the plan's totals and the counts per kind, kinds in plan
// order.
func Count(p *batch.Plan) (total ActionCounts, kinds []string, byKind map[string]*ActionCounts) {
	byKind = map[string]*ActionCounts{}
	for _, op := range p.Ops {
		c := byKind[op.Kind]
		if c == nil {
			c = &ActionCounts{}
			byKind[op.Kind] = c
			kinds = append(kinds, op.Kind)
		}
		c.add(op.Action)
		total.add(op.Action)
	}
	return total, kinds, byKind
}

const (
	ansiReset  = "\x1b[0m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiBold   = "\x1b[1m"
)

// WriteText prints a plan the way terraform plan does: the target, counts
// per kind and action, one line per change (+ create, ~ update with each
// field's before → after, - delete, ! blocked with the reason, = a no-op
// worth a note), then a one-line total.
func WriteText(w io.Writer, p *batch.Plan, o TextOptions) error {
	paint := func(color, s string) string {
		if !o.Color {
			return s
		}
		return color + s + ansiReset
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Plan for target %s (%s, %s)\n", orDash(p.Target), orDash(p.Adapter), orDash(p.TargetURL))
	if p.Input != "" {
		fmt.Fprintf(&b, "Input: %s\n", p.Input)
	}
	b.WriteString("\n")

	total, kinds, byKind := Count(p)
	if len(p.Ops) == 0 {
		b.WriteString("The input has no rows to plan.\n")
		_, err := w.Write(b.Bytes())
		return err
	}
	names := slices.Clone(kinds)
	counts := make([]ActionCounts, 0, len(kinds)+1)
	for _, k := range kinds {
		counts = append(counts, *byKind[k])
	}
	if len(kinds) > 1 {
		names, counts = append(names, "total"), append(counts, total)
	}
	width := len("kind")
	for _, n := range names {
		width = max(width, len(n))
	}
	fmt.Fprintf(&b, "  %-*s  create  update  delete   no-op  blocked\n", width, "kind")
	for i, n := range names {
		c := counts[i]
		fmt.Fprintf(&b, "  %-*s  %6d  %6d  %6d  %6d  %7d\n", width, n, c.Create, c.Update, c.Delete, c.Noop, c.Blocked)
	}
	b.WriteString("\n")

	for _, op := range p.Ops {
		name := op.Kind + " " + op.Key
		switch op.Action {
		case batch.OpCreate:
			fmt.Fprintf(&b, "%s %s\n", paint(ansiGreen, "+"), name)
			if o.Fields {
				for _, path := range op.Record.Paths() {
					v, _ := op.Record.Get(path)
					fmt.Fprintf(&b, "    %s: %s\n", path, value(v))
				}
			}
		case batch.OpUpdate:
			if len(op.Changes) == 1 {
				fmt.Fprintf(&b, "%s %s  %s\n", paint(ansiYellow, "~"), name, change(op.Changes[0]))
				continue
			}
			fmt.Fprintf(&b, "%s %s\n", paint(ansiYellow, "~"), name)
			for _, c := range op.Changes {
				fmt.Fprintf(&b, "    %s\n", change(c))
			}
		case batch.OpDelete:
			fmt.Fprintf(&b, "%s %s\n", paint(ansiRed, "-"), name)
		case batch.OpBlocked:
			fmt.Fprintf(&b, "%s %s (%s): blocked: %s\n", paint(ansiRed+ansiBold, "!"), name, batch.Where(op), op.Reason)
		case batch.OpNoop:
			if op.Reason != "" {
				fmt.Fprintf(&b, "= %s: %s\n", name, op.Reason)
			}
		}
	}
	if total.Changes() > 0 || total.Blocked > 0 || hasNotes(p) {
		b.WriteString("\n")
	}
	if total.Changes() == 0 && total.Blocked == 0 {
		if hasNotes(p) { // a note says what differs but cannot be changed
			fmt.Fprintf(&b, "No changes pbxbatch can make (%d %s; see the notes above).\n", total.Noop, plural(total.Noop, "record", "records"))
		} else {
			fmt.Fprintf(&b, "No changes: the target already matches the input (%d %s).\n", total.Noop, plural(total.Noop, "record", "records"))
		}
	} else {
		fmt.Fprintf(&b, "Plan: %d to create, %d to update, %d to delete, %d unchanged, %s.\n",
			total.Create, total.Update, total.Delete, total.Noop, paintIf(total.Blocked > 0, o.Color, ansiRed+ansiBold, fmt.Sprintf("%d blocked", total.Blocked)))
	}
	_, err := w.Write(b.Bytes())
	return err
}

func hasNotes(p *batch.Plan) bool {
	for _, op := range p.Ops {
		if op.Action == batch.OpNoop && op.Reason != "" {
			return true
		}
	}
	return false
}

func paintIf(cond, color bool, code, s string) string {
	if cond && color {
		return code + s + ansiReset
	}
	return s
}

// change renders one field change: `email: "a@x" → "b@x"`. A secret shows
// only that it is set, or that its current value cannot be read.
func change(c batch.FieldChange) string {
	before := value(c.Before)
	if c.After == schemas.Mask && c.Before == nil {
		before = "(not readable)"
	}
	return fmt.Sprintf("%s: %s → %s", c.Field, before, value(c.After))
}

// value renders a value as JSON (strings quoted, numbers bare, lists in
// brackets) so that "" and a missing value, or "5" and 5, look different.
func value(v any) string {
	switch v {
	case nil:
		return "(none)"
	case schemas.Mask:
		return schemas.Mask
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
