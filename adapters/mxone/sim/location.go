package sim

import "net/http"

func (a *api) locationRoutes() {
	const loc = "/system-ms/location/v1"
	a.handle("GET "+loc, anyRole, a.listLocations)
	a.handle("POST "+loc, anyRole, func(c *call) (int, any, error) {
		b, err := c.pickBody("location", locationSpec)
		if err != nil {
			return 0, nil, err
		}
		if err := c.created("location", c.st.createLocation(b)); err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, nil, nil
	})
	a.handle("PUT "+loc+"/{locationId}", anyRole, func(c *call) (int, any, error) {
		id, err := c.intPath("locationId")
		if err != nil {
			return 0, nil, err
		}
		b, err := c.pickBody("location", locationSpec)
		if err != nil {
			return 0, nil, err
		}
		l, err := c.st.updateLocation(id, b)
		if err != nil {
			return 0, nil, err
		}
		// The documented PUT response has no cmgCustomerGroup.
		return http.StatusOK, prune(map[string]any{"locationId": l.id, "locationName": l.name, "description": l.description}), nil
	})
	a.handle("DELETE "+loc+"/{locationId}", anyRole, func(c *call) (int, any, error) {
		id, err := c.intPath("locationId")
		if err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, c.st.deleteLocation(id)
	})
}

var locationSpec = fieldSpec{"locationName": tStr, "description": tStr, "cmgCustomerGroup": tStr}

func (st *state) createLocation(b map[string]any) error {
	name := str(b, "locationName")
	if name == "" {
		return errBadRequest("location: locationName is required")
	}
	if st.locationByName(name) != nil {
		return errDuplicate("location %q already exists", name)
	}
	l := &location{id: st.id("location"), name: name, description: str(b, "description"), cmgCustomer: str(b, "cmgCustomerGroup")}
	st.locations[l.id] = l
	return nil
}

func (st *state) updateLocation(id int, b map[string]any) (*location, error) {
	l := st.locations[id]
	if l == nil {
		return nil, errNotFound("location %d does not exist", id)
	}
	if v, ok := b["locationName"]; ok {
		name, _ := v.(string)
		if name == "" {
			return nil, errBadRequest("location: locationName cannot be empty")
		}
		if o := st.locationByName(name); o != nil && o != l {
			return nil, errDuplicate("location %q already exists", name)
		}
		l.name = name
	}
	if _, ok := b["description"]; ok {
		l.description = str(b, "description")
	}
	if _, ok := b["cmgCustomerGroup"]; ok {
		l.cmgCustomer = str(b, "cmgCustomerGroup")
	}
	return l, nil
}

func (st *state) deleteLocation(id int) error {
	l := st.locations[id]
	if l == nil {
		return errNotFound("location %d does not exist", id)
	}
	for _, did := range sortedIDs(st.depts) {
		if d := st.depts[did]; d.locationID == id {
			return errInUse("location %s is used by department %s; delete or move the department first", l.name, d.name)
		}
	}
	for _, sid := range sortedIDs(st.subsystems) {
		if s := st.subsystems[sid]; s.locationID == id {
			return errInUse("location %s is used by subsystem %s; delete or move the subsystem first", l.name, s.name)
		}
	}
	delete(st.locations, id)
	return nil
}

func (a *api) listLocations(c *call) (int, any, error) {
	search := c.r.URL.Query().Get("search")
	var locs []*location
	for _, id := range sortedIDs(c.st.locations) {
		if l := c.st.locations[id]; matches(search, l.name) {
			locs = append(locs, l)
		}
	}
	err := orderBy(locs, c.r.URL.Query().Get("orderby"), sortKeys[*location]{
		"locationId":   func(l *location) any { return l.id },
		"locationName": func(l *location) any { return l.name },
		"description":  func(l *location) any { return l.description },
	})
	if err != nil {
		return 0, nil, err
	}
	items := make([]any, len(locs))
	for i, l := range locs {
		items[i] = prune(map[string]any{"locationId": l.id, "locationName": l.name, "description": l.description, "cmgCustomerGroup": l.cmgCustomer})
	}
	return c.pageA(items, a.opts.OneBasedPages)
}
