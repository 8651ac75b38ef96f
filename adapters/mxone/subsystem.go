package mxone

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

type subsystemOps struct{ cn *Conn }

const telephonyServer = "TelephonyServer"

// listSubsystemItems reads every subsystem (style C: an unpaged array; a
// page envelope is accepted too).
func (cn *Conn) listSubsystemItems(ctx context.Context) ([]subsystemItem, error) {
	var raw json.RawMessage
	if err := cn.c.do(ctx, http.MethodGet, pathSubsystems, url.Values{"subsystemType": {"All"}}, nil, &raw); err != nil {
		return nil, err
	}
	pg, err := decodePage(raw)
	if err == nil && len(pg.items) == 0 && len(raw) > 0 && raw[0] == '{' && !isEnvelope(raw) {
		pg.items = []json.RawMessage{raw} // a single bare object
	}
	if err != nil {
		return nil, adapters.Errorf(adapters.Permanent, "GET %s: unexpected subsystem list: %v", pathSubsystems, err)
	}
	out := make([]subsystemItem, 0, len(pg.items))
	for _, it := range pg.items {
		var s subsystemItem
		if err := decodeItem(it, &s); err != nil {
			return nil, adapters.Errorf(adapters.Permanent, "GET %s: unexpected subsystem: %v", pathSubsystems, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func (cn *Conn) loadSubsystemIDs(ctx context.Context) (map[string][]int64, error) {
	items, err := cn.listSubsystemItems(ctx)
	if err != nil {
		return nil, err
	}
	ids := map[string][]int64{}
	for _, it := range items {
		ids[string(it.SubsystemName)] = append(ids[string(it.SubsystemName)], int64(it.SubsystemID))
	}
	return ids, nil
}

// findSubsystem asks the target for a subsystem by name.
func (cn *Conn) findSubsystem(ctx context.Context, name string) (subsystemItem, error) {
	items, err := cn.listSubsystemItems(ctx)
	if err != nil {
		return subsystemItem{}, err
	}
	ids := map[string][]int64{}
	var found []subsystemItem
	for _, it := range items {
		ids[string(it.SubsystemName)] = append(ids[string(it.SubsystemName)], int64(it.SubsystemID))
		if string(it.SubsystemName) == name {
			found = append(found, it)
		}
	}
	cn.subsystems.replace(ids)
	switch len(found) {
	case 0:
		return subsystemItem{}, notFound("subsystem", name)
	case 1:
		return found[0], nil
	}
	return subsystemItem{}, ambiguous("subsystem", name, len(found))
}

// subsystemLocation names the location of a list item, which may carry it
// as locationName, as a location id string or as a location object.
func (cn *Conn) subsystemLocation(ctx context.Context, it subsystemItem) (string, error) {
	if it.LocationName != "" {
		return string(it.LocationName), nil
	}
	raw := strings.TrimSpace(string(it.Location))
	if raw == "" || raw == "null" {
		return "", nil
	}
	var obj struct {
		LocationID   flexInt    `json:"locationId"`
		LocationName flexString `json:"locationName"`
	}
	if raw[0] == '{' {
		if json.Unmarshal([]byte(raw), &obj) == nil && obj.LocationName != "" {
			return string(obj.LocationName), nil
		}
		return cn.locations.name(ctx, int64(obj.LocationID))
	}
	var s flexString
	_ = json.Unmarshal([]byte(raw), &s)
	if id, err := strconv.ParseInt(string(s), 10, 64); err == nil {
		return cn.locations.name(ctx, id)
	}
	return string(s), nil
}

// numberSeries reads a subsystem's series as "TYPE:START-END" texts.
func (cn *Conn) numberSeries(ctx context.Context, subsystem string) ([]numberSeriesItem, error) {
	var raw json.RawMessage
	err := cn.c.do(ctx, http.MethodGet, pathNumberSeries+"All", url.Values{"subsystemName": {subsystem}}, nil, &raw)
	if err != nil {
		if adapters.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	var items list[numberSeriesItem]
	if pg, err := decodePage(raw); err == nil && isEnvelopeRaw(raw) {
		for _, it := range pg.items {
			var s numberSeriesItem
			if decodeItem(it, &s) == nil {
				items = append(items, s)
			}
		}
	} else if err := json.Unmarshal(raw, &items); err != nil {
		return nil, adapters.Errorf(adapters.Permanent, "GET number series of %s: unexpected shape: %v", subsystem, err)
	}
	out := items[:0]
	for _, s := range items {
		if s.NumberType != "" && s.Start != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// isEnvelopeRaw reports whether raw is a page envelope, bare or wrapped.
func isEnvelopeRaw(raw json.RawMessage) bool {
	return isEnvelope(unwrapOne(raw))
}

func seriesText(s numberSeriesItem) string {
	if s.End == "" || s.End == s.Start {
		return fmt.Sprintf("%s:%s", s.NumberType, s.Start)
	}
	return fmt.Sprintf("%s:%s-%s", s.NumberType, s.Start, s.End)
}

// parseSeries reads "EX:1000-1999" (the schema's pattern guarantees shape).
func parseSeries(s string) (numberSeriesBody, error) {
	typ, rng, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return numberSeriesBody{}, adapters.Errorf(adapters.Permanent, "number series %q is not TYPE:START-END", s)
	}
	start, end, ok := strings.Cut(rng, "-")
	if !ok {
		end = start
	}
	return numberSeriesBody{NumberType: strings.ToUpper(typ), Start: start, End: end}, nil
}

func (cn *Conn) subsystemRecord(ctx context.Context, it subsystemItem) (schemas.Record, error) {
	r := schemas.Record{}
	putString(r, "subsystemName", it.SubsystemName)
	putString(r, "subsystemType", it.SubsystemType)
	loc, err := cn.subsystemLocation(ctx, it)
	if err != nil {
		return nil, err
	}
	putString(r, "location", flexString(loc))
	putString(r, "expirationDate", it.ExpirationDate)
	if string(it.SubsystemType) == telephonyServer || it.SubsystemType == "" {
		series, err := cn.numberSeries(ctx, string(it.SubsystemName))
		if err != nil {
			return nil, err
		}
		var texts []string
		for _, s := range series {
			texts = append(texts, seriesText(s))
		}
		putList(r, "numberSeries", texts)
		// Either the config block or the record's flat names; passwords
		// are never read back.
		m := it.MxoneSubsystem
		if m == nil {
			m = &mxoneSubsystemBlock{IPOrFQDNAddress: it.IPAddress, Port: it.Port, UserID: it.LoginName, Version: it.Version,
				IPPhoneServerURL: it.IPPServerURL, IPPhoneServerOrDomainFolder: it.IPPServerFolder, CmgPbxID: it.CmgPbxID}
			if it.UseHTTPS != nil {
				m.UseHTTPS = *it.UseHTTPS
			}
		}
		putString(r, "mxoneSubsystem.ipOrFQDNAddress", m.IPOrFQDNAddress)
		putString(r, "mxoneSubsystem.port", m.Port)
		putBool(r, "mxoneSubsystem.useHttps", bool(m.UseHTTPS))
		putString(r, "mxoneSubsystem.version", m.Version)
		putString(r, "mxoneSubsystem.userId", m.UserID)
		putString(r, "mxoneSubsystem.ipPhoneServerUrl", m.IPPhoneServerURL)
		putString(r, "mxoneSubsystem.ipPhoneServerOrDomainFolder", m.IPPhoneServerOrDomainFolder)
		putString(r, "mxoneSubsystem.cmgPbxId", m.CmgPbxID)
	}
	return r, nil
}

func (o subsystemOps) list(ctx context.Context, fn func(schemas.Record) error) error {
	items, err := o.cn.listSubsystemItems(ctx)
	if err != nil {
		return err
	}
	ids := map[string][]int64{}
	for _, it := range items {
		ids[string(it.SubsystemName)] = append(ids[string(it.SubsystemName)], int64(it.SubsystemID))
	}
	o.cn.subsystems.replace(ids)
	for _, it := range items {
		r, err := o.cn.subsystemRecord(ctx, it)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (o subsystemOps) get(ctx context.Context, key schemas.Record) (schemas.Record, error) {
	it, err := o.cn.findSubsystem(ctx, key.String("subsystemName"))
	if err != nil {
		return nil, err
	}
	return o.cn.subsystemRecord(ctx, it)
}

// body builds SubsystemConfig. keep supplies the stored passwords for an
// update whose row leaves them blank (a full PUT must not wipe them).
func (o subsystemOps) body(ctx context.Context, r schemas.Record, keep *subsystemItem) (subsystemBody, error) {
	name := recString(r, "subsystemName")
	locName := recString(r, "location")
	locID, err := o.cn.locations.id(ctx, locName, "subsystem "+name)
	if err != nil {
		return subsystemBody{}, err
	}
	b := subsystemBody{
		SubsystemType:  cmp.Or(recString(r, "subsystemType"), telephonyServer),
		SubsystemName:  name,
		Location:       strconv.FormatInt(locID, 10),
		LocationName:   locName,
		ExpirationDate: recString(r, "expirationDate"),
	}
	if b.SubsystemType != telephonyServer {
		return b, nil
	}
	m := &mxoneSubsystemBlock{
		UseHTTPS:                    flexBool(recBool(r, "mxoneSubsystem.useHttps")),
		Version:                     flexString(recString(r, "mxoneSubsystem.version")),
		IPOrFQDNAddress:             flexString(recString(r, "mxoneSubsystem.ipOrFQDNAddress")),
		Port:                        flexString(recString(r, "mxoneSubsystem.port")),
		UserID:                      flexString(recString(r, "mxoneSubsystem.userId")),
		Password:                    flexString(recString(r, "mxoneSubsystem.password")),
		TerminalPassword:            flexString(recString(r, "mxoneSubsystem.terminalPassword")),
		IPPhoneServerURL:            flexString(recString(r, "mxoneSubsystem.ipPhoneServerUrl")),
		IPPhoneServerOrDomainFolder: flexString(recString(r, "mxoneSubsystem.ipPhoneServerOrDomainFolder")),
		CmgPbxID:                    flexString(recString(r, "mxoneSubsystem.cmgPbxId")),
	}
	if keep != nil {
		if m.Password == "" {
			m.Password = cmp.Or(keep.LoginPasswordPlain, func() flexString {
				if keep.MxoneSubsystem != nil {
					return keep.MxoneSubsystem.Password
				}
				return ""
			}())
		}
		if m.TerminalPassword == "" {
			m.TerminalPassword = keep.TerminalPassword
		}
	}
	b.MxoneSubsystem = m
	for _, s := range recList(r, "numberSeries") {
		ns, err := parseSeries(s)
		if err != nil {
			return b, err
		}
		b.NumberSeries = append(b.NumberSeries, ns)
	}
	return b, nil
}

func (o subsystemOps) create(ctx context.Context, r schemas.Record) (adapters.Result, error) {
	b, err := o.body(ctx, r, nil)
	if err != nil {
		return adapters.Result{}, err
	}
	if err := o.cn.c.do(ctx, http.MethodPost, pathSubsystems, nil, b, nil); err != nil {
		return adapters.Result{}, err
	}
	it, err := o.cn.findSubsystem(ctx, b.SubsystemName)
	if err != nil {
		return adapters.Result{}, createdButUnread(err)
	}
	return adapters.Result{ID: "subsystemId=" + strconv.FormatInt(int64(it.SubsystemID), 10)}, nil
}

func (o subsystemOps) update(ctx context.Context, r, _ schemas.Record) (adapters.Result, error) {
	it, err := o.cn.findSubsystem(ctx, recString(r, "subsystemName"))
	if err != nil {
		return adapters.Result{}, err
	}
	id := strconv.FormatInt(int64(it.SubsystemID), 10)
	// GET by id returns the record shape, which carries the stored
	// password; a failure here only means we cannot preserve it.
	var stored subsystemItem
	if err := o.cn.c.do(ctx, http.MethodGet, pathSubsystems+"/"+id, nil, nil, &stored); err != nil && !adapters.IsNotFound(err) {
		return adapters.Result{}, err
	}
	if stored.MxoneSubsystem == nil {
		stored.MxoneSubsystem = it.MxoneSubsystem
	}
	b, err := o.body(ctx, r, &stored)
	if err != nil {
		return adapters.Result{}, err
	}
	err = o.cn.c.do(ctx, http.MethodPut, pathSubsystems+"/"+id, nil, b, nil)
	return adapters.Result{ID: "subsystemId=" + id}, err
}

func (o subsystemOps) delete(ctx context.Context, r, _ schemas.Record) (adapters.Result, error) {
	it, err := o.cn.findSubsystem(ctx, recString(r, "subsystemName"))
	if err != nil {
		return adapters.Result{}, err
	}
	id := int64(it.SubsystemID)
	if err := o.cn.c.do(ctx, http.MethodDelete, pathSubsystems+"/"+strconv.FormatInt(id, 10), nil, nil, nil); err != nil {
		return adapters.Result{}, err
	}
	o.cn.subsystems.forget(id)
	return adapters.Result{ID: "subsystemId=" + strconv.FormatInt(id, 10)}, nil
}
