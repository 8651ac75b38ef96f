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

type profileOps struct{ cn *Conn }

func (cn *Conn) listProfiles(ctx context.Context, search string, fn func(profileItem) error) error {
	q := url.Values{"search": {search}, "orderby": {"securityProfileId asc"}}
	return cn.c.pages(ctx, pathProfiles, q, "pageno", func(raw json.RawMessage) error {
		var it profileItem
		if err := decodeItem(raw, &it); err != nil {
			return adapters.Errorf(adapters.Permanent, "GET %s: unexpected security profile: %v", pathProfiles, err)
		}
		return fn(it)
	})
}

func (cn *Conn) findProfile(ctx context.Context, name string) (profileItem, error) {
	return findNamed(ctx, "security profile", name, cn.listProfiles, func(it profileItem) string { return string(it.SecurityProfileName) })
}

func (cn *Conn) profileRecord(ctx context.Context, it profileItem) (schemas.Record, error) {
	r := schemas.Record{}
	putString(r, "securityProfileName", it.SecurityProfileName)
	putString(r, "description", it.Description)
	var privs []string
	for _, p := range it.AccessPrivileges {
		name := string(p.PrivilegeName)
		if name == "" {
			var err error
			if name, err = cn.privileges.name(ctx, int64(p.PrivilegeID)); err != nil {
				return nil, err
			}
		}
		privs = append(privs, name)
	}
	putList(r, "accessPrivileges", privs)
	return r, nil
}

func (o profileOps) list(ctx context.Context, fn func(schemas.Record) error) error {
	return o.cn.listProfiles(ctx, "*", func(it profileItem) error {
		r, err := o.cn.profileRecord(ctx, it)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

func (o profileOps) get(ctx context.Context, key schemas.Record) (schemas.Record, error) {
	it, err := o.cn.findProfile(ctx, key.String("securityProfileName"))
	if err != nil {
		return nil, err
	}
	return o.cn.profileRecord(ctx, it)
}

func (o profileOps) body(ctx context.Context, r schemas.Record, id int64) (profileBody, error) {
	name := recString(r, "securityProfileName")
	b := profileBody{SecurityProfileID: id, SecurityProfileName: name, Description: recString(r, "description"), AccessPrivileges: []privilegeRef{}}
	for _, p := range recList(r, "accessPrivileges") {
		pid, err := o.cn.privileges.id(ctx, p, "security profile "+name)
		if err != nil {
			return b, err
		}
		b.AccessPrivileges = append(b.AccessPrivileges, privilegeRef{PrivilegeID: pid, PrivilegeName: p})
	}
	return b, nil
}

func (o profileOps) create(ctx context.Context, r schemas.Record) (adapters.Result, error) {
	b, err := o.body(ctx, r, 0)
	if err != nil {
		return adapters.Result{}, err
	}
	if err := o.cn.c.do(ctx, http.MethodPost, pathProfiles, nil, b, nil); err != nil {
		return adapters.Result{}, err
	}
	it, err := o.cn.findProfile(ctx, b.SecurityProfileName)
	if err != nil {
		return adapters.Result{}, createdButUnread(err)
	}
	return adapters.Result{ID: "securityProfileId=" + strconv.FormatInt(int64(it.SecurityProfileID), 10)}, nil
}

func (o profileOps) update(ctx context.Context, r, _ schemas.Record) (adapters.Result, error) {
	it, err := o.cn.findProfile(ctx, recString(r, "securityProfileName"))
	if err != nil {
		return adapters.Result{}, err
	}
	id := int64(it.SecurityProfileID)
	b, err := o.body(ctx, r, id)
	if err != nil {
		return adapters.Result{}, err
	}
	err = o.cn.c.do(ctx, http.MethodPut, pathProfiles+"/"+strconv.FormatInt(id, 10), nil, b, nil)
	return adapters.Result{ID: "securityProfileId=" + strconv.FormatInt(id, 10)}, err
}

func (o profileOps) delete(ctx context.Context, r, _ schemas.Record) (adapters.Result, error) {
	it, err := o.cn.findProfile(ctx, recString(r, "securityProfileName"))
	if err != nil {
		return adapters.Result{}, err
	}
	id := strconv.FormatInt(int64(it.SecurityProfileID), 10)
	err = o.cn.c.do(ctx, http.MethodDelete, pathProfiles+"/"+id, nil, nil, nil)
	return adapters.Result{ID: "securityProfileId=" + id}, err
}
