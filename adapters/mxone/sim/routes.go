package sim

import (
	"errors"
	"net/http"
)

// routes registers every endpoint. Go's ServeMux prefers the most specific
// pattern, so literal segments (v1/details, v1/ip, …) win over templates
// (v1/{userRecId}) as the digest's routing notes require.
func (a *api) routes() {
	a.mux = http.NewServeMux()
	a.authRoutes()
	a.systemRoutes()
	a.userRoutes()
	a.extensionRoutes()
}

// created counts the outcome of a create in the stats.
func (c *call) created(kind string, err error) error {
	var e *apiError
	switch {
	case err == nil:
		c.stats.Created(kind)
	case errors.As(err, &e) && e.code == "DUPLICATE_ENTRY":
		c.stats.DuplicateCreate(kind)
	}
	return err
}

// systemRoutes registers the system-ms and administrator-ms resources.
func (a *api) systemRoutes() {
	a.locationRoutes()
	a.subsystemRoutes()
	a.departmentRoutes()
	a.profileRoutes()
	a.udfRoutes()
	a.optionRoutes()
}

func anySlice[T any](in []T) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

// pickBody decodes a body and keeps the fields spec knows.
func (c *call) pickBody(what string, spec fieldSpec) (map[string]any, error) {
	raw, err := c.body()
	if err != nil {
		return nil, err
	}
	return pick(what, raw, spec)
}
