package mapping

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Report accounts for every source value: per target kind and field what
// was mapped, defaulted and generated; per source kind the rows used,
// filtered on purpose and unmapped; and every source field with data that
// no rule consumed (dropped), with its count, an example cell and why.
// It never holds a secret.
type Report struct {
	Profile string         `json:"profile"`
	File    string         `json:"profile_file"`
	Source  string         `json:"source"`
	Target  string         `json:"target"`
	Input   string         `json:"input"`
	Targets []TargetReport `json:"targets"`
	Sources []SourceReport `json:"sources"`
	Dropped []*Dropped     `json:"dropped"`
	Errors  int            `json:"errors"`
	// Messages are the map's errors and warnings, at source cells (set by
	// Write, which adds the target validation's).
	Messages diag.List `json:"messages,omitempty"`
}

// TargetReport is one target kind.
type TargetReport struct {
	Kind   string        `json:"kind"`
	Rows   int           `json:"rows"`
	Fields []*fieldStats `json:"fields"`
}

type fieldStats struct {
	Field     string `json:"field"`
	Mapped    int    `json:"mapped,omitempty"`
	Defaulted int    `json:"defaulted,omitempty"`
	Generated int    `json:"generated,omitempty"` // secrets generated (delivered in the secrets file)
	FromFile  int    `json:"from_side_file,omitempty"`
	Blank     int    `json:"blank_secret,omitempty"` // secrets left blank: the target keeps or sets its default
}

// SourceReport is one source kind.
type SourceReport struct {
	Kind     string `json:"kind"`
	Rows     int    `json:"rows"`
	Used     int    `json:"used"`
	Filtered int    `json:"filtered,omitempty"` // left out by a where: on purpose
	// FilteredBy are the profile lines of the rules whose where: left rows out.
	FilteredBy []int `json:"filtered_by,omitempty"`
	// Dropped is the profile's reason for a kind that is not migrated.
	Dropped  string `json:"dropped,omitempty"`
	Catalog  bool   `json:"catalogue,omitempty"` // a read-only catalogue: never migrated
	Unmapped int    `json:"unmapped,omitempty"`  // rows that went nowhere: an error
}

// Dropped is one source field whose data went nowhere, for one reason.
type Dropped struct {
	Kind    string `json:"kind"`
	Field   string `json:"field"`
	Count   int    `json:"count"`
	Example string `json:"example"` // "site-a.xlsx users!G2"
	Value   string `json:"value"`
	Reason  string `json:"reason"`
}

type dropKey struct{ kind, field, reason string }

func (m *mapper) stat(kind, field string) *fieldStats {
	id := kind + "." + field
	s := m.stats[id]
	if s == nil {
		s = &fieldStats{Field: field}
		m.stats[id] = s
	}
	return s
}

func (m *mapper) drop(kind, field string, at diag.Origin, value, reason string) {
	k := dropKey{kind, field, reason}
	d := m.drops[k]
	if d == nil {
		d = &Dropped{Kind: kind, Field: field, Example: where(at), Value: value, Reason: reason}
		m.drops[k] = d
	}
	d.Count++
}

// Reasons the engine gives itself; the profile's drop: section gives the
// others.
const (
	reasonNoRule    = "no rule of the profile reads it"
	reasonNotAField = "the column is not a field of this kind"
)

func (m *mapper) report(res *Result) *Report {
	p := m.p
	r := &Report{Profile: p.Name, File: p.File, Source: p.Source.Adapter, Target: p.Target.Adapter, Input: m.input}
	for _, t := range res.Tables {
		tr := TargetReport{Kind: t.Kind.Name, Rows: len(t.Rows)}
		for _, f := range t.Kind.Fields {
			st := m.stat(t.Kind.Name, f.Path)
			for _, row := range t.Rows {
				if _, ok := row.Values[f.Path]; !ok {
					continue
				}
				if row.meta[f.Path].how == howMapped {
					st.Mapped++
				} else {
					st.Defaulted++
				}
			}
			if *st != (fieldStats{Field: f.Path}) {
				tr.Fields = append(tr.Fields, st)
			}
		}
		r.Targets = append(r.Targets, tr)
	}
	for _, k := range p.Source.Kinds {
		rows := m.src[k.Name]
		if len(rows) == 0 {
			continue
		}
		sr := SourceReport{Kind: k.Name, Rows: len(rows), Catalog: k.ReadOnly}
		if d, ok := p.Drops[k.Name]; ok {
			sr.Dropped = d.Reason
		}
		for _, row := range rows {
			switch {
			case row.used:
				sr.Used++
			case k.ReadOnly:
			case row.filtered > 0:
				sr.Filtered++
				if !slices.Contains(sr.FilteredBy, row.filtered) {
					sr.FilteredBy = append(sr.FilteredBy, row.filtered)
				}
				continue // filtered on purpose: its fields are not "dropped"
			case sr.Dropped == "":
				sr.Unmapped++
				m.diags.Errorf(row.origin, "", "map.unmapped_row", "this %s row maps to nothing: no rule of profile %s takes it; add a rule, filter it with where:, or drop the kind with a reason under drop:", k.Name, p.Name)
			}
			if k.ReadOnly {
				continue // a catalogue of the source platform: one line says so
			}
			for _, field := range sortedKeys(row.cells) {
				if row.consumed[field] {
					continue
				}
				c := row.cells[field]
				v := c.text
				if f := k.Field(field); f != nil && f.Secret {
					v = schemas.Mask // an export never holds one; a hand-made source might
				}
				m.drop(k.Name, field, c.origin, v, m.dropReason(row, field))
			}
		}
		r.Sources = append(r.Sources, sr)
	}
	for _, d := range m.drops {
		r.Dropped = append(r.Dropped, d)
	}
	slices.SortFunc(r.Dropped, func(a, b *Dropped) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Field, b.Field), cmp.Compare(a.Reason, b.Reason))
	})
	errs, _ := m.diags.Count()
	r.Errors = errs
	return r
}

func (m *mapper) dropReason(row *srcRow, field string) string {
	k := row.kind.Name
	if d, ok := m.p.Drops[k+"."+field]; ok {
		return d.Reason
	}
	if d, ok := m.p.Drops[k]; ok {
		return d.Reason
	}
	if row.unknown[field] {
		return reasonNotAField
	}
	return reasonNoRule
}

// WriteText prints the report for a person: targets, sources, then the
// dropped fields, which are what a migration engineer must read.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Mapping %s (%s) to %s with profile %s (%s)\n", r.Input, r.Source, r.Target, r.Profile, r.File)
	b.WriteString("\nTarget rows:\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "  %s: %d\n", t.Kind, t.Rows)
		for _, f := range t.Fields {
			fmt.Fprintf(&b, "    %-28s %s\n", f.Field, f.counts())
		}
	}
	b.WriteString("\nSource rows:\n")
	for _, s := range r.Sources {
		fmt.Fprintf(&b, "  %s: %d read, %d used", s.Kind, s.Rows, s.Used)
		if s.Filtered > 0 {
			lines := make([]string, len(s.FilteredBy))
			for i, l := range s.FilteredBy {
				lines[i] = fmt.Sprint(l)
			}
			fmt.Fprintf(&b, ", %d filtered out on purpose (where: at profile line %s)", s.Filtered, strings.Join(lines, ", "))
		}
		if s.Unmapped > 0 {
			fmt.Fprintf(&b, ", %d MAP TO NOTHING (errors)", s.Unmapped)
		}
		switch {
		case s.Catalog:
			b.WriteString(": a read-only catalogue of the source, never migrated")
		case s.Dropped != "" && s.Used == 0:
			fmt.Fprintf(&b, ": dropped: %s", s.Dropped)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nDropped (source data that no rule consumed): %d %s\n", len(r.Dropped), plural(len(r.Dropped), "field", "fields"))
	for _, d := range r.Dropped {
		fmt.Fprintf(&b, "  %s.%s: %d %s, e.g. %s %q: %s\n", d.Kind, d.Field, d.Count, plural(d.Count, "value", "values"), d.Example, d.Value, d.Reason)
	}
	if r.Errors > 0 {
		fmt.Fprintf(&b, "\n%d %s: nothing was written but this report\n", r.Errors, plural(r.Errors, "error", "errors"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is the report in one line: rows per target kind and how many
// source fields were dropped.
func (r *Report) Summary() string {
	var kinds []string
	total := 0
	for _, t := range r.Targets {
		kinds = append(kinds, fmt.Sprintf("%d %s", t.Rows, t.Kind))
		total += t.Rows
	}
	return fmt.Sprintf("%d rows (%s); %d source %s dropped", total, strings.Join(kinds, ", "), len(r.Dropped), plural(len(r.Dropped), "field", "fields"))
}

func (f *fieldStats) counts() string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{f.Mapped, "mapped"}, {f.Defaulted, "defaulted"}, {f.Generated, "generated (in the secrets file)"}, {f.FromFile, "from the side file"}, {f.Blank, "left blank (secret: the target keeps or sets its default)"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return strings.Join(parts, ", ")
}

// Rows renders the report as table rows for the _mapping sheet of the
// mapped workbook.
func (r *Report) Rows() (header []string, rows [][]string) {
	header = []string{"section", "kind", "field", "count", "what", "example", "value"}
	for _, t := range r.Targets {
		rows = append(rows, []string{"target", t.Kind, "", fmt.Sprint(t.Rows), "rows", "", ""})
		for _, f := range t.Fields {
			rows = append(rows, []string{"target", t.Kind, f.Field, "", f.counts(), "", ""})
		}
	}
	for _, s := range r.Sources {
		what := fmt.Sprintf("%d used, %d filtered, %d unmapped", s.Used, s.Filtered, s.Unmapped)
		if s.Dropped != "" {
			what += "; dropped: " + s.Dropped
		}
		rows = append(rows, []string{"source", s.Kind, "", fmt.Sprint(s.Rows), what, "", ""})
	}
	for _, d := range r.Dropped {
		rows = append(rows, []string{"dropped", d.Kind, d.Field, fmt.Sprint(d.Count), d.Reason, d.Example, d.Value})
	}
	return header, rows
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
