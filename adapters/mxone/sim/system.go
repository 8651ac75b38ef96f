package sim

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
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

func (a *api) systemRoutes() {
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

	const sub = "/system-ms/subsystem/v1"
	a.handle("GET "+sub, adminOnly, a.listSubsystems)
	a.handle("GET "+sub+"/{subsystemId}", adminOnly, func(c *call) (int, any, error) {
		s, err := c.subsystemPath()
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, c.st.subsystemRecord(s), nil
	})
	a.handle("POST "+sub, adminOnly, func(c *call) (int, any, error) {
		raw, b, err := c.subsystemBody()
		if err != nil {
			return 0, nil, err
		}
		if err := c.created("subsystem", c.st.createSubsystem(b, raw["numberSeries"])); err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, nil, nil
	})
	a.handle("PUT "+sub+"/{subsystemId}", adminOnly, func(c *call) (int, any, error) {
		s, err := c.subsystemPath()
		if err != nil {
			return 0, nil, err
		}
		raw, b, err := c.subsystemBody()
		if err != nil {
			return 0, nil, err
		}
		if err := c.st.updateSubsystem(s, b, raw["numberSeries"]); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, c.st.subsystemRecord(s), nil
	})
	a.handle("DELETE "+sub+"/{subsystemId}", adminOnly, func(c *call) (int, any, error) {
		s, err := c.subsystemPath()
		if err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, c.st.deleteSubsystem(s)
	})

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

	const udf = "/system-ms/udf-definition/v1"
	a.handle("GET "+udf, adminOnly, func(c *call) (int, any, error) { return http.StatusOK, c.st.udfList(""), nil })
	a.handle("GET "+udf+"/by-udf-type/{udfType}", adminOnly, func(c *call) (int, any, error) {
		t, err := udfType(c.r.PathValue("udfType"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, c.st.udfList(t), nil
	})
	a.handle("GET "+udf+"/{udfType}/{udfId}", anyRole, func(c *call) (int, any, error) {
		k, err := c.udfPath()
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, udfJSON(k, c.st.udfs[k]), nil
	})
	a.handle("PUT "+udf+"/{udfType}/{udfId}", adminOnly, func(c *call) (int, any, error) {
		k, err := c.udfPath()
		if err != nil {
			return 0, nil, err
		}
		b, err := c.pickBody("UDF definition", udfDefSpec)
		if err != nil {
			return 0, nil, err
		}
		merge(c.st.udfs[k], b)
		return http.StatusOK, udfJSON(k, c.st.udfs[k]), nil
	})

	a.handle("GET /system-ms/options/v1", anyRole, func(c *call) (int, any, error) {
		search := c.r.URL.Query().Get("search")
		var opts []*option
		for _, o := range c.st.options {
			if matches(search, o.name) {
				opts = append(opts, o)
			}
		}
		err := orderBy(opts, c.r.URL.Query().Get("orderby"), sortKeys[*option]{
			"optionid":   func(o *option) any { return o.id },
			"optionName": func(o *option) any { return o.name },
		})
		if err != nil {
			return 0, nil, err
		}
		items := make([]any, len(opts))
		for i, o := range opts {
			items[i] = optionJSON(o)
		}
		return c.pageA(items, a.opts.OneBasedPages)
	})
	a.handle("PUT /system-ms/options/v1/update", anyRole, func(c *call) (int, any, error) {
		var req struct {
			Options []struct {
				OptionID *int  `json:"optionid"`
				Value    *bool `json:"value"`
			} `json:"options"`
		}
		if err := c.decode(&req); err != nil {
			return 0, nil, err
		}
		if len(req.Options) == 0 {
			return 0, nil, errBadRequest("options must list at least one {optionid, value}")
		}
		var changed []*option
		for i, o := range req.Options {
			if o.OptionID == nil || o.Value == nil {
				return 0, nil, errBadRequest("options[%d]: optionid and value are required", i)
			}
			idx := slices.IndexFunc(c.st.options, func(x *option) bool { return x.id == *o.OptionID })
			if idx < 0 {
				return 0, nil, errNotFound("system option %d does not exist", *o.OptionID)
			}
			changed = append(changed, c.st.options[idx])
		}
		for i, o := range req.Options {
			changed[i].value = *o.Value
		}
		// The document answers a single option although the request is a list.
		return http.StatusOK, optionJSON(changed[0]), nil
	})
}

func optionJSON(o *option) map[string]any {
	return prune(map[string]any{"optionid": o.id, "optionName": o.name, "value": o.value}).(map[string]any)
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

// ---- locations

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

// ---- subsystems

var subsystemTypes = []string{"TelephonyServer", "MessagingServer", "CMGServer", "AMCProvisioningServer",
	"SIPDECTManager", "MiCollabServer", "CloudLinkServer", "Othermgmtapplication"}

// subsystemBlocks are the per-type configuration blocks of SubsystemConfig.
var subsystemBlocks = []string{"mxoneSubsystem", "miCollabAdvancedMessagingServer", "cmgServer", "mmcProvisioningServer",
	"sipDectManager", "miCollabServer", "cloudLinkServer", "otherMgmtApplication"}

// secretKeys are never answered, in any block.
var secretKeys = map[string]bool{"password": true, "terminalPassword": true, "userpassword": true, "cmgUserPassword": true,
	"miCollabUserPassword": true, "cloudLinkUserPassword": true}

var subsystemSpec = func() fieldSpec {
	s := fieldSpec{"subsystemType": tStr, "subsystemName": tStr, "location": tStr, "locationName": tStr, "expirationDate": tStr}
	for _, b := range subsystemBlocks {
		s[b] = tObj
	}
	return s
}()

func (c *call) subsystemBody() (map[string]any, map[string]any, error) {
	raw, err := c.body()
	if err != nil {
		return nil, nil, err
	}
	b, err := pick("subsystem", raw, subsystemSpec)
	return raw, b, err
}

func (c *call) subsystemPath() (*subsystem, error) {
	id, err := c.intPath("subsystemId")
	if err != nil {
		return nil, err
	}
	s := c.st.subsystems[id]
	if s == nil {
		return nil, errNotFound("subsystem %d does not exist", id)
	}
	return s, nil
}

// resolveLocation finds a subsystem's location: by "locationName" first,
// then by "location", which the document types as a string and which holds
// an id (or, tolerated, a name).
func (st *state) resolveLocation(b map[string]any) (*location, bool, error) {
	ref, name := str(b, "location"), str(b, "locationName")
	if ref == "" && name == "" {
		return nil, false, nil
	}
	if name != "" {
		if l := st.locationByName(name); l != nil {
			return l, true, nil
		}
		return nil, true, errReference("location %q does not exist; create the location first", name)
	}
	if id, err := strconv.Atoi(ref); err == nil {
		if l := st.locations[id]; l != nil {
			return l, true, nil
		}
	}
	if l := st.locationByName(ref); l != nil {
		return l, true, nil
	}
	return nil, true, errReference("location %q does not exist; create the location first", ref)
}

func (st *state) createSubsystem(b map[string]any, series any) error {
	name, typ := str(b, "subsystemName"), str(b, "subsystemType")
	if name == "" || typ == "" {
		return errBadRequest("subsystem: subsystemName and subsystemType are required")
	}
	if !slices.Contains(subsystemTypes, typ) {
		return errBadRequest("subsystem %s: subsystemType %q is not one of %s", name, typ, strings.Join(subsystemTypes, ", "))
	}
	if st.subsystemByName(name) != nil {
		return errDuplicate("subsystem %q already exists", name)
	}
	l, given, err := st.resolveLocation(b)
	if err != nil {
		return err
	}
	if !given {
		return errBadRequest("subsystem %s: location (or locationName) is required", name)
	}
	ns, err := parseSeries(series)
	if err != nil {
		return errBadRequest("subsystem %s: numberSeries: %v", name, err)
	}
	s := &subsystem{id: st.id("subsystem"), typ: typ, name: name, locationID: l.id, attrs: map[string]any{}, series: ns}
	for _, k := range append([]string{"expirationDate"}, subsystemBlocks...) {
		if v, ok := b[k]; ok && v != nil {
			s.attrs[k] = v
		}
	}
	st.subsystems[s.id] = s
	return nil
}

func (st *state) updateSubsystem(s *subsystem, b map[string]any, series any) error {
	// Check everything before changing anything: a refused PUT leaves the
	// record as it was, as PM's transactions do.
	name, typ := s.name, s.typ
	if n := str(b, "subsystemName"); n != "" && n != s.name {
		if st.subsystemByName(n) != nil {
			return errDuplicate("subsystem %q already exists", n)
		}
		name = n
	}
	if t := str(b, "subsystemType"); t != "" && t != s.typ {
		if !slices.Contains(subsystemTypes, t) {
			return errBadRequest("subsystem %s: subsystemType %q is not one of %s", s.name, t, strings.Join(subsystemTypes, ", "))
		}
		if st.subsystemHasExtensions(s) {
			return errInUse("subsystem %s holds extensions; its type cannot change", s.name)
		}
		typ = t
	}
	l, given, err := st.resolveLocation(b)
	if err != nil {
		return err
	}
	ns := s.series
	if series != nil {
		if ns, err = parseSeries(series); err != nil {
			return errBadRequest("subsystem %s: numberSeries: %v", s.name, err)
		}
	}
	s.name, s.typ, s.series = name, typ, ns
	if given {
		s.locationID = l.id
	}
	rest := map[string]any{}
	for _, k := range append([]string{"expirationDate"}, subsystemBlocks...) {
		if v, ok := b[k]; ok {
			rest[k] = v
		}
	}
	merge(s.attrs, rest)
	return nil
}

func (st *state) subsystemHasExtensions(s *subsystem) bool {
	for k := range st.exts {
		if k.subsystemID == s.id {
			return true
		}
	}
	return false
}

func (st *state) deleteSubsystem(s *subsystem) error {
	var numbers []string
	for k := range st.exts {
		if k.subsystemID == s.id {
			numbers = append(numbers, k.number)
		}
	}
	if len(numbers) > 0 {
		slices.Sort(numbers)
		return errInUse("subsystem %s holds %d extensions (first %s); delete them first", s.name, len(numbers), numbers[0])
	}
	delete(st.subsystems, s.id)
	return nil
}

// withoutSecrets copies a block minus its passwords.
func withoutSecrets(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, e := range m {
		if !secretKeys[k] {
			out[k] = e
		}
	}
	return out
}

func (a *api) listSubsystems(c *call) (int, any, error) {
	typ, err := c.query("subsystemType")
	if err != nil {
		return 0, nil, err
	}
	if !strings.EqualFold(typ, "All") && !slices.Contains(subsystemTypes, typ) {
		return 0, nil, errBadRequest("subsystemType %q is not All or one of %s", typ, strings.Join(subsystemTypes, ", "))
	}
	out := []any{}
	for _, id := range sortedIDs(c.st.subsystems) {
		s := c.st.subsystems[id]
		if !strings.EqualFold(typ, "All") && s.typ != typ {
			continue
		}
		// The list item is the request shape plus subsystemId.
		item := map[string]any{"subsystemType": s.typ, "subsystemName": s.name, "subsystemId": s.id}
		if l := c.st.locations[s.locationID]; l != nil {
			item["location"] = strconv.Itoa(l.id)
			item["locationName"] = l.name
		}
		for k, v := range s.attrs {
			item[k] = withoutSecrets(v)
		}
		out = append(out, prune(item))
	}
	return http.StatusOK, out, nil
}

// subsystemRecord is the GET-by-id / PUT shape, which differs from the
// request shape (digest §5.4 mapping).
func (st *state) subsystemRecord(s *subsystem) any {
	rec := map[string]any{"subsystemId": s.id, "subsystemName": s.name, "subsystemType": s.typ, "status": "Active"}
	if l := st.locations[s.locationID]; l != nil {
		rec["location"] = map[string]any{"locationId": l.id, "locationName": l.name, "description": l.description, "cmgcustgrp": l.cmgCustomer}
	}
	rename := map[string]string{
		"ipOrFQDNAddress": "ipaddress", "ipOrFQDNaddress": "ipaddress", "cmgServerIPOrFQDNAddress": "ipaddress",
		"miCollabIPOrFQDNAddress": "ipaddress", "resiliencyIPAddress": "resipaddress", "port": "port",
		"cmgServerPort": "port", "axiPort": "axiport", "userId": "loginName", "userID": "loginName",
		"cmgUserId": "loginName", "msgServerUserId": "loginName", "miCollabUserId": "loginName", "cloudLinkUserId": "loginName",
		"ipPhoneServerUrl": "ippServerUrl", "ipPhoneServerOrDomainFolder": "ippServerFolder", "cmgPbxId": "cmgPbxId",
		"isDepartmentStructureMultipleroot": "cmgMultiDept", "miCollabPool": "micollabPool",
		"enableMiCollabADAuthentication": "micollabAdAuthFlag", "version": "version", "miCollabServerVersion": "version",
		"useHttps": "useHttps", "oneboxnumber": "oneboxnumber", "ivr": "ivr", "voicemail": "voicemail",
		"urlToOtherMgmtApplications": "url", "cloudLinkAPIURL": "url",
	}
	for _, blk := range subsystemBlocks {
		m, _ := s.attrs[blk].(map[string]any)
		for k, v := range m {
			if to, ok := rename[k]; ok {
				rec[to] = v
			}
		}
		if ref, _ := m["miVoiceMXONESubsystem"].(string); ref != "" {
			if t := st.subsystemByName(ref); t != nil {
				rec["telephonyServerId"] = t.id
			}
		}
	}
	return prune(rec)
}

// parseSeries reads the numberSeries forms this simulator accepts.
func parseSeries(v any) ([]numberSeries, error) {
	var items []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		for _, p := range strings.Split(x, ";") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
	case []any:
		items = x
	default:
		return nil, fmt.Errorf("expected a list of series")
	}
	var out []numberSeries
	for i, it := range items {
		var ns numberSeries
		switch x := it.(type) {
		case string:
			typ, rng, ok := strings.Cut(x, ":")
			if !ok {
				return nil, fmt.Errorf("item %d %q: write TYPE:START-END, e.g. EX:1000-1999", i, x)
			}
			start, end, _ := strings.Cut(rng, "-")
			if end == "" {
				end = start
			}
			ns = numberSeries{NumberType: strings.TrimSpace(typ), Start: strings.TrimSpace(start), End: strings.TrimSpace(end)}
		case map[string]any:
			ns = numberSeries{NumberType: str(x, "numberType"), Start: fmt.Sprint(x["start"]), End: fmt.Sprint(x["end"])}
			if x["end"] == nil {
				ns.End = ns.Start
			}
		default:
			return nil, fmt.Errorf("item %d: expected \"TYPE:START-END\" or {numberType,start,end}", i)
		}
		if !slices.Contains(numberSeriesTypes, ns.NumberType) || ns.NumberType == "All" {
			return nil, fmt.Errorf("item %d: number type %q is not one of %s", i, ns.NumberType, strings.Join(numberSeriesTypes[1:], ", "))
		}
		if !digits(ns.Start) || !digits(ns.End) || len(ns.Start) != len(ns.End) || ns.Start > ns.End {
			return nil, fmt.Errorf("item %d: %s-%s is not a range of numbers of the same length", i, ns.Start, ns.End)
		}
		out = append(out, ns)
	}
	return out, nil
}

var numberSeriesTypes = []string{"All", "EX", "R1", "R2", "R3", "AC", "AI", "OC", "OD", "OI", "OE", "ED", "EC", "PD",
	"RD", "DI", "DN", "LC", "CP", "EN", "DP", "PG", "GR", "FD"}

func digits(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// inSeries reports whether number lies in one of the subsystem's series of
// a type. Series are ranges of equally long digit strings, so a string
// comparison is a numeric one.
func (s *subsystem) inSeries(typ, number string) bool {
	for _, ns := range s.series {
		if ns.NumberType == typ && len(number) == len(ns.Start) && number >= ns.Start && number <= ns.End {
			return true
		}
	}
	return false
}

// ---- departments

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

// ---- security profiles

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

// ---- UDF definitions

var udfDefSpec = fieldSpec{"udfDisplayName": tStr, "udfCmgDisplayName": tStr, "readonly": tBool, "advance": tBool,
	"udfCmgMiscNumber": tStr, "udfFieldTypeName": tStr, "udfAdDisplayName": tStr}

func udfType(s string) (string, error) {
	t := strings.ToUpper(s)
	if t != "USERS" && t != "DEPARTMENTS" {
		return "", errBadRequest("udfType %q must be USERS or DEPARTMENTS", s)
	}
	return t, nil
}

func (c *call) udfPath() (udfKey, error) {
	t, err := udfType(c.r.PathValue("udfType"))
	if err != nil {
		return udfKey{}, err
	}
	id, err := c.intPath("udfId")
	if err != nil {
		return udfKey{}, err
	}
	k := udfKey{t, id}
	if c.st.udfs[k] == nil {
		return udfKey{}, errNotFound("UDF %s %d does not exist (USERS has 1..34, DEPARTMENTS 1..10)", t, id)
	}
	return k, nil
}

func udfJSON(k udfKey, attrs map[string]any) map[string]any {
	m := cloneMap(attrs)
	m["udfId"], m["udfType"] = k.id, k.typ
	return prune(m).(map[string]any)
}

func (st *state) udfList(typ string) []any {
	out := []any{}
	for _, t := range []string{"USERS", "DEPARTMENTS"} {
		if typ != "" && t != typ {
			continue
		}
		for i := 1; st.udfs[udfKey{t, i}] != nil; i++ {
			out = append(out, udfJSON(udfKey{t, i}, st.udfs[udfKey{t, i}]))
		}
	}
	return out
}
