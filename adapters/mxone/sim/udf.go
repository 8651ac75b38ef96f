package sim

import (
	"net/http"
	"strings"
)

func (a *api) udfRoutes() {
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
}

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
