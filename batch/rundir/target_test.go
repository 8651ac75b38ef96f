package rundir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestTargetKeyNormalizesTheURL(t *testing.T) {
	same := []string{"https://PBX.example.com:443/", "https://pbx.example.com", "https://pbx.example.com//", " https://pbx.example.com/ "}
	for _, u := range same {
		if got, want := TargetKey("mxone", u), TargetKey("mxone", same[0]); got != want {
			t.Errorf("TargetKey(%q) = %q, want %q", u, got, want)
		}
	}
	for _, other := range [][2]string{{"mxone", "https://pbx.example.com:8443"}, {"sipx", "https://pbx.example.com"}, {"mxone", "http://pbx.example.com"}, {"mxone", "https://pbx.example.com/pm"}} {
		if TargetKey(other[0], other[1]) == TargetKey("mxone", same[0]) {
			t.Errorf("%v is the same target as %s", other, same[0])
		}
	}
}

// Two runs on one target from two state directories: the second is refused,
// naming the first run, its host and process, until the first lets go.
func TestTargetLockKeepsASecondRunOff(t *testing.T) {
	users := t.TempDir() // stands for the user's lock directory
	stateA, stateB := t.TempDir(), t.TempDir()
	a, err := lockTargetIn([]string{filepath.Join(stateA, "target-locks"), users}, "lab", "mxone", "https://10.0.0.5:8443", "", stateA)
	if err != nil {
		t.Fatal(err)
	}
	a.SetRun("20261204-190000-ab12")
	_, err = lockTargetIn([]string{filepath.Join(stateB, "target-locks"), users}, "lab2", "mxone", "https://10.0.0.5:8443/", "", stateB)
	var busy *TargetBusyError
	if !errors.As(err, &busy) {
		t.Fatalf("second lock: %v, want a TargetBusyError", err)
	}
	host, _ := os.Hostname()
	for _, want := range []string{"lab2", "20261204-190000-ab12", strconv.Itoa(os.Getpid()), host, stateA, "--force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not name %q", err, want)
		}
	}
	if other, err := lockTargetIn([]string{users}, "other", "mxone", "https://10.0.0.6:8443", "", stateB); err != nil {
		t.Errorf("another target is not locked out: %v", err)
	} else {
		other.Release()
	}
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	b, err := lockTargetIn([]string{users}, "lab", "mxone", "https://10.0.0.5:8443", "", stateB)
	if err != nil {
		t.Fatalf("after the first run let go: %v", err)
	}
	b.Release()
}
