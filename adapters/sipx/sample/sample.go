// Package sample generates deterministic sipXcom rollouts: custom
// permissions, users with aliases and groups, hunt groups, park orbits,
// phones of several vendors and their lines. It writes testdata/sipx (go
// generate ./adapters/sipx/sample, or make testdata) and is the platform's
// sample generator (sipx.Platform).
package sample

//go:generate go test . -run TestTestdataUpToDate -update

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/sampledata"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Config sizes a sipXcom rollout.
type Config struct {
	Users  int // user names from 2000 up
	Phones int // at most Users: phone i is user i's desk phone
}

// Default is the sample rollout of testdata/sipx: 320 users, 300 phones
// of several models with 330 lines, 12 hunt groups, 4 park orbits and 3
// custom permissions.
func Default() Config { return Config{Users: 320, Phones: 300} }

// Rollout is a generated sipXcom rollout. Everything is derived from
// indexes, so the same config always gives the same records.
type Rollout struct {
	cfg Config
}

// New returns the rollout for cfg.
func New(cfg Config) *Rollout {
	cfg.Phones = min(cfg.Phones, cfg.Users)
	return &Rollout{cfg: cfg}
}

// Kinds are the kinds of a sipx rollout, in dependency order.
func Kinds() []string {
	return []string{"permission", "user", "call_group", "park_orbit", "phone", "line"}
}

var (
	sipxPermissions = []struct {
		label, description string
		def                bool
	}{
		{"International Calls", "Calls outside the country", false},
		{"Premium Numbers", "Calls to premium-rate numbers", false},
		{"Night Service", "May switch the reception to night service", false},
	}
	sipxDepartments = []string{"sales", "support", "finance", "engineering", "operations", "hr"}
	sipxBranches    = []string{"HQ", "Berlin", "Stockholm"}
	// Models cycle through several vendors; firmware is set on some
	// Polycoms only (other models take none).
	sipxModels = []string{"polycom335", "polycomVVX1500", "snom370", "aastra57i", "ciscoplus7961G", "SPA504G", "polycom650"}
)

func sipxUserName(u int) string { return fmt.Sprint(2000 + u) }

// sipxPersonName spreads first and last names so that every combination
// before len(first)*len(last) users is unique.
func sipxPersonName(u int) (first, last string) {
	return sampledata.FirstName(u), sampledata.LastName(u/sampledata.FirstNames() + u)
}

// Len returns the number of records of a kind.
func (r *Rollout) Len(kind string) int {
	switch kind {
	case "permission":
		return len(sipxPermissions)
	case "user":
		return r.cfg.Users
	case "call_group":
		return 2 * len(sipxDepartments)
	case "park_orbit":
		return 4
	case "phone":
		return r.cfg.Phones
	case "line":
		return r.cfg.Phones + r.cfg.Phones/10
	}
	return 0
}

// Record returns record i of a kind.
func (r *Rollout) Record(kind string, i int) schemas.Record {
	switch kind {
	case "permission":
		p := sipxPermissions[i]
		return schemas.Record{"label": p.label, "description": p.description, "defaultValue": p.def}
	case "user":
		return r.user(i)
	case "call_group":
		return r.callGroup(i)
	case "park_orbit":
		return schemas.Record{"name": fmt.Sprintf("park-%s-%d", strings.ToLower(sipxBranches[i%len(sipxBranches)]), i+1),
			"extension": fmt.Sprint(7001 + i), "description": "Call park orbit " + fmt.Sprint(i+1), "enabled": true}
	case "phone":
		first, last := sipxPersonName(i)
		model := sipxModels[i%len(sipxModels)]
		rec := schemas.Record{"serialNumber": sipxMAC(i), "modelId": model, "description": "Desk phone of " + first + " " + last,
			"groups": []any{"phones-" + strings.ToLower(sipxBranches[i%len(sipxBranches)])}}
		if strings.HasPrefix(model, "polycom") && i%2 == 0 {
			rec["deviceVersion"] = "polycom4.0"
		}
		return rec
	case "line":
		if i < r.cfg.Phones {
			return schemas.Record{"phone": sipxMAC(i), "user": sipxUserName(i)}
		}
		// Every tenth phone also carries the line of a user without a
		// desk phone of their own (a shared line), or of the receptionist.
		j := i - r.cfg.Phones
		user := sipxUserName(0)
		if r.cfg.Phones+j < r.cfg.Users {
			user = sipxUserName(r.cfg.Phones + j)
		}
		return schemas.Record{"phone": sipxMAC(10*j + 1), "user": user}
	}
	panic("sampledata: no sipx kind " + kind)
}

func sipxMAC(i int) string { return fmt.Sprintf("0004f2%06x", 0x100000+i) }

func (r *Rollout) user(u int) schemas.Record {
	first, last := sipxPersonName(u)
	dept := sipxDepartments[u%len(sipxDepartments)]
	rec := schemas.Record{
		"userName": sipxUserName(u), "firstName": first, "lastName": last,
		"emailAddress": sampledata.ASCIILower(first) + "." + sampledata.ASCIILower(last) + "@example.com",
		"groups":       []any{dept}, "branchName": sipxBranches[u%len(sipxBranches)],
		// An initial voicemail PIN, as a rollout sheet carries one.
		"pin": fmt.Sprintf("%06d", (u*7919+104729)%1000000),
	}
	if u%3 == 0 {
		rec["aliases"] = []any{sampledata.ASCIILower(first) + "." + sampledata.ASCIILower(last)}
	}
	if u%25 == 0 {
		rec["groups"] = []any{dept, "managers"}
	}
	switch {
	case u%10 == 0:
		rec["permissions"] = []any{"International Calls"}
	case u%40 == 7:
		rec["permissions"] = []any{"International Calls", "Premium Numbers"}
	case u == 1:
		rec["permissions"] = []any{"Night Service"}
	}
	return rec
}

// callGroup i is the hunt group of a department; the second half are the
// departments' after-hours groups, ringing everyone at once.
func (r *Rollout) callGroup(i int) schemas.Record {
	d := i % len(sipxDepartments)
	dept := sipxDepartments[d]
	var members []any
	for u := d; u < r.cfg.Users && len(members) < 3+d%4; u += len(sipxDepartments) {
		members = append(members, sipxUserName(u))
	}
	rec := schemas.Record{"name": "hunt-" + dept, "extension": fmt.Sprint(6001 + i), "description": "Hunt group of " + dept, "enabled": true, "rings": members}
	if i >= len(sipxDepartments) {
		rec["name"] = "after-hours-" + dept
		rec["description"] = "After-hours group of " + dept
		rec["ringTypes"] = []any{"immediate"}
		rec["ringExpirations"] = []any{json.Number("30")}
		return rec
	}
	// Business hours: the first member alone, then the rest together.
	types, secs := []any{"delayed"}, []any{json.Number("15")}
	for range members[1:] {
		types = append(types, "immediate")
		secs = append(secs, json.Number("20"))
	}
	rec["ringTypes"], rec["ringExpirations"] = types, secs
	return rec
}

// Sheets renders the rollout as one sheet per kind, in dependency
// order, with the columns the rollout fills, in schema order.
func (r *Rollout) Sheets(set *schemas.Set) ([]sampledata.Sheet, error) {
	var out []sampledata.Sheet
	for _, kind := range Kinds() {
		k := set.Kind(kind)
		if k == nil {
			return nil, fmt.Errorf("sample data: adapter %s has no kind %q", set.Adapter, kind)
		}
		recs := make([]schemas.Record, r.Len(kind))
		for i := range recs {
			recs[i] = r.Record(kind, i)
		}
		header, err := sampledata.Columns(k, slices.Values(recs))
		if err != nil {
			return nil, err
		}
		rows := make([][]string, len(recs))
		for i, rec := range recs {
			rows[i] = make([]string, len(header))
			for j, h := range header {
				rows[i][j] = rec.String(h)
			}
		}
		out = append(out, sampledata.Sheet{Name: sampledata.SheetTitle(k.Plural), Kind: kind, Header: header, Rows: sampledata.Rows(rows)})
	}
	return out, nil
}

// WriteTestdata writes the sample rollout under dir (testdata/sipx):
// rollout.xlsx, its CSV twin and the broken cases.
func WriteTestdata(dir string, set *schemas.Set) error {
	sheets, err := New(Default()).Sheets(set)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := sampledata.WriteXLSX(filepath.Join(dir, "rollout.xlsx"), sheets); err != nil {
		return err
	}
	if err := sampledata.WriteCSVDir(filepath.Join(dir, "rollout-csv"), sheets); err != nil {
		return err
	}
	return sampledata.WriteBroken(filepath.Join(dir, "broken"), set, Broken())
}

// Broken lists the broken workbooks of testdata/sipx/broken: customer-made
// damage on a small rollout (12 users, 6 desk phones).
func Broken() []sampledata.Case {
	return sampledata.SipxCustomer(New(Config{Users: 12, Phones: 6}).Sheets)
}
