package apio

//go:generate go test . -run TestTestdataUpToDate -update

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// SampleGroups are the tenant/group pairs of the sample rollout; a
// simulator for it needs them (sim setting GROUPS).
var SampleGroups = []string{"footenant/foogroup", "footenant/bargroup", "acme/hq"}

// RangeSize is how many virtual users one range row of the sample makes.
const RangeSize = 10

// Sample is a deterministic rollout of virtual users over SampleGroups: in
// each group, the first half are single rows with their own names, the
// rest ranges of RangeSize numbers sharing one name (the desks of a
// migrating site).
type Sample struct {
	perGroup int // users per group, a multiple of 2*RangeSize
}

// NewSample returns a rollout of about users virtual users.
func NewSample(users int) *Sample {
	per := users / len(SampleGroups) / (2 * RangeSize) * (2 * RangeSize)
	return &Sample{perGroup: max(per, 2*RangeSize)}
}

// Users is the number of virtual users the rollout makes.
func (s *Sample) Users() int { return s.perGroup * len(SampleGroups) }

// Rows is the rollout's rows: single users, then range rows, per group.
func (s *Sample) Rows() []schemas.Record {
	var out []schemas.Record
	half := s.perGroup / 2
	for g, name := range SampleGroups {
		tenant, group, _ := strings.Cut(name, "/")
		phone := func(i int) string { return fmt.Sprintf("+322%d%06d", 7+g, 100000+i) }
		ext := func(i int) string { return fmt.Sprintf("%04d", i) }
		for i := range half {
			u := g*s.perGroup + i
			r := schemas.Record{"tenant": tenant, "group": group, "phoneNumber": phone(i), "extension": ext(i),
				"firstName": sampledata.FirstName(u), "lastName": sampledata.LastName(u/sampledata.FirstNames() + u),
				"callType": []string{"default", "remote"}[u%2]}
			if i%3 != 0 {
				r["cliFirstName"], r["cliLastName"] = r["firstName"], r["lastName"]
			}
			out = append(out, r)
		}
		for i := half; i < s.perGroup; i += RangeSize {
			j := i + RangeSize - 1
			out = append(out, schemas.Record{"tenant": tenant, "group": group,
				"phoneNumber": phone(i) + ".." + phone(j), "extension": ext(i) + ".." + ext(j),
				"firstName": "Desk", "lastName": fmt.Sprintf("Block %d", (i-half)/RangeSize+1), "callType": "default"})
		}
	}
	return out
}

// Sheets renders the rollout as its one sheet.
func (s *Sample) Sheets(set *schemas.Set) ([]sampledata.Sheet, error) {
	k := set.Kind(Kind)
	if k == nil {
		return nil, fmt.Errorf("sample data: adapter %s has no kind %q", set.Adapter, Kind)
	}
	rows := s.Rows()
	var header []string
	for _, f := range k.Fields {
		header = append(header, f.Path)
	}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = make([]string, len(header))
		for j, h := range header {
			cells[i][j] = r.String(h)
		}
	}
	return []sampledata.Sheet{{Name: sampledata.SheetTitle(k.Plural), Kind: Kind, Header: header, Rows: sampledata.Rows(cells)}}, nil
}

// DefaultSampleUsers is the size of testdata/apio's rollout.
const DefaultSampleUsers = 2000

// WriteTestdata writes the sample rollout under dir (testdata/apio):
// rollout.xlsx and its CSV twin.
func WriteTestdata(dir string, set *schemas.Set) error {
	sheets, err := NewSample(DefaultSampleUsers).Sheets(set)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := sampledata.WriteXLSX(filepath.Join(dir, "rollout.xlsx"), sheets); err != nil {
		return err
	}
	return sampledata.WriteCSVDir(filepath.Join(dir, "rollout-csv"), sheets)
}
