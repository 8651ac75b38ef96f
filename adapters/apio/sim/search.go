package sim

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters/apio/api"
	"github.com/pbxbatch/pbxbatch/internal/spelling"
)

// criterion is one documented search criterion of the list.
type criterion struct {
	field     func(u api.User) string
	sensitive bool
	op        string // Starts, Contains, Equals
}

var (
	lastName  = func(u api.User) string { return u.LastName }
	firstName = func(u api.User) string { return u.FirstName }
	phone     = func(u api.User) string { return u.PhoneNumber }
	extension = func(u api.User) string { return u.Extension }
	callType  = func(u api.User) string { return u.CallType }
)

// criteria are the list's criteria as documented: phone number and
// extension are case-insensitive, call type sensitive.
var criteria = func() map[string]criterion {
	m := map[string]criterion{"callTypeEquals": {callType, true, "Equals"}}
	for _, op := range []string{"Starts", "Contains", "Equals"} {
		m["sensitiveUserLastName"+op] = criterion{lastName, true, op}
		m["insensitiveUserLastName"+op] = criterion{lastName, false, op}
		m["sensitiveUserFirstName"+op] = criterion{firstName, true, op}
		m["insensitiveUserFirstName"+op] = criterion{firstName, false, op}
		m["phoneNumber"+op] = criterion{phone, false, op}
		m["extension"+op] = criterion{extension, false, op}
	}
	return m
}()

// query is a parsed search: every criterion must match (AND).
type query struct {
	terms []term
	limit int
}

type term struct {
	c     criterion
	value string
}

func parseCriteria(raw map[string]json.RawMessage) (query, error) {
	var q query
	for k, v := range raw {
		if k == "responseSizeLimit" {
			if err := json.Unmarshal(v, &q.limit); err != nil || q.limit < 0 {
				return q, errBad("responseSizeLimit is a positive integer")
			}
			continue
		}
		c, ok := criteria[k]
		if !ok {
			known := make([]string, 0, len(criteria)+1)
			for name := range criteria {
				known = append(known, name)
			}
			known = append(known, "responseSizeLimit")
			sort.Strings(known)
			msg := "unknown search criterion " + k
			if s := spelling.Suggest(k, known); s != "" {
				msg += "; did you mean " + s + "?"
			}
			return q, errBad("%s (known: %s)", msg, strings.Join(known, ", "))
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return q, errBad("search criterion %s is a string", k)
		}
		q.terms = append(q.terms, term{c, s})
	}
	return q, nil
}

func (q query) match(u api.User) bool {
	for _, t := range q.terms {
		have, want := t.c.field(u), t.value
		if !t.c.sensitive {
			have, want = strings.ToLower(have), strings.ToLower(want)
		}
		var ok bool
		switch t.c.op {
		case "Starts":
			ok = strings.HasPrefix(have, want)
		case "Contains":
			ok = strings.Contains(have, want)
		default:
			ok = have == want
		}
		if !ok {
			return false
		}
	}
	return true
}
