package sim

import (
	"net/http"
	"slices"
	"strings"
)

var userSpec = specWith(udfSpec(34), map[string]fieldType{
	"userId": tStr, "firstName": tStr, "lastName": tStr, "newPassword": tStr, "currentPassword": tStr,
	"emailAddress": tStr, "sms": tStr, "altFirstNames": tList, "altLastNames": tList, "keyWords": tList,
	"departmentIds": tList, "useLastSelection": tBool, "language": tStr, "extensions": tList,
	"micollab": tObj, "cloudlink": tObj, "mobileNumber": tStr, "secretMobile": tBool,
	"alternativeNumber": tStr, "userMailBoxDTO": tObj,
})

// userLinks are the body fields that are not plain attributes.
var userLinks = []string{"userId", "newPassword", "currentPassword", "departmentIds", "extensions"}

// userWriteOnly are accepted on create/update but absent from UserRecord,
// as documented.
var userWriteOnly = []string{"mobileNumber", "secretMobile", "alternativeNumber"}

func (a *api) userRoutes() {
	const u = "/user-ms/user"
	a.handle("GET "+u+"/v1", adminOnly, a.listUsers)
	a.handle("POST "+u+"/v1", adminOnly, func(c *call) (int, any, error) {
		b, err := c.pickBody("user", userSpec)
		if err != nil {
			return 0, nil, err
		}
		if err := c.created("user", c.st.createUser(b)); err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, nil, nil
	})
	a.handle("PUT "+u+"/v1/{userRecId}", anyRole, func(c *call) (int, any, error) {
		id, err := c.intPath("userRecId")
		if err != nil {
			return 0, nil, err
		}
		usr := c.st.users[id]
		if usr == nil {
			return 0, nil, errNotFound("user with userRecId %d does not exist", id)
		}
		b, err := c.pickBody("user", userSpec)
		if err != nil {
			return 0, nil, err
		}
		if err := c.st.updateUser(usr, b); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, c.st.userRecord(usr), nil
	})
	a.handle("DELETE "+u+"/v1/{userId}", anyRole, func(c *call) (int, any, error) {
		usr := c.st.userByID[c.r.PathValue("userId")]
		if usr == nil {
			return 0, nil, errNotFound("user %q does not exist", c.r.PathValue("userId"))
		}
		c.st.deleteUser(usr)
		return http.StatusNoContent, nil, nil
	})
	a.handle("GET "+u+"/by-user-id/v1/{userId}", anyRole, func(c *call) (int, any, error) {
		usr := c.st.userByID[c.r.PathValue("userId")]
		if usr == nil {
			return 0, nil, errNotFound("user %q does not exist", c.r.PathValue("userId"))
		}
		return http.StatusOK, c.st.userRecord(usr), nil
	})
	a.handle("GET "+u+"/by-rec-id/v1/{userRecId}", anyRole, func(c *call) (int, any, error) {
		id, err := c.intPath("userRecId")
		if err != nil {
			return 0, nil, err
		}
		usr := c.st.users[id]
		if usr == nil {
			return 0, nil, errNotFound("user with userRecId %d does not exist", id)
		}
		return http.StatusOK, c.st.userRecord(usr), nil
	})

	const locked = "/user-ms/locked-user/v1"
	a.handle("GET "+locked, anyRole, func(c *call) (int, any, error) {
		search := c.r.URL.Query().Get("search")
		items := []any{}
		for _, id := range sortedIDs(c.st.users) {
			if usr := c.st.users[id]; usr.locked && matches(search, usr.userID) {
				items = append(items, prune(map[string]any{"userRecId": usr.recID, "userId": usr.userID,
					"firstName": usr.attrs["firstName"], "lastName": usr.attrs["lastName"]}))
			}
		}
		return c.pageA(items, a.opts.OneBasedPages)
	})
	a.handle("PUT "+locked, anyRole, func(c *call) (int, any, error) {
		uid, err := c.query("userId")
		if err != nil {
			return 0, nil, err
		}
		usr := c.st.userByID[uid]
		if usr == nil {
			return 0, nil, errNotFound("user %q does not exist", uid)
		}
		msg := "User unlocked successfully"
		if !usr.locked {
			msg = "User is not locked"
		}
		usr.locked, usr.failedLogins = false, 0
		return http.StatusOK, map[string]any{"userId": usr.userID, "message": msg}, nil
	})
}

func (st *state) createUser(b map[string]any) error {
	uid := str(b, "userId")
	if uid == "" {
		return errBadRequest("user: userId is required")
	}
	if st.userByID[uid] != nil {
		return errDuplicate("user %q already exists", uid)
	}
	depts, err := st.userDepartments(uid, b)
	if err != nil {
		return err
	}
	links, err := st.userExtensions(uid, nil, b)
	if err != nil {
		return err
	}
	usr := &user{recID: st.id("user"), userID: uid, password: str(b, "newPassword"), deptIDs: depts, attrs: map[string]any{}}
	merge(usr.attrs, userAttrs(b))
	st.users[usr.recID] = usr
	st.userList = append(st.userList, usr)
	st.userByID[uid] = usr
	st.link(usr, links)
	st.index(usr)
	return nil
}

// index refreshes what a user search matches: the document says search
// matches user names, extension numbers and departments.
func (st *state) index(usr *user) {
	parts := []string{usr.userID, str(usr.attrs, "firstName"), str(usr.attrs, "lastName")}
	for _, l := range usr.exts {
		parts = append(parts, l.ext.number)
	}
	for _, id := range usr.deptIDs {
		if d := st.depts[id]; d != nil {
			parts = append(parts, d.name)
		}
	}
	usr.search = strings.ToLower(strings.Join(parts, "\x00"))
}

func userAttrs(b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range b {
		if !slices.Contains(userLinks, k) {
			out[k] = v
		}
	}
	return out
}

// userDepartments resolves departmentIds (nil when absent from the body).
func (st *state) userDepartments(uid string, b map[string]any) ([]int, error) {
	v, ok := b["departmentIds"]
	if !ok || v == nil {
		return nil, nil
	}
	var ids []int
	for i, e := range v.([]any) {
		n, err := convert(e, tInt)
		if err != nil {
			return nil, errBadRequest("user %s: departmentIds[%d]: %v", uid, i, err)
		}
		id := n.(int)
		if st.depts[id] == nil {
			return nil, errReference("user %s: department %d does not exist; create the department first", uid, id)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// userExtensions resolves the extensions[] of a body (nil when absent). An
// extension must exist and belong to no other user.
func (st *state) userExtensions(uid string, self *user, b map[string]any) ([]userExt, error) {
	v, ok := b["extensions"]
	if !ok || v == nil {
		return nil, nil
	}
	links := []userExt{}
	for i, e := range v.([]any) {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, errBadRequest("user %s: extensions[%d]: expected {extensionNumber, subsystemId, subsystemName}", uid, i)
		}
		p, err := pick("user extension", m, fieldSpec{"extensionNumber": tStr, "subsystemId": tInt, "subsystemName": tStr, "cmgSettings": tObj})
		if err != nil {
			return nil, err
		}
		num := str(p, "extensionNumber")
		if num == "" {
			return nil, errBadRequest("user %s: extensions[%d]: extensionNumber is required", uid, i)
		}
		var sub *subsystem
		if id, ok := integer(p, "subsystemId"); ok && id != 0 {
			sub = st.subsystems[id]
		} else if name := str(p, "subsystemName"); name != "" {
			sub = st.subsystemByName(name)
		} else {
			return nil, errBadRequest("user %s: extensions[%d]: subsystemId or subsystemName is required", uid, i)
		}
		if sub == nil {
			return nil, errReference("user %s: extensions[%d]: subsystem %v does not exist", uid, i, cmpOr(intOr(p["subsystemId"]), str(p, "subsystemName")))
		}
		x := st.exts[extKey{sub.id, num}]
		if x == nil {
			return nil, errReference("user %s: extension %s does not exist in subsystem %s; create the extension first", uid, num, sub.name)
		}
		if x.owner != nil && x.owner != self {
			return nil, errInUse("user %s: extension %s in subsystem %s is already linked to user %s", uid, num, sub.name, x.owner.userID)
		}
		if slices.ContainsFunc(links, func(l userExt) bool { return l.ext == x }) {
			continue
		}
		cmg, _ := p["cmgSettings"].(map[string]any)
		links = append(links, userExt{ext: x, cmgSettings: cmg})
	}
	return links, nil
}

func intOr(v any) int {
	n, _ := v.(int)
	return n
}

// link replaces a user's extension links (nil links: keep them).
func (st *state) link(usr *user, links []userExt) {
	if links == nil {
		return
	}
	for _, l := range usr.exts {
		l.ext.owner = nil
	}
	usr.exts = links
	for _, l := range links {
		l.ext.owner = usr
	}
}

func (st *state) updateUser(usr *user, b map[string]any) error {
	if v, ok := b["userId"]; ok {
		uid, _ := v.(string)
		if uid == "" {
			return errBadRequest("user %d: userId cannot be empty", usr.recID)
		}
		if o := st.userByID[uid]; o != nil && o != usr {
			return errDuplicate("user %q already exists", uid)
		}
	}
	depts, err := st.userDepartments(usr.userID, b)
	if err != nil {
		return err
	}
	links, err := st.userExtensions(usr.userID, usr, b)
	if err != nil {
		return err
	}
	if uid := str(b, "userId"); uid != "" && uid != usr.userID {
		delete(st.userByID, usr.userID)
		usr.userID = uid
		st.userByID[uid] = usr
	}
	if _, ok := b["departmentIds"]; ok {
		usr.deptIDs = depts
	}
	if pw := str(b, "newPassword"); pw != "" {
		usr.password = pw
	}
	merge(usr.attrs, userAttrs(b))
	st.link(usr, links)
	st.index(usr)
	return nil
}

func (st *state) deleteUser(usr *user) {
	for _, l := range usr.exts {
		l.ext.owner = nil
	}
	delete(st.users, usr.recID)
	st.userList = slices.DeleteFunc(st.userList, func(u *user) bool { return u == usr })
	delete(st.userByID, usr.userID)
}

// userRecord renders the documented UserRecord: request lists of strings
// become objects with ids, departmentIds become departments, extensions
// become userExtensions, passwords and the write-only fields are absent.
func (st *state) userRecord(usr *user) map[string]any {
	m := cloneMap(usr.attrs)
	for _, k := range userWriteOnly {
		delete(m, k)
	}
	m["userRecId"], m["userId"] = usr.recID, usr.userID
	named := func(field, idKey, nameKey string) {
		out := []any{}
		for i, s := range stringList(usr.attrs[field]) {
			out = append(out, map[string]any{idKey: i + 1, nameKey: s})
		}
		m[field] = out
	}
	named("altFirstNames", "altFirstNameId", "altFirstName")
	named("altLastNames", "altLastNameId", "altLastName")
	named("keyWords", "keywordId", "keywordName")
	depts := []any{}
	for _, id := range usr.deptIDs {
		d := st.depts[id]
		if d == nil {
			continue
		}
		dm := map[string]any{"departmentId": d.id, "departmentName": d.name, "parentDepartmentId": d.parentID}
		if l := st.locations[d.locationID]; l != nil {
			dm["location"] = map[string]any{"locationId": l.id, "locationName": l.name}
		}
		depts = append(depts, dm)
	}
	m["departments"] = depts
	if len(usr.deptIDs) > 0 {
		m["primaryDepartmentId"] = usr.deptIDs[0]
	}
	exts := []any{}
	for _, l := range usr.exts {
		exts = append(exts, map[string]any{"extensionNumber": l.ext.number, "subsystemId": l.ext.sub.id,
			"subsystemName": l.ext.sub.name, "cmgSettings": cloneMap(l.cmgSettings)})
	}
	m["userExtensions"] = exts
	if p := st.profiles[usr.profileID]; p != nil {
		m["securityProfile"] = profileJSON(p)
	}
	return prune(m).(map[string]any)
}

func (a *api) listUsers(c *call) (int, any, error) {
	q := c.r.URL.Query()
	search := q.Get("search")
	switch from := q.Get("importedFrom"); {
	case strings.EqualFold(from, "Active Directory"):
		// No user of this simulator comes from Active Directory.
		return c.pageA([]any{}, a.opts.OneBasedPages)
	case from != "" && !strings.EqualFold(from, "ALL"):
		return 0, nil, errBadRequest("importedFrom %q must be ALL or Active Directory", from)
	}
	var us []*user
	plain := !strings.Contains(search, "*") && search != "" && !strings.EqualFold(search, "all")
	lower := strings.ToLower(search)
	for _, usr := range c.st.userList {
		if plain {
			if strings.Contains(usr.search, lower) {
				us = append(us, usr)
			}
		} else if matches(search, strings.Split(usr.search, "\x00")...) {
			us = append(us, usr)
		}
	}
	err := orderBy(us, q.Get("orderby"), sortKeys[*user]{
		"userRecId":    func(u *user) any { return u.recID },
		"userId":       func(u *user) any { return u.userID },
		"firstName":    func(u *user) any { return str(u.attrs, "firstName") },
		"lastName":     func(u *user) any { return str(u.attrs, "lastName") },
		"emailAddress": func(u *user) any { return str(u.attrs, "emailAddress") },
	})
	if err != nil {
		return 0, nil, err
	}
	// Render only the page: a 10,000-user list must not render every user.
	_, pageAny, err := c.pageA(anySlice(us), a.opts.OneBasedPages)
	if err != nil {
		return 0, nil, err
	}
	page := pageAny.([]pageA)
	for i, it := range page[0].Items {
		page[0].Items[i] = c.st.userRecord(it.(*user))
	}
	return http.StatusOK, page, nil
}
