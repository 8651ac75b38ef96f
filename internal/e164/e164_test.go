package e164

import "testing"

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"+32 2 123 45 67": "+3221234567", "0032 (2) 123-45-67": "+3221234567", "123456777": "+123456777",
		"+3212345678": "+3212345678", "02 123 45 67": "", "+0212": "", "+32x1": "", "12": "", "+1234567890123456": "",
	} {
		got, err := Normalize(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
