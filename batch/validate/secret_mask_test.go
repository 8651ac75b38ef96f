package validate

import (
	"testing"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// A report's masked secret fed back as input must not become the secret.
func TestMaskedSecretIsAnError(t *testing.T) {
	res, rows := run(t, Options{},
		sheet("Users", userHdr, "anna|Anna|Berg||||"+schemas.Mask+"||||"),
	)
	wantDiags(t, res.Diags, "error Users!G2 pin schema.secret_masked")
	if len(rows) != 0 {
		t.Errorf("a row with a masked secret was emitted: %+v", rows)
	}
	if res.Diags[0].Value != schemas.Mask {
		t.Errorf("value shown %q", res.Diags[0].Value)
	}
}
