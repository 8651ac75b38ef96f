package sim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/sipx"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/batch/validate"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// seedRow is one record of a seed workbook.
type seedRow struct {
	change adapters.Change
	origin string
}

// LoadFile loads a workbook in the import format (.xlsx, .csv or a
// directory of .csv files, for instance a `pbxbatch export` of a
// production PBX) into the simulator, and keeps it so that /_sim/reset
// restores it. Records go in through the sipx adapter over an in-process
// connection, so they obey every rule a client meets; rows whose action is
// delete are left out.
func (s *Sim) LoadFile(ctx context.Context, path string) error {
	a := sipx.New()
	v, err := validate.New(a.Kinds(), validate.Options{})
	if err != nil {
		return err
	}
	byKind := map[string][]seedRow{}
	res, err := v.File(ctx, path, func(r batch.Row) error {
		if r.Action != batch.DeleteRow {
			byKind[r.Kind] = append(byKind[r.Kind], seedRow{adapters.Change{Kind: r.Kind, Action: adapters.Create, Record: r.Set}, r.Origin.String()})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	if !res.Valid() {
		nerr, _ := res.Diags.Count()
		return fmt.Errorf("seed %s is not a valid sipx workbook (%d errors; run pbxbatch validate --adapter sipx on it)", path, nerr)
	}
	order, err := a.Kinds().Order()
	if err != nil {
		return err
	}
	var rows []seedRow
	for _, k := range order {
		rows = append(rows, byKind[k.Name]...)
	}
	if len(rows) == 0 {
		return fmt.Errorf("seed %s holds no sipx records (sheets or CSV files named after the kinds: %s)", path, kindNames(order))
	}
	if err := s.applySeed(ctx, rows); err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	s.mu.Lock()
	s.seed = rows
	s.mu.Unlock()
	return nil
}

func (s *Sim) applySeed(ctx context.Context, rows []seedRow) error {
	conn, err := sipx.New().Open(ctx, adapters.Target{
		Name: "seed", URL: "http://simulator.invalid", Username: s.opts.Username, Password: adapters.NewSecret(s.opts.Password),
		HTTPClient: &http.Client{Transport: inProcess{s}},
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, r := range rows {
		if _, err := conn.Apply(ctx, r.change); err != nil && adapters.ClassOf(err) != adapters.Conflict {
			return fmt.Errorf("%s: %w", r.origin, err)
		}
	}
	return nil
}

func kindNames(ks []*schemas.Kind) string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.Plural
	}
	return strings.Join(names, ", ")
}

// inProcess serves requests with the simulator itself, bypassing simkit's
// switches and the network.
type inProcess struct{ s *Sim }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.s.ServeHTTP(w, r)
	return w.Result(), nil
}
