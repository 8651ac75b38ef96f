package sim

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// pageA is the "items page" of system options, security profiles, users,
// locked users, access privileges and locations, wrapped in an array.
type pageA struct {
	Items    []any `json:"items"`
	Count    int   `json:"count"`
	PageNo   int   `json:"pageNo"`
	PageSize int   `json:"pageSize"`
}

// pageB is the Spring page of departments, wrapped in an array.
type pageB struct {
	DepartmentList []any     `json:"departmentList"`
	Page           pageBInfo `json:"page"`
}

type pageBInfo struct {
	PageNo           int  `json:"pageNo"`
	PageSize         int  `json:"pageSize"`
	TotalPages       int  `json:"totalPages"`
	TotalElements    int  `json:"totalElements"`
	NumberOfElements int  `json:"numberOfElements"`
	First            bool `json:"first"`
	Last             bool `json:"last"`
}

// sortKey extracts an orderby field from an item: an int or a string.
type sortKeys[T any] map[string]func(T) any

// orderBy sorts items by "field [asc|desc], …" (case-insensitive field
// names); an empty spec keeps the order given (by id).
func orderBy[T any](items []T, spec string, keys sortKeys[T]) error {
	type crit struct {
		key  func(T) any
		desc bool
	}
	var crits []crit
	for _, part := range strings.Split(spec, ",") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		var c crit
		for name, k := range keys {
			if strings.EqualFold(name, f[0]) {
				c.key = k
			}
		}
		if c.key == nil {
			names := make([]string, 0, len(keys))
			for n := range keys {
				names = append(names, n)
			}
			slices.Sort(names)
			return errBadRequest("cannot order by %q; use one of %s", f[0], strings.Join(names, ", "))
		}
		if len(f) > 1 {
			switch strings.ToLower(f[1]) {
			case "asc":
			case "desc":
				c.desc = true
			default:
				return errBadRequest("order direction %q: use asc or desc", f[1])
			}
		}
		crits = append(crits, c)
	}
	if len(crits) == 0 {
		return nil
	}
	slices.SortStableFunc(items, func(a, b T) int {
		for _, c := range crits {
			r := compareAny(c.key(a), c.key(b))
			if c.desc {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return 0
	})
	return nil
}

func compareAny(a, b any) int {
	switch x := a.(type) {
	case int:
		y, _ := b.(int)
		return cmp.Compare(x, y)
	case string:
		y, _ := b.(string)
		return cmp.Compare(strings.ToLower(x), strings.ToLower(y))
	case bool:
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	return 0
}

// matches applies a style-A search: empty, "*" and "All" match everything;
// a pattern with "*" is a case-insensitive wildcard; anything else matches
// as a case-insensitive substring of any of the fields.
func matches(search string, fields ...string) bool {
	if search == "" || search == "*" || strings.EqualFold(search, "all") {
		return true
	}
	if strings.Contains(search, "*") {
		s := strings.ToLower(search)
		for _, f := range fields {
			if wildcard(s, strings.ToLower(f)) {
				return true
			}
		}
		return false
	}
	for _, f := range fields {
		if containsFold(f, search) {
			return true
		}
	}
	return false
}

// containsFold is a case-insensitive strings.Contains that does not
// allocate: a search by extension number runs over every user.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

func wildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// intParam reads an optional integer query parameter, trying each name.
func (c *call) intParam(def int, names ...string) (int, error) {
	q := c.r.URL.Query()
	for _, n := range names {
		if v := q.Get(n); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil {
				return 0, errBadRequest("query parameter %s must be an integer, got %q", n, v)
			}
			return i, nil
		}
	}
	return def, nil
}

// pageA cuts one page out of items (already filtered and sorted). Pages
// count from 0, or from 1 with OneBasedPages. The documented parameters are
// all "mandatory" yet have defaults; missing ones take the default.
func (c *call) pageA(items []any, oneBased bool) (int, any, error) {
	base := 0
	if oneBased {
		base = 1
	}
	pageNo, err := c.intParam(base, "pageno", "pageNo")
	if err != nil {
		return 0, nil, err
	}
	size, err := c.intParam(200, "pageSize", "pagesize")
	if err != nil {
		return 0, nil, err
	}
	if size < 1 {
		return 0, nil, errBadRequest("pageSize must be at least 1")
	}
	if pageNo < base {
		return 0, nil, errBadRequest("pageno must be at least %d (pages are numbered from %d)", base, base)
	}
	lo := min((pageNo-base)*size, len(items))
	hi := min(lo+size, len(items))
	return 200, []pageA{{Items: append([]any{}, items[lo:hi]...), Count: len(items), PageNo: pageNo, PageSize: size}}, nil
}

// pageB cuts a Spring page: pageNo from 0, pageSize default 10.
func (c *call) pageB(items []any) (int, any, error) {
	pageNo, err := c.intParam(0, "pageNo", "pageno")
	if err != nil {
		return 0, nil, err
	}
	size, err := c.intParam(10, "pageSize", "pagesize")
	if err != nil {
		return 0, nil, err
	}
	if size < 1 || pageNo < 0 {
		return 0, nil, errBadRequest("pageNo must be 0 or more and pageSize at least 1")
	}
	lo := min(pageNo*size, len(items))
	hi := min(lo+size, len(items))
	total := (len(items) + size - 1) / size
	return 200, []pageB{{
		DepartmentList: append([]any{}, items[lo:hi]...),
		Page: pageBInfo{
			PageNo: pageNo, PageSize: size, TotalPages: total, TotalElements: len(items),
			NumberOfElements: hi - lo, First: pageNo == 0, Last: pageNo >= total-1,
		},
	}}, nil
}
