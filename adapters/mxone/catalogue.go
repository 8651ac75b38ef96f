package mxone

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// catalogue is a read-only kind: PM's fixed lists, exported for audits.
type catalogue struct {
	kind string
	walk func(ctx context.Context, fn func(schemas.Record) error) error
}

func (c catalogue) list(ctx context.Context, fn func(schemas.Record) error) error {
	return c.walk(ctx, fn)
}

// errFound stops a walk once the wanted record is found.
type errFound struct{ r schemas.Record }

func (errFound) Error() string { return "found" }

// get lists and matches every key field: catalogues are small.
func (c catalogue) get(ctx context.Context, key schemas.Record) (schemas.Record, error) {
	kind := schemas.MustLoad(Name).Kind(c.kind)
	want := kind.KeyOf(key)
	err := c.walk(ctx, func(r schemas.Record) error {
		if kind.KeyOf(r) == want {
			return errFound{r}
		}
		return nil
	})
	var f errFound
	if errors.As(err, &f) {
		return f.r, nil
	}
	if err != nil {
		return nil, err
	}
	return nil, notFound(kind.Name, want)
}

func (c catalogue) create(context.Context, schemas.Record) (adapters.Result, error) {
	return adapters.Result{}, adapters.Errorf(adapters.Permanent, "read-only catalogue")
}

func (c catalogue) update(context.Context, schemas.Record, schemas.Record) (adapters.Result, error) {
	return adapters.Result{}, adapters.Errorf(adapters.Permanent, "read-only catalogue")
}

func (c catalogue) delete(context.Context, schemas.Record, schemas.Record) (adapters.Result, error) {
	return adapters.Result{}, adapters.Errorf(adapters.Permanent, "read-only catalogue")
}

func (cn *Conn) walkPrivileges(ctx context.Context, fn func(privilegeItem) error) error {
	q := url.Values{"search": {"*"}, "orderby": {"privilegeId asc"}}
	return cn.c.pages(ctx, pathPrivileges, q, "pageno", func(raw json.RawMessage) error {
		var it privilegeItem
		if err := decodeItem(raw, &it); err != nil {
			return adapters.Errorf(adapters.Permanent, "GET %s: unexpected access privilege: %v", pathPrivileges, err)
		}
		return fn(it)
	})
}

func (cn *Conn) loadPrivilegeIDs(ctx context.Context) (map[string][]int64, error) {
	ids := map[string][]int64{}
	err := cn.walkPrivileges(ctx, func(it privilegeItem) error {
		ids[string(it.PrivilegeName)] = append(ids[string(it.PrivilegeName)], int64(it.PrivilegeID))
		return nil
	})
	return ids, err
}

func (cn *Conn) listPrivileges(ctx context.Context, fn func(schemas.Record) error) error {
	return cn.walkPrivileges(ctx, func(it privilegeItem) error {
		r := schemas.Record{}
		putString(r, "privilegeName", it.PrivilegeName)
		putString(r, "description", it.Description)
		return fn(r)
	})
}

func (cn *Conn) listUDFs(ctx context.Context, fn func(schemas.Record) error) error {
	var raw json.RawMessage
	if err := cn.c.do(ctx, http.MethodGet, pathUDFs, nil, nil, &raw); err != nil {
		return err
	}
	pg, err := decodePage(raw)
	if err != nil {
		return adapters.Errorf(adapters.Permanent, "GET %s: unexpected UDF list: %v", pathUDFs, err)
	}
	for _, item := range pg.items {
		var it udfItem
		if err := decodeItem(item, &it); err != nil {
			return adapters.Errorf(adapters.Permanent, "GET %s: unexpected UDF definition: %v", pathUDFs, err)
		}
		r := schemas.Record{}
		putString(r, "udfType", it.UdfType)
		putInt(r, "udfId", int64(it.UdfID))
		putString(r, "udfDisplayName", it.UdfDisplayName)
		putString(r, "udfCmgDisplayName", it.UdfCmgDisplayName)
		putString(r, "udfAdDisplayName", it.UdfAdDisplayName)
		putString(r, "udfFieldTypeName", it.UdfFieldTypeName)
		putString(r, "udfCmgMiscNumber", it.UdfCmgMiscNumber)
		putBool(r, "readonly", bool(it.Readonly))
		putBool(r, "advance", bool(it.Advance))
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// listNumberSeries reads the series of every telephony-server subsystem.
func (cn *Conn) listNumberSeries(ctx context.Context, fn func(schemas.Record) error) error {
	subs, err := cn.listSubsystemItems(ctx)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if t := string(s.SubsystemType); t != "" && t != telephonyServer {
			continue
		}
		series, err := cn.numberSeries(ctx, string(s.SubsystemName))
		if err != nil {
			return err
		}
		for _, ns := range series {
			r := schemas.Record{}
			putString(r, "subsystemName", s.SubsystemName)
			putString(r, "numberType", ns.NumberType)
			putString(r, "start", ns.Start)
			putString(r, "end", ns.End)
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func isFound(err error) bool {
	var f errFound
	return errors.As(err, &f)
}
