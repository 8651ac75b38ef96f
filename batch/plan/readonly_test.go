package plan

import (
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/batch"
)

// A read-only value that differs from the target's is never "already
// matches": the plan says it cannot change it, as a warning at its cell
// and in the no-op's reason. An equal one says nothing.
func TestReadOnlyDifferenceIsReported(t *testing.T) {
	f := newFixture(t)
	f.put("site", rec{"siteName": "HQ", "description": "Head office"})
	f.put("site", rec{"siteName": "Lab", "description": "Lab"})
	f.row("site", 2, batch.Upsert, rec{"siteName": "HQ"})
	f.rows[0].ReadOnly = rec{"description": "Main office"}
	f.row("site", 3, batch.Upsert, rec{"siteName": "Lab"})
	f.rows[1].ReadOnly = rec{"description": "Lab"}
	p, diags := f.build(Options{})
	op := opOf(t, p, "site", "HQ")
	if op.Action != batch.OpNoop || !strings.Contains(op.Reason, "read-only description") {
		t.Fatalf("op = %+v", op)
	}
	d := diagWith(diags, CodeReadOnly)
	if len(d) != 1 || d[0].Origin.Row != 2 || d[0].Origin.Col != "B" || !strings.Contains(d[0].Message, `"Head office" on target lab and "Main office" in the row`) {
		t.Fatalf("diags = %v", diags)
	}
	if op := opOf(t, p, "site", "Lab"); op.Reason != "" {
		t.Errorf("an equal read-only value gave %q", op.Reason)
	}
	var b strings.Builder
	if err := WriteText(&b, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "already matches") {
		t.Errorf("plan text claims the target matches:\n%s", b.String())
	}
}
