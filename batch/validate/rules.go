package validate

import (
	"fmt"
	"net/mail"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/e164"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Rule is a domain rule a JSON Schema cannot say in words a user
// understands. A schema names it on a field ("x-rule": "mac"); the engine
// knows rules, never platforms. Check receives the field and the converted
// value of one cell and returns the value to keep (a rule may normalise,
// e.g. a MAC address) or an error whose text is the user-facing message.
// Code is the stable diagnostic code, always "domain.<something>".
type Rule struct {
	Code  string
	Check func(f *schemas.Field, v any) (any, error)
}

// rules are the rules a schema may name with x-rule.
var rules = map[string]Rule{
	"digits":    digitsRule,
	"mac":       macRule(strings.ToUpper),
	"mac-lower": macRule(strings.ToLower),
	"email":     emailRule,
	"e164":      e164Rule,
}

// ruleOf returns the rule a field names, or an error for a name no rule
// has (a schema mistake, reported when the validator is made).
func ruleOf(k *schemas.Kind, f *schemas.Field) (*Rule, error) {
	if f.Rule == "" {
		return nil, nil
	}
	r, ok := rules[f.Rule]
	if !ok {
		return nil, fmt.Errorf("schema %s/%s: field %s names x-rule %q, which batch/validate does not know (known: digits, e164, email, mac, mac-lower)", k.Adapter, k.Name, f.Path, f.Rule)
	}
	return &r, nil
}

// digitsRule: digits only, as long as the schema's minLength/maxLength
// say. The schema may say the same with a pattern, but "digits only, 1-10
// long" reads better at 2 a.m. than a regular expression.
var digitsRule = Rule{Code: "domain.digits", Check: func(f *schemas.Field, v any) (any, error) {
	s, _ := v.(string)
	n := len([]rune(s))
	if allDigits(s) && n >= f.MinLength && (f.MaxLength == 0 || n <= f.MaxLength) {
		return s, nil
	}
	length := fmt.Sprintf("%d to %d digits", max(f.MinLength, 1), f.MaxLength)
	switch {
	case f.MaxLength == 0:
		length = fmt.Sprintf("at least %d digits", max(f.MinLength, 1))
	case f.MinLength == f.MaxLength:
		length = fmt.Sprintf("exactly %d digits", f.MaxLength)
	}
	what := fmt.Sprintf("%d characters here", n)
	if !allDigits(s) {
		what = "this one holds other characters"
	}
	return nil, fmt.Errorf("%s is %s (0-9) with nothing else; %s", f.Title, length, what)
}}

// macRule accepts the common notations (00:11:22:aa:bb:cc, 00-11-22-AA-BB-CC,
// 0011.22aa.bbcc, 001122AABBCC) and keeps one form: 12 hex digits without
// separators, in the case the platform stores (the schema says which:
// "mac" upper, "mac-lower" lower), so every notation the user types
// compares equal on export and diff.
func macRule(form func(string) string) Rule {
	return Rule{Code: "domain.mac", Check: func(f *schemas.Field, v any) (any, error) {
		s, _ := v.(string)
		mac, ok := NormalizeMAC(s)
		if !ok {
			if t := strings.TrimSpace(s); allDigits(t) && len(t) < 12 {
				return nil, fmt.Errorf("%s has only %d digits: a spreadsheet stored the MAC address as a number and dropped its leading zeros (it was probably %s); format the column as Text and type the address again", f.Title, len(t), strings.Repeat("0", 12-len(t))+t)
			}
			return nil, fmt.Errorf("not a MAC address: write 12 hex digits, e.g. 00:11:22:AA:BB:CC, 00-11-22-AA-BB-CC, 0011.22AA.BBCC or 001122AABBCC")
		}
		return form(mac), nil
	}}
}

// NormalizeMAC returns a MAC address as 12 upper-case hex digits, no
// separators. It accepts colon, dash and Cisco-dot notations and the bare
// form, and reports false otherwise.
func NormalizeMAC(s string) (string, bool) {
	s = strings.TrimSpace(s)
	var groups []string
	switch {
	case len(s) == 12:
		groups = []string{s}
	case len(s) == 17 && (strings.Count(s, ":") == 5 || strings.Count(s, "-") == 5):
		groups = strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == '-' })
		if len(groups) != 6 || s[2] != s[5] { // one separator style only
			return "", false
		}
		for _, g := range groups {
			if len(g) != 2 { // "00:11:222:33:4:55" is no MAC address
				return "", false
			}
		}
	case len(s) == 14 && strings.Count(s, ".") == 2:
		groups = strings.Split(s, ".")
		if len(groups[0]) != 4 || len(groups[1]) != 4 {
			return "", false
		}
	default:
		return "", false
	}
	hex := strings.ToUpper(strings.Join(groups, ""))
	if len(hex) != 12 {
		return "", false
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return "", false
		}
	}
	return hex, true
}

// e164Rule keeps a phone number in its international form (+ and digits),
// whatever separators the user typed, so that it compares equal with the
// number the platform lists.
var e164Rule = Rule{Code: "domain.e164", Check: func(f *schemas.Field, v any) (any, error) {
	s, _ := v.(string)
	n, err := e164.Normalize(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", f.Title, err)
	}
	return n, nil
}}

// emailRule: net/mail accepts "user@localhost" and display names; a
// provisioning e-mail is a bare address whose domain has a dot.
var emailRule = Rule{Code: "domain.email", Check: func(_ *schemas.Field, v any) (any, error) {
	s, _ := v.(string)
	if err := checkEmail(s); err != nil {
		return nil, err
	}
	return s, nil
}}

func checkEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Errorf("not an e-mail address: write it as name@example.com, without a display name or angle brackets")
	}
	domain := s[strings.LastIndexByte(s, '@')+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return fmt.Errorf("the e-mail domain %q is not a full domain name (it needs a dot, e.g. example.com)", domain)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
