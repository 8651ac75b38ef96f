package sim

import (
	"net/http"
	"slices"
)

func (a *api) optionRoutes() {
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
