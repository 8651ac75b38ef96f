package sim

import (
	"net/http"
	"slices"
	"strings"
)

func (a *api) departmentRoutes() {
	const dept = "/system-ms/department/v1"
	a.handle("GET "+dept, adminOnly, func(c *call) (int, any, error) { return a.listDepartments(c, -1) })
	a.handle("GET "+dept+"/by-parent/{parentDepartmentId}", adminOnly, func(c *call) (int, any, error) {
		id, err := c.intPath("parentDepartmentId")
		if err != nil {
			return 0, nil, err
		}
		if _, ok := c.st.depts[id]; !ok && id != 0 {
			return 0, nil, errNotFound("department %d does not exist", id)
		}
		return a.listDepartments(c, id)
	})
	a.handle("GET "+dept+"/{departmentId}", adminOnly, func(c *call) (int, any, error) {
		d, err := c.departmentPath()
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, c.st.departmentJSON(d), nil
	})
	a.handle("POST "+dept, adminOnly, func(c *call) (int, any, error) {
		b, err := c.pickBody("department", departmentSpec)
		if err != nil {
			return 0, nil, err
		}
		if err := c.created("department", c.st.createDepartment(b)); err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, nil, nil
	})
	a.handle("PUT "+dept+"/{departmentId}", adminOnly, func(c *call) (int, any, error) {
		d, err := c.departmentPath()
		if err != nil {
			return 0, nil, err
		}
		b, err := c.pickBody("department", departmentSpec)
		if err != nil {
			return 0, nil, err
		}
		if err := c.st.updateDepartment(d, b); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, c.st.departmentJSON(d), nil
	})
	a.handle("DELETE "+dept+"/{departmentId}", adminOnly, func(c *call) (int, any, error) {
		d, err := c.departmentPath()
		if err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, c.st.deleteDepartment(d)
	})
}

var departmentSpec = specWith(udfSpec(10), map[string]fieldType{
	"departmentName": tStr, "parentDepartmentId": tInt, "location": tObj, "description": tStr,
})

func (c *call) departmentPath() (*department, error) {
	id, err := c.intPath("departmentId")
	if err != nil {
		return nil, err
	}
	d := c.st.depts[id]
	if d == nil {
		return nil, errNotFound("department %d does not exist", id)
	}
	return d, nil
}

// deptLocation resolves a department body's location object by locationId,
// or by locationName when no id is given.
func (st *state) deptLocation(b map[string]any) (*location, bool, error) {
	m, ok := b["location"].(map[string]any)
	if !ok {
		return nil, false, nil
	}
	loc, err := pick("department location", m, fieldSpec{"locationId": tInt, "locationName": tStr})
	if err != nil {
		return nil, true, err
	}
	if id, ok := integer(loc, "locationId"); ok && id != 0 {
		if l := st.locations[id]; l != nil {
			return l, true, nil
		}
		return nil, true, errReference("location %d does not exist; create the location first", id)
	}
	if name := str(loc, "locationName"); name != "" {
		if l := st.locationByName(name); l != nil {
			return l, true, nil
		}
		return nil, true, errReference("location %q does not exist; create the location first", name)
	}
	return nil, false, nil
}

func (st *state) siblingNamed(parentID int, name string) *department {
	for _, d := range st.depts {
		if d.parentID == parentID && d.name == name {
			return d
		}
	}
	return nil
}

func (st *state) createDepartment(b map[string]any) error {
	name := str(b, "departmentName")
	if name == "" {
		return errBadRequest("department: departmentName is required")
	}
	l, given, err := st.deptLocation(b)
	if err != nil {
		return err
	}
	if !given {
		return errBadRequest("department %s: location {locationId} is required", name)
	}
	parent, _ := integer(b, "parentDepartmentId")
	if parent != 0 && st.depts[parent] == nil {
		return errReference("parent department %d of department %s does not exist; create the parent first", parent, name)
	}
	if st.siblingNamed(parent, name) != nil {
		return errDuplicate("department %q already exists under parent %d", name, parent)
	}
	d := &department{id: st.id("department"), name: name, parentID: parent, locationID: l.id, attrs: map[string]any{}}
	merge(d.attrs, deptAttrs(b))
	st.depts[d.id] = d
	return nil
}

func deptAttrs(b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range b {
		if k == "description" || strings.HasPrefix(k, "udf") {
			out[k] = v
		}
	}
	return out
}

func (st *state) updateDepartment(d *department, b map[string]any) error {
	name, parent := d.name, d.parentID
	if v, ok := b["departmentName"]; ok {
		if name, _ = v.(string); name == "" {
			return errBadRequest("department %d: departmentName cannot be empty", d.id)
		}
	}
	if p, ok := integer(b, "parentDepartmentId"); ok {
		parent = p
	}
	if parent != d.parentID {
		if parent != 0 && st.depts[parent] == nil {
			return errReference("parent department %d does not exist", parent)
		}
		for p := parent; p != 0; p = st.depts[p].parentID {
			if p == d.id {
				return errBadRequest("department %s cannot be moved under itself or its own sub-department", d.name)
			}
		}
	}
	if o := st.siblingNamed(parent, name); o != nil && o != d {
		return errDuplicate("department %q already exists under parent %d", name, parent)
	}
	l, given, err := st.deptLocation(b)
	if err != nil {
		return err
	}
	if given {
		d.locationID = l.id
	}
	renamed := d.name != name
	d.name, d.parentID = name, parent
	merge(d.attrs, deptAttrs(b))
	if renamed {
		for _, u := range st.userList {
			if slices.Contains(u.deptIDs, d.id) {
				st.index(u)
			}
		}
	}
	return nil
}

func (st *state) deleteDepartment(d *department) error {
	for _, id := range sortedIDs(st.depts) {
		if st.depts[id].parentID == d.id {
			return errInUse("department %s has sub-department %s; delete the sub-departments first", d.name, st.depts[id].name)
		}
	}
	for _, u := range st.userList {
		if slices.Contains(u.deptIDs, d.id) {
			return errInUse("department %s has user %s; move or delete its users first", d.name, u.userID)
		}
	}
	delete(st.depts, d.id)
	return nil
}

func (st *state) departmentJSON(d *department) map[string]any {
	m := cloneMap(d.attrs)
	m["departmentId"] = d.id
	m["departmentName"] = d.name
	m["parentDepartmentId"] = d.parentID
	if l := st.locations[d.locationID]; l != nil {
		m["location"] = map[string]any{"locationId": l.id, "locationName": l.name, "description": l.description}
	}
	return prune(m).(map[string]any)
}

// listDepartments pages all departments, or the children of parent (>= 0).
func (a *api) listDepartments(c *call, parent int) (int, any, error) {
	var ds []*department
	for _, id := range sortedIDs(c.st.depts) {
		if d := c.st.depts[id]; parent < 0 || d.parentID == parent {
			ds = append(ds, d)
		}
	}
	q := c.r.URL.Query()
	spec := q.Get("sortBy")
	if spec == "" {
		spec = "departmentId"
	}
	if dir := q.Get("sortDir"); dir != "" {
		spec += " " + dir
	}
	err := orderBy(ds, spec, sortKeys[*department]{
		"departmentId":       func(d *department) any { return d.id },
		"departmentName":     func(d *department) any { return d.name },
		"parentDepartmentId": func(d *department) any { return d.parentID },
	})
	if err != nil {
		return 0, nil, err
	}
	items := make([]any, len(ds))
	for i, d := range ds {
		items[i] = c.st.departmentJSON(d)
	}
	return c.pageB(items)
}
