package mxone

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

type departmentOps struct{ cn *Conn }

const departmentUDFs = 10

func udfName(n int) string { return "udf" + strconv.Itoa(n) }

// listDepartments walks the style-B department list.
func (cn *Conn) listDepartments(ctx context.Context, fn func(departmentItem, map[string]any) error) error {
	q := url.Values{"sortBy": {"departmentId"}, "sortDir": {"ASC"}}
	return cn.c.pages(ctx, pathDepartments, q, "pageNo", func(raw json.RawMessage) error {
		var it departmentItem
		var m map[string]any
		if err := decodeItem(raw, &it); err != nil {
			return adapters.Errorf(adapters.Permanent, "GET %s: unexpected department: %v", pathDepartments, err)
		}
		_ = decodeItem(raw, &m)
		return fn(it, m)
	})
}

func (cn *Conn) loadDepartmentIDs(ctx context.Context) (map[string][]int64, error) {
	ids := map[string][]int64{}
	err := cn.listDepartments(ctx, func(it departmentItem, _ map[string]any) error {
		ids[string(it.DepartmentName)] = append(ids[string(it.DepartmentName)], int64(it.DepartmentID))
		return nil
	})
	return ids, err
}

// departmentRecord maps a department; parents and locations given by id are
// named through the indexes.
func (cn *Conn) departmentRecord(ctx context.Context, it departmentItem, raw map[string]any) (schemas.Record, error) {
	r := schemas.Record{}
	putString(r, "departmentName", it.DepartmentName)
	loc := string(it.Location.LocationName)
	if loc == "" && it.Location.LocationID != 0 {
		var err error
		if loc, err = cn.locations.name(ctx, int64(it.Location.LocationID)); err != nil {
			return nil, err
		}
	}
	putString(r, "location", flexString(loc))
	if it.ParentDepartmentID != 0 {
		parent, err := cn.departments.name(ctx, int64(it.ParentDepartmentID))
		if err != nil {
			return nil, err
		}
		putString(r, "parentDepartment", flexString(parent))
	}
	putString(r, "description", it.Description)
	for n := 1; n <= departmentUDFs; n++ {
		putString(r, udfName(n), textOf(raw[udfName(n)]))
	}
	return r, nil
}

// textOf renders a decoded JSON scalar as flexString.
func textOf(v any) flexString {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return flexString(t)
	case map[string]any, []any:
		return ""
	default:
		return flexString(schemas.Text(schemas.Normalize(t)))
	}
}

func (o departmentOps) list(ctx context.Context, fn func(schemas.Record) error) error {
	type entry struct {
		it  departmentItem
		raw map[string]any
	}
	var all []entry
	ids := map[string][]int64{}
	err := o.cn.listDepartments(ctx, func(it departmentItem, raw map[string]any) error {
		all = append(all, entry{it, raw})
		ids[string(it.DepartmentName)] = append(ids[string(it.DepartmentName)], int64(it.DepartmentID))
		return nil
	})
	if err != nil {
		return err
	}
	// Parents may come after their children in id order: name them from
	// the complete listing.
	o.cn.departments.replace(ids)
	for _, e := range all {
		r, err := o.cn.departmentRecord(ctx, e.it, e.raw)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// findDepartment asks the target for a department by name: the cached id is
// confirmed with a GET by id, and a miss re-lists, so "absent" is never
// answered from a stale cache.
func (cn *Conn) findDepartment(ctx context.Context, name string) (departmentItem, map[string]any, error) {
	return cn.findDepartmentFresh(ctx, name, false)
}

// findDepartmentFresh with fresh skips the cached id: after a create, the
// cache may hold another department of the same name, and only a new
// listing shows both.
func (cn *Conn) findDepartmentFresh(ctx context.Context, name string, fresh bool) (departmentItem, map[string]any, error) {
	if id, n := cn.departments.lookup(name); n == 1 && !fresh {
		it, raw, err := cn.getDepartment(ctx, id)
		if err == nil && string(it.DepartmentName) == name {
			return it, raw, nil
		}
		if err != nil && !adapters.IsNotFound(err) {
			return it, raw, err
		}
	}
	if err := cn.departments.reload(ctx); err != nil {
		return departmentItem{}, nil, err
	}
	id, n := cn.departments.lookup(name)
	switch {
	case n == 0:
		return departmentItem{}, nil, notFound("department", name)
	case n > 1:
		return departmentItem{}, nil, ambiguous("department", name, n)
	}
	return cn.getDepartment(ctx, id)
}

func (cn *Conn) getDepartment(ctx context.Context, id int64) (departmentItem, map[string]any, error) {
	var raw json.RawMessage
	if err := cn.c.do(ctx, http.MethodGet, pathDepartments+"/"+strconv.FormatInt(id, 10), nil, nil, &raw); err != nil {
		return departmentItem{}, nil, err
	}
	raw = unwrapOne(raw)
	var it departmentItem
	var m map[string]any
	if err := decodeItem(raw, &it); err != nil {
		return it, nil, adapters.Errorf(adapters.Permanent, "GET %s/%d: unexpected department: %v", pathDepartments, id, err)
	}
	_ = decodeItem(raw, &m)
	if it.DepartmentID == 0 {
		it.DepartmentID = flexInt(id)
	}
	return it, m, nil
}

// unwrapOne takes the first element of an array-wrapped single object.
func unwrapOne(raw json.RawMessage) json.RawMessage {
	var arr []json.RawMessage
	if len(raw) > 0 && raw[0] == '[' && json.Unmarshal(raw, &arr) == nil && len(arr) > 0 {
		return arr[0]
	}
	return raw
}

func (o departmentOps) get(ctx context.Context, key schemas.Record) (schemas.Record, error) {
	it, raw, err := o.cn.findDepartment(ctx, key.String("departmentName"))
	if err != nil {
		return nil, err
	}
	return o.cn.departmentRecord(ctx, it, raw)
}

// body builds the department body on top of base (the current state, for
// updates), so fields pbxbatch does not manage survive the full PUT.
func (o departmentOps) body(ctx context.Context, r schemas.Record, base map[string]any) (map[string]any, error) {
	name := recString(r, "departmentName")
	usedBy := "department " + name
	b := map[string]any{}
	for k, v := range base {
		b[k] = v
	}
	b["departmentName"] = name
	locName := recString(r, "location")
	locID, err := o.cn.locations.id(ctx, locName, usedBy)
	if err != nil {
		return nil, err
	}
	b["location"] = locationRef{LocationID: locID, LocationName: locName}
	var parentID int64
	if p := recString(r, "parentDepartment"); p != "" {
		if parentID, err = o.cn.departments.id(ctx, p, usedBy); err != nil {
			return nil, err
		}
	}
	b["parentDepartmentId"] = parentID
	b["description"] = recString(r, "description")
	for n := 1; n <= departmentUDFs; n++ {
		b[udfName(n)] = recString(r, udfName(n))
	}
	return b, nil
}

func (o departmentOps) create(ctx context.Context, r schemas.Record) (adapters.Result, error) {
	b, err := o.body(ctx, r, nil)
	if err != nil {
		return adapters.Result{}, err
	}
	if err := o.cn.c.do(ctx, http.MethodPost, pathDepartments, nil, b, nil); err != nil {
		return adapters.Result{}, err
	}
	it, _, err := o.cn.findDepartmentFresh(ctx, recString(r, "departmentName"), true)
	if err != nil {
		return adapters.Result{}, createdButUnread(err)
	}
	o.cn.departments.add(string(it.DepartmentName), int64(it.DepartmentID))
	return adapters.Result{ID: "departmentId=" + strconv.FormatInt(int64(it.DepartmentID), 10)}, nil
}

func (o departmentOps) update(ctx context.Context, r, _ schemas.Record) (adapters.Result, error) {
	it, raw, err := o.cn.findDepartment(ctx, recString(r, "departmentName"))
	if err != nil {
		return adapters.Result{}, err
	}
	id := int64(it.DepartmentID)
	if p := recString(r, "parentDepartment"); p == recString(r, "departmentName") {
		return adapters.Result{}, adapters.Errorf(adapters.Permanent, "a department cannot be its own parent")
	}
	b, err := o.body(ctx, r, raw)
	if err != nil {
		return adapters.Result{}, err
	}
	b["departmentId"] = id
	err = o.cn.c.do(ctx, http.MethodPut, pathDepartments+"/"+strconv.FormatInt(id, 10), nil, b, nil)
	return adapters.Result{ID: "departmentId=" + strconv.FormatInt(id, 10)}, err
}

func (o departmentOps) delete(ctx context.Context, r, _ schemas.Record) (adapters.Result, error) {
	it, _, err := o.cn.findDepartment(ctx, recString(r, "departmentName"))
	if err != nil {
		return adapters.Result{}, err
	}
	id := int64(it.DepartmentID)
	if err := o.cn.c.do(ctx, http.MethodDelete, pathDepartments+"/"+strconv.FormatInt(id, 10), nil, nil, nil); err != nil {
		return adapters.Result{}, err
	}
	o.cn.departments.forget(id)
	return adapters.Result{ID: "departmentId=" + strconv.FormatInt(id, 10)}, nil
}
