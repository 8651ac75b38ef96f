package mxone

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pbxbatch/pbxbatch/adapters"
)

// pageSize is what we ask for; the documented default of style A is 200.
const pageSize = 200

// maxPages stops a listing whose server ignores the page number and never
// returns a short page.
const maxPages = 100000

// page is one decoded page of either documented style.
type page struct {
	items []json.RawMessage
	whole bool   // a bare array of items: the whole list, unpaged
	echo  *int64 // the page number the server says it returned
	size  int64  // the page size the server says it used (0 = unknown)
	total int64  // total number of items (0 = unknown)
	last  *bool  // style B's page.last
}

// decodePage accepts a page object, an array wrapping one (as documented),
// or a bare array of items.
func decodePage(raw json.RawMessage) (page, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return page{}, nil
	}
	if raw[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil {
			return page{}, err
		}
		if len(arr) == 0 {
			return page{}, nil
		}
		if !isEnvelope(arr[0]) {
			return page{items: arr, whole: true}, nil
		}
		raw = arr[0]
	}
	var env pageEnvelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return page{}, err
	}
	p := page{items: env.Items}
	if env.DepartmentList != nil {
		p.items = env.DepartmentList
	}
	pick := func(vals ...*flexInt) *int64 {
		for _, v := range vals {
			if v != nil {
				n := int64(*v)
				return &n
			}
		}
		return nil
	}
	if env.Page != nil {
		p.echo = pick(env.Page.PageNo, env.PageNo, env.PageNoLower)
		if v := pick(env.Page.TotalElements); v != nil {
			p.total = *v
		}
		if v := pick(env.Page.PageSize); v != nil {
			p.size = *v
		}
		if env.Page.Last != nil {
			b := bool(*env.Page.Last)
			p.last = &b
		}
	} else {
		p.echo = pick(env.PageNo, env.PageNoLower)
	}
	if v := pick(env.Count); v != nil && p.total == 0 {
		p.total = *v
	}
	if v := pick(env.PageSize); v != nil && p.size == 0 {
		p.size = *v
	}
	return p, nil
}

func isEnvelope(raw json.RawMessage) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(raw, &probe) != nil {
		return false
	}
	_, a := probe["items"]
	_, b := probe["departmentList"]
	return a || b
}

// pages walks a paged list endpoint and calls fn for every item. The
// document leaves open whether pages count from 0 or 1; the first listing of
// each path finds out (a page-0 request answered as page 1, a page 1 equal to
// page 0, or a 400 for page 0 all mean 1-based) and later listings start at
// the detected base.
func (c *client) pages(ctx context.Context, path string, q url.Values, param string, fn func(json.RawMessage) error) error {
	c.pagesMu.Lock()
	base, known := c.pageBase[path]
	c.pagesMu.Unlock()
	learn := func(b int) {
		base, known = b, true
		c.pagesMu.Lock()
		c.pageBase[path] = b
		c.pagesMu.Unlock()
	}
	p := base
	var prevFirst json.RawMessage
	var seen int64
	// total is the item count the server announced, once it is known to be
	// a total: a count larger than its own page can only be one. (A count
	// equal to its page's length may be the page size, the other reading.)
	var total int64
	done := func() error {
		if total > seen {
			return adapters.Errorf(adapters.Permanent, "GET %s: the listing ended after %d of the %d records the server announced; refusing a short list", path, seen, total)
		}
		return nil
	}
	for n := 0; n < maxPages; n++ {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set(param, strconv.Itoa(p))
		qq.Set("pageSize", strconv.Itoa(pageSize))
		var raw json.RawMessage
		err := c.do(ctx, http.MethodGet, path, qq, nil, &raw)
		if err != nil {
			var e *adapters.Error
			if !known && p == 0 && asError(err, &e) && (e.Status == http.StatusBadRequest || e.Status == http.StatusNotFound) {
				learn(1)
				p = 1
				continue
			}
			return err
		}
		pg, err := decodePage(raw)
		if err != nil {
			return adapters.Errorf(adapters.Permanent, "GET %s: unexpected page shape: %v", path, err)
		}
		if pg.whole {
			return each(pg.items, fn)
		}
		items := pg.items
		// An echo of 1 for page 0 is proof of a 1-based server; an echo of 0
		// is not (some servers echo what was asked and serve page 1), so the
		// base is learnt from the second page's content below.
		if !known && p == 0 && pg.echo != nil && *pg.echo == 1 {
			learn(1)
			p = 1 // this was page 1
		}
		if len(items) > 0 && prevFirst != nil && bytes.Equal(items[0], prevFirst) {
			if !known && p == 1 {
				// Page 1 repeats page 0: the server counts from 1 and served
				// page 0 as page 1. Skip the repeat and go on with page 2.
				learn(1)
				p = 2
				continue
			}
			return done() // the server ignores the page number; we have it all
		}
		if !known && p == 1 && n == 1 {
			learn(0)
		}
		if err := each(items, fn); err != nil {
			return err
		}
		seen += int64(len(items))
		if pg.total > int64(len(items)) {
			total = pg.total // the newest announcement: records may come and go while we page
		}
		if len(items) == 0 {
			return done()
		}
		switch {
		case pg.last != nil:
			if *pg.last {
				return done()
			}
		case total > 0:
			if seen >= total {
				return nil
			}
		case pg.size > 0:
			if int64(len(items)) < pg.size {
				return nil
			}
		case len(items) < pageSize:
			return nil
		}
		prevFirst = items[0]
		p++
	}
	return adapters.Errorf(adapters.Permanent, "GET %s: more than %d pages; the server seems to ignore the page number", path, maxPages)
}

func each(items []json.RawMessage, fn func(json.RawMessage) error) error {
	for _, it := range items {
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}
