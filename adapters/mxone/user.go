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

type userOps struct{ cn *Conn }

// responseOnly are UserRecord fields that are not part of the update body
// (or that the adapter rebuilds in request shape).
var responseOnly = []string{"userRecId", "primaryDepartmentId", "securityProfile", "departments", "departmentIds",
	"userExtensions", "extensions", "altFirstNames", "altLastNames", "keyWords"}

// getUser reads a user by userId (the login name).
func (cn *Conn) getUser(ctx context.Context, userID string) (userRecord, map[string]any, error) {
	var raw json.RawMessage
	if err := cn.c.do(ctx, http.MethodGet, pathUserByUserID+url.PathEscape(userID), nil, nil, &raw); err != nil {
		return userRecord{}, nil, err
	}
	raw = unwrapOne(raw)
	var u userRecord
	var m map[string]any
	if len(raw) == 0 || decodeItem(raw, &u) != nil || decodeItem(raw, &m) != nil || (u.UserID == "" && u.UserRecID == 0) {
		return userRecord{}, nil, notFound("user", userID)
	}
	return u, m, nil
}

// departmentIDsOf returns a user's department ids, primary first.
func departmentIDsOf(u userRecord) []int64 {
	var ids []int64
	for _, d := range u.Departments {
		ids = append(ids, int64(d.DepartmentID))
	}
	if len(ids) == 0 {
		for _, d := range u.DepartmentIDs {
			ids = append(ids, int64(d))
		}
	}
	if p := int64(u.PrimaryDepartmentID); p != 0 {
		for i, id := range ids {
			if id == p && i > 0 {
				copy(ids[1:i+1], ids[:i])
				ids[0] = p
			}
		}
	}
	return ids
}

func (cn *Conn) userRecord(ctx context.Context, u userRecord, raw map[string]any) (schemas.Record, error) {
	r := schemas.Record{}
	putString(r, "userId", u.UserID)
	putString(r, "firstName", u.FirstName)
	putString(r, "lastName", u.LastName)
	putString(r, "emailAddress", u.EmailAddress)
	putString(r, "sms", u.SMS)
	names := map[int64]string{}
	for _, d := range u.Departments {
		names[int64(d.DepartmentID)] = string(d.DepartmentName)
	}
	var deps []string
	for _, id := range departmentIDsOf(u) {
		n := names[id]
		if n == "" {
			var err error
			if n, err = cn.departments.name(ctx, id); err != nil {
				return nil, err
			}
		}
		deps = append(deps, n)
	}
	putList(r, "departments", deps)
	putString(r, "language", u.Language)
	putBool(r, "useLastSelection", bool(u.UseLastSelection))
	putList(r, "altFirstNames", entries(u.AltFirstNames))
	putList(r, "altLastNames", entries(u.AltLastNames))
	putList(r, "keyWords", entries(u.KeyWords))
	putString(r, "mobileNumber", u.MobileNumber)
	putBool(r, "secretMobile", bool(u.SecretMobile))
	putString(r, "alternativeNumber", u.AlternativeNumber)
	putString(r, "securityProfile", u.SecurityProfile.SecurityProfileName)
	for n := 1; n <= 34; n++ {
		putString(r, udfName(n), textOf(raw[udfName(n)]))
	}
	return r, nil
}

func entries(in []nameEntry) []string {
	out := make([]string, len(in))
	for i, e := range in {
		out[i] = string(e)
	}
	return out
}

// updateBase turns a UserRecord into an update body that keeps everything
// pbxbatch does not manage (links, micollab, cloudlink), in request shape.
func updateBase(u userRecord, raw map[string]any) map[string]any {
	b := make(map[string]any, len(raw))
	for k, v := range raw {
		b[k] = v
	}
	for _, k := range responseOnly {
		delete(b, k)
	}
	b["departmentIds"] = departmentIDsOf(u)
	b["extensions"] = linksOf(u)
	b["altFirstNames"] = entries(u.AltFirstNames)
	b["altLastNames"] = entries(u.AltLastNames)
	b["keyWords"] = entries(u.KeyWords)
	return b
}

func linksOf(u userRecord) []userExtensionLink {
	out := []userExtensionLink{}
	for _, l := range u.links() {
		out = append(out, userExtensionLink{ExtensionNumber: string(l.ExtensionNumber), SubsystemID: int64(l.SubsystemID),
			SubsystemName: string(l.SubsystemName), CmgSettings: l.CmgSettings})
	}
	return out
}

func (o userOps) list(ctx context.Context, fn func(schemas.Record) error) error {
	return o.cn.walkUsers(ctx, "*", func(u userRecord, raw map[string]any) error {
		r, err := o.cn.userRecord(ctx, u, raw)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// walkUsers lists users matching search. List items whose shape is a
// summary (no names, no departments) are completed by a read by userId.
func (cn *Conn) walkUsers(ctx context.Context, search string, fn func(userRecord, map[string]any) error) error {
	q := url.Values{"search": {search}, "importedFrom": {"ALL"}, "orderby": {"userId asc"}}
	return cn.c.pages(ctx, pathUsers, q, "pageno", func(item json.RawMessage) error {
		var u userRecord
		var m map[string]any
		if err := decodeItem(item, &u); err != nil {
			return adapters.Errorf(adapters.Permanent, "GET %s: unexpected user: %v", pathUsers, err)
		}
		_ = decodeItem(item, &m)
		if isSummary(m) && u.UserID != "" {
			var err error
			if u, m, err = cn.getUser(ctx, string(u.UserID)); err != nil {
				if adapters.IsNotFound(err) {
					return nil // deleted meanwhile
				}
				return err
			}
		}
		return fn(u, m)
	})
}

func isSummary(m map[string]any) bool {
	for _, k := range []string{"firstName", "lastName", "departments", "userExtensions", "extensions"} {
		if _, ok := m[k]; ok {
			return false
		}
	}
	return true
}

func (o userOps) get(ctx context.Context, key schemas.Record) (schemas.Record, error) {
	u, raw, err := o.cn.getUser(ctx, key.String("userId"))
	if err != nil {
		return nil, err
	}
	return o.cn.userRecord(ctx, u, raw)
}

// body builds a create or update body on top of base.
func (o userOps) body(ctx context.Context, r schemas.Record, base map[string]any, update bool) (map[string]any, error) {
	k := schemas.MustLoad(Name).Kind("user")
	b := bodyFromRecord(k, r, base, update, func(f *schemas.Field) bool { return f.Path == "departments" })
	userID := recString(r, "userId")
	deps := recList(r, "departments")
	if _, set := r.Get("departments"); set || update {
		ids := []int64{}
		for _, d := range deps {
			id, err := o.cn.departments.id(ctx, d, "user "+userID)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		b["departmentIds"] = ids
	}
	if !update {
		for _, f := range []string{"altFirstNames", "altLastNames", "keyWords"} {
			if _, ok := b[f]; !ok {
				b[f] = []string{}
			}
		}
		b["extensions"] = []userExtensionLink{}
	}
	return b, nil
}

func (o userOps) create(ctx context.Context, r schemas.Record) (adapters.Result, error) {
	b, err := o.body(ctx, r, nil, false)
	if err != nil {
		return adapters.Result{}, err
	}
	if err := o.cn.c.do(ctx, http.MethodPost, pathUsers, nil, b, nil); err != nil {
		return adapters.Result{}, err
	}
	u, _, err := o.cn.getUser(ctx, recString(r, "userId"))
	if err != nil {
		return adapters.Result{}, createdButUnread(err)
	}
	return adapters.Result{ID: "userRecId=" + strconv.FormatInt(int64(u.UserRecID), 10)}, nil
}

func (o userOps) update(ctx context.Context, r, _ schemas.Record) (adapters.Result, error) {
	userID := recString(r, "userId")
	unlock := o.cn.lockUser(userID)
	defer unlock()
	u, raw, err := o.cn.getUser(ctx, userID)
	if err != nil {
		return adapters.Result{}, err
	}
	b, err := o.body(ctx, r, updateBase(u, raw), true)
	if err != nil {
		return adapters.Result{}, err
	}
	id := strconv.FormatInt(int64(u.UserRecID), 10)
	err = o.cn.c.do(ctx, http.MethodPut, pathUsers+"/"+id, nil, b, nil)
	return adapters.Result{ID: "userRecId=" + id}, err
}

func (o userOps) delete(ctx context.Context, r, _ schemas.Record) (adapters.Result, error) {
	userID := recString(r, "userId")
	unlock := o.cn.lockUser(userID)
	defer unlock()
	err := o.cn.c.do(ctx, http.MethodDelete, pathUsers+"/"+url.PathEscape(userID), nil, nil, nil)
	return adapters.Result{ID: "userId=" + userID}, err
}

// setLink adds (link) or removes the extension number/subsystem from the
// user's extensions with GET + full PUT, under the user's lock so that two
// extensions of one user never overwrite each other's link.
func (cn *Conn) setLink(ctx context.Context, userID, number, subsystem string, link bool) error {
	unlock := cn.lockUser(userID)
	defer unlock()
	u, raw, err := cn.getUser(ctx, userID)
	if err != nil {
		if adapters.IsNotFound(err) && link {
			return missingRef("user", userID, "extension "+number+" / "+subsystem+" as its owner")
		}
		if adapters.IsNotFound(err) {
			return nil // nothing to unlink
		}
		return err
	}
	subID, err := cn.subsystems.id(ctx, subsystem, "extension "+number)
	if err != nil {
		return err
	}
	links := linksOf(u)
	idx := -1
	for i, l := range links {
		if l.ExtensionNumber == number && (l.SubsystemName == subsystem || (l.SubsystemName == "" && l.SubsystemID == subID)) {
			idx = i
			break
		}
	}
	switch {
	case link && idx >= 0, !link && idx < 0:
		return nil
	case link:
		links = append(links, userExtensionLink{ExtensionNumber: number, SubsystemID: subID, SubsystemName: subsystem})
	default:
		links = append(links[:idx], links[idx+1:]...)
	}
	b := updateBase(u, raw)
	b["extensions"] = links
	return cn.c.do(ctx, http.MethodPut, pathUsers+"/"+strconv.FormatInt(int64(u.UserRecID), 10), nil, b, nil)
}
