package mxone

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

type locationOps struct{ cn *Conn }

func locationRecord(it locationItem) schemas.Record {
	r := schemas.Record{}
	putString(r, "locationName", it.LocationName)
	putString(r, "description", it.Description)
	putString(r, "cmgCustomerGroup", cmp.Or(it.CmgCustomerGroup, it.Cmgcustgrp))
	return r
}

// listLocations walks the location list; search "*" is everything.
func (cn *Conn) listLocations(ctx context.Context, search string, fn func(locationItem) error) error {
	q := url.Values{"search": {search}, "orderby": {"locationId asc"}}
	return cn.c.pages(ctx, pathLocations, q, "pageno", func(raw json.RawMessage) error {
		var it locationItem
		if err := decodeItem(raw, &it); err != nil {
			return adapters.Errorf(adapters.Permanent, "GET %s: unexpected location: %v", pathLocations, err)
		}
		return fn(it)
	})
}

func (cn *Conn) loadLocationIDs(ctx context.Context) (map[string][]int64, error) {
	ids := map[string][]int64{}
	err := cn.listLocations(ctx, "*", func(it locationItem) error {
		ids[string(it.LocationName)] = append(ids[string(it.LocationName)], int64(it.LocationID))
		return nil
	})
	return ids, err
}

// findLocation asks the target (never the cache) for a location by name.
// There is no GET by id or name: search, then match exactly.
func (cn *Conn) findLocation(ctx context.Context, name string) (locationItem, error) {
	it, err := findNamed(ctx, "location", name, cn.listLocations, func(it locationItem) string { return string(it.LocationName) })
	if err == nil {
		cn.locations.add(name, int64(it.LocationID))
	}
	return it, err
}

// findNamed returns the first item a search lists whose name is exactly
// name: PM's search parameter matches more than the name (substrings, and
// for users extension numbers and departments), so it only narrows.
func findNamed[T any](ctx context.Context, kind, name string, list func(context.Context, string, func(T) error) error, nameOf func(T) string) (T, error) {
	var found *T
	err := list(ctx, name, func(it T) error {
		if found == nil && nameOf(it) == name {
			found = &it
		}
		return nil
	})
	switch {
	case err != nil:
		var zero T
		return zero, err
	case found == nil:
		var zero T
		return zero, notFound(kind, name)
	}
	return *found, nil
}

func (o locationOps) list(ctx context.Context, fn func(schemas.Record) error) error {
	ids := map[string][]int64{}
	err := o.cn.listLocations(ctx, "*", func(it locationItem) error {
		ids[string(it.LocationName)] = append(ids[string(it.LocationName)], int64(it.LocationID))
		return fn(locationRecord(it))
	})
	if err == nil {
		o.cn.locations.replace(ids)
	}
	return err
}

func (o locationOps) get(ctx context.Context, key schemas.Record) (schemas.Record, error) {
	it, err := o.cn.findLocation(ctx, key.String("locationName"))
	if err != nil {
		return nil, err
	}
	return locationRecord(it), nil
}

func locationBodyOf(r schemas.Record, id int64) locationBody {
	return locationBody{
		LocationID:       id,
		LocationName:     recString(r, "locationName"),
		Description:      recString(r, "description"),
		CmgCustomerGroup: recString(r, "cmgCustomerGroup"),
	}
}

func (o locationOps) create(ctx context.Context, r schemas.Record) (adapters.Result, error) {
	if err := o.cn.c.do(ctx, http.MethodPost, pathLocations, nil, locationBodyOf(r, 0), nil); err != nil {
		return adapters.Result{}, err
	}
	// 201 without a body: the id is only found by looking the name up.
	it, err := o.cn.findLocation(ctx, recString(r, "locationName"))
	if err != nil {
		return adapters.Result{}, createdButUnread(err)
	}
	return adapters.Result{ID: "locationId=" + strconv.FormatInt(int64(it.LocationID), 10)}, nil
}

func (o locationOps) update(ctx context.Context, r, _ schemas.Record) (adapters.Result, error) {
	it, err := o.cn.findLocation(ctx, recString(r, "locationName"))
	if err != nil {
		return adapters.Result{}, err
	}
	id := int64(it.LocationID)
	err = o.cn.c.do(ctx, http.MethodPut, pathLocations+"/"+strconv.FormatInt(id, 10), nil, locationBodyOf(r, id), nil)
	return adapters.Result{ID: "locationId=" + strconv.FormatInt(id, 10)}, err
}

func (o locationOps) delete(ctx context.Context, r, _ schemas.Record) (adapters.Result, error) {
	it, err := o.cn.findLocation(ctx, recString(r, "locationName"))
	if err != nil {
		return adapters.Result{}, err
	}
	id := int64(it.LocationID)
	if err := o.cn.c.do(ctx, http.MethodDelete, pathLocations+"/"+strconv.FormatInt(id, 10), nil, nil, nil); err != nil {
		return adapters.Result{}, err
	}
	o.cn.locations.forget(id)
	return adapters.Result{ID: "locationId=" + strconv.FormatInt(id, 10)}, nil
}
