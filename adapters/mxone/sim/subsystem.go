package sim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

func (a *api) subsystemRoutes() {
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
}

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
