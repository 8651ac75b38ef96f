package stub

import (
	"fmt"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// Fixture returns a valid record of a stub kind, number i (distinct i,
// distinct keys). Records reference number 0 of the kinds they need (and
// groups other than 0 have group 0 as parent), so creating number 0 of each
// kind in dependency order first satisfies every reference. Used by the
// conformance suite and engine tests.
func Fixture(kind string, i int) schemas.Record {
	switch kind {
	case "site":
		return schemas.Record{"siteName": fmt.Sprintf("site-%d", i), "description": "site number " + fmt.Sprint(i)}
	case "group":
		r := schemas.Record{"groupName": fmt.Sprintf("group-%d", i), "site": "site-0"}
		if i > 0 {
			r["parent"] = "group-0"
		}
		return r
	case "person":
		return schemas.Record{
			"userId": fmt.Sprintf("user%d", i),
			"name":   map[string]any{"first": "First", "last": fmt.Sprintf("Last%d", i)},
			"groups": []any{"group-0"},
			"pin":    fmt.Sprintf("%04d", 1000+i%9000),
		}
	case "phone":
		return schemas.Record{"number": fmt.Sprintf("%d", 1000+i), "site": "site-0", "owner": "user0", "model": "desk", "lines": schemas.Normalize(2)}
	case "vuser":
		return schemas.Record{"number": fmt.Sprintf("%d", 100000+i), "ext": fmt.Sprintf("%04d", i), "name": "Virtual " + fmt.Sprint(i)}
	case "voicemail":
		return schemas.Record{"box": fmt.Sprintf("vm-%d", i), "site": "site-0", "phone": "1000", "greeting": "box number " + fmt.Sprint(i)}
	}
	panic("stub.Fixture: unknown kind " + kind)
}
