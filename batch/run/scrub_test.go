package run_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/adapters/stub"
	"github.com/pbxbatch/pbxbatch/batch/run"
)

// A target that echoes a rejected secret in its error must not put it in
// the result, the journal or anything made from them.
func TestEchoedSecretsAreMaskedInMessages(t *testing.T) {
	b := rollout(1, 1, 0) // the person's pin is 4321
	a := stub.New()
	a.AddFault(stub.Fault{Op: "create", Kind: "person", Class: adapters.Permanent, Message: "pin 4321 is too weak"})
	j := openJournal(t)
	out, err := run.Run(context.Background(), open(t, a), b.p, b.kinds, run.Options{Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	var msg string
	for _, r := range out.Results {
		if r.Message != "" && strings.Contains(r.Message, "too weak") {
			msg = r.Message
		}
	}
	if msg == "" {
		t.Fatalf("the fault did not fire: %+v", out.Results)
	}
	if strings.Contains(msg, "4321") {
		t.Errorf("the result shows the PIN: %q", msg)
	}
	raw, err := os.ReadFile(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "4321") {
		t.Errorf("the journal holds the PIN:\n%s", raw)
	}
}
