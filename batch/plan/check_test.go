package plan

import (
	"context"
	"errors"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// checkingConn adds a Checker to a connection, as an adapter would: it
// refuses phone numbers starting with 9 and cannot check those starting
// with 8; it notes whether it was shown the site the same plan creates.
type checkingConn struct {
	adapters.Conn
	sawPlanned bool
}

func (c *checkingConn) Unwrap() adapters.Conn { return c.Conn }

func (c *checkingConn) Check(_ context.Context, ch adapters.Change, planned func(kind, key string) schemas.Record) (string, string, error) {
	if ch.Kind != "phone" {
		return "", "", nil
	}
	if planned("site", ch.Record.String("site")) != nil {
		c.sawPlanned = true
	}
	switch ch.Record.String("number")[0] {
	case '9':
		return "number", "9 is the trunk prefix on this target", nil
	case '8':
		return "", "", errors.New("the dial plan cannot be read")
	}
	return "", "", nil
}

func TestCheckerBlocksAtTheCellAndWarnsOnceWhenItCannotCheck(t *testing.T) {
	f := newFixture(t)
	cc := &checkingConn{Conn: f.conn}
	f.conn = cc
	f.row("site", 2, batch.Upsert, rec{"siteName": "HQ"})
	f.row("phone", 2, batch.Upsert, rec{"number": "1003", "site": "HQ"})
	f.row("phone", 3, batch.Upsert, rec{"number": "9001", "site": "HQ"})
	f.row("phone", 4, batch.Upsert, rec{"number": "8001", "site": "HQ"})
	f.row("phone", 5, batch.Upsert, rec{"number": "8002", "site": "HQ"})
	p, diags := f.build(Options{})
	if op := opOf(t, p, "phone", "9001 / HQ"); op.Action != batch.OpBlocked {
		t.Errorf("9001: %s, want blocked", op.Action)
	}
	for _, key := range []string{"1003 / HQ", "8001 / HQ", "8002 / HQ"} {
		if op := opOf(t, p, "phone", key); op.Action != batch.OpCreate {
			t.Errorf("%s: %s, want create", key, op.Action)
		}
	}
	var refused, unchecked int
	for _, d := range diags {
		switch d.Code {
		case CodeRefused:
			refused++
			if d.Origin.Sheet != "Phones" || d.Origin.Row != 3 || d.Field != "number" {
				t.Errorf("refusal at %s (%s), want Phones row 3, the number cell", d.Origin, d.Field)
			}
		case CodeUnchecked:
			unchecked++
		}
	}
	if refused != 1 || unchecked != 1 || !cc.sawPlanned {
		t.Errorf("%d refusals, %d unchecked warnings, planned site seen %v; want 1, 1 (once for both rows), true:\n%v", refused, unchecked, cc.sawPlanned, diags)
	}
}
