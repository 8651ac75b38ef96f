package sim

import (
	"net/http"
	"slices"
	"strconv"
)

// profileRoutes serves security profiles and the access privileges they grant.
func (a *api) profileRoutes() {
	const sp = "/administrator-ms/security-profiles/v1"
	a.handle("GET "+sp, anyRole, a.listProfiles)
	a.handle("GET "+sp+"/{securityProfileId}", anyRole, func(c *call) (int, any, error) {
		p, err := c.profilePath()
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, profileJSON(p), nil
	})
	a.handle("POST "+sp, anyRole, func(c *call) (int, any, error) {
		b, err := c.pickBody("security profile", profileSpec)
		if err != nil {
			return 0, nil, err
		}
		if err := c.created("security_profile", c.st.createProfile(b)); err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, nil, nil
	})
	a.handle("PUT "+sp+"/{securityProfileId}", anyRole, func(c *call) (int, any, error) {
		p, err := c.profilePath()
		if err != nil {
			return 0, nil, err
		}
		b, err := c.pickBody("security profile", profileSpec)
		if err != nil {
			return 0, nil, err
		}
		if err := c.st.updateProfile(p, b); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, profileJSON(p), nil
	})
	a.handle("DELETE "+sp+"/{securityProfileId}", anyRole, func(c *call) (int, any, error) {
		p, err := c.profilePath()
		if err != nil {
			return 0, nil, err
		}
		for _, u := range c.st.users {
			if u.profileID == p.id {
				return 0, nil, errInUse("security profile %s is assigned to user %s; assign another profile first", p.name, u.userID)
			}
		}
		delete(c.st.profiles, p.id)
		return http.StatusNoContent, nil, nil
	})

	a.handle("GET /administrator-ms/access-privileges/v1", anyRole, func(c *call) (int, any, error) {
		type priv = map[string]any
		var items []priv
		search := c.r.URL.Query().Get("search")
		for _, p := range accessPrivileges {
			if matches(search, p.name) {
				items = append(items, priv{"privilegeId": p.id, "privilegeName": p.name, "description": p.description})
			}
		}
		err := orderBy(items, c.r.URL.Query().Get("orderby"), sortKeys[priv]{
			"privilegeId":   func(p priv) any { return p["privilegeId"] },
			"privilegeName": func(p priv) any { return p["privilegeName"] },
		})
		if err != nil {
			return 0, nil, err
		}
		return c.pageA(anySlice(items), a.opts.OneBasedPages)
	})
}

var profileSpec = fieldSpec{"securityProfileName": tStr, "description": tStr, "accessPrivileges": tList}

func (c *call) profilePath() (*profile, error) {
	id, err := c.intPath("securityProfileId")
	if err != nil {
		return nil, err
	}
	p := c.st.profiles[id]
	if p == nil {
		return nil, errNotFound("security profile %d does not exist", id)
	}
	return p, nil
}

// privileges resolves accessPrivileges entries by privilegeId, or by
// privilegeName when no id is given.
func privileges(v any) ([]int, error) {
	l, _ := v.([]any)
	var ids []int
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, errBadRequest("accessPrivileges[%d]: expected {privilegeId}", i)
		}
		p, err := pick("access privilege", m, fieldSpec{"privilegeId": tInt, "privilegeName": tStr})
		if err != nil {
			return nil, err
		}
		id, _ := integer(p, "privilegeId")
		name := str(p, "privilegeName")
		idx := slices.IndexFunc(accessPrivileges, func(ap struct {
			id                int
			name, description string
		}) bool {
			return (id != 0 && ap.id == id) || (id == 0 && name != "" && ap.name == name)
		})
		if idx < 0 {
			return nil, errReference("accessPrivileges[%d]: privilege %v does not exist (see GET /administrator-ms/access-privileges/v1)", i, cmpOr(id, name))
		}
		if !slices.Contains(ids, accessPrivileges[idx].id) {
			ids = append(ids, accessPrivileges[idx].id)
		}
	}
	return ids, nil
}

func cmpOr(id int, name string) any {
	if id != 0 {
		return id
	}
	return strconv.Quote(name)
}

func (st *state) createProfile(b map[string]any) error {
	name := str(b, "securityProfileName")
	if name == "" {
		return errBadRequest("security profile: securityProfileName is required")
	}
	if st.profileByName(name) != nil {
		return errDuplicate("security profile %q already exists", name)
	}
	privs, err := privileges(b["accessPrivileges"])
	if err != nil {
		return err
	}
	p := &profile{id: st.id("security_profile"), name: name, description: str(b, "description"), privileges: privs}
	st.profiles[p.id] = p
	return nil
}

func (st *state) updateProfile(p *profile, b map[string]any) error {
	// Check everything before changing anything: a refused PUT leaves the
	// record as it was, as PM's transactions do.
	name := p.name
	if v, ok := b["securityProfileName"]; ok {
		name, _ = v.(string)
		if name == "" {
			return errBadRequest("security profile %d: securityProfileName cannot be empty", p.id)
		}
		if o := st.profileByName(name); o != nil && o != p {
			return errDuplicate("security profile %q already exists", name)
		}
	}
	privs := p.privileges
	if v, ok := b["accessPrivileges"]; ok {
		var err error
		if privs, err = privileges(v); err != nil {
			return err
		}
	}
	p.name, p.privileges = name, privs
	if _, ok := b["description"]; ok {
		p.description = str(b, "description")
	}
	return nil
}

func profileJSON(p *profile) map[string]any {
	privs := []any{}
	for _, id := range p.privileges {
		ap := accessPrivileges[id-1]
		privs = append(privs, map[string]any{"privilegeId": ap.id, "privilegeName": ap.name, "description": ap.description})
	}
	return prune(map[string]any{"securityProfileId": p.id, "securityProfileName": p.name, "description": p.description,
		"accessPrivileges": privs}).(map[string]any)
}

func (a *api) listProfiles(c *call) (int, any, error) {
	search := c.r.URL.Query().Get("search")
	var ps []*profile
	for _, id := range sortedIDs(c.st.profiles) {
		if p := c.st.profiles[id]; matches(search, p.name) {
			ps = append(ps, p)
		}
	}
	err := orderBy(ps, c.r.URL.Query().Get("orderby"), sortKeys[*profile]{
		"securityProfileId":   func(p *profile) any { return p.id },
		"securityProfileName": func(p *profile) any { return p.name },
	})
	if err != nil {
		return 0, nil, err
	}
	items := make([]any, len(ps))
	for i, p := range ps {
		items[i] = profileJSON(p)
	}
	return c.pageA(items, a.opts.OneBasedPages)
}
