package adapters

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// SeedThrough loads a seed into a simulator through the platform's own
// adapter, as creates sent to h in process (no network, no switches), so
// the records obey every rule a client meets. It suits simulators whose
// state is easier to reach through their API than directly; a record that
// already exists (Conflict) is not an error, so a seed may repeat what the
// fresh system has built in.
func SeedThrough(ctx context.Context, a Adapter, h http.Handler, username, password string, seed simkit.Seed) error {
	conn, err := a.Open(ctx, Target{
		Name: "seed", URL: "http://simulator.invalid", Username: username, Password: NewSecret(password),
		HTTPClient: &http.Client{Transport: inProcess{h}},
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, r := range seed {
		if _, err := conn.Apply(ctx, Change{Kind: r.Kind, Action: Create, Record: r.Record}); err != nil && ClassOf(err) != Conflict {
			return fmt.Errorf("%s: %w", r.Origin, err)
		}
	}
	return nil
}

// inProcess serves requests with a handler directly.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}
