package validate

import (
	"fmt"
	"net/mail"
	"strings"
)

// Rule is a domain rule a JSON Schema cannot say (or cannot say in words a
// user understands). Check receives the converted value of one cell and
// returns the value to keep (a rule may normalise, e.g. a MAC address) or an
// error whose text is the user-facing message. Code is the stable diagnostic
// code, always "domain.<something>".
type Rule struct {
	Code  string
	Check func(v any) (any, error)
}

// Rules maps "adapter/kind.field" (field as a dotted path) to the rule that
// checks that field. Adding an adapter's rules is adding lines here.
type Rules map[string]Rule

// ruleKey is the Rules key of one field.
func ruleKey(adapter, kind, field string) string { return adapter + "/" + kind + "." + field }

// builtinRules are the rules of every adapter that has any. A new adapter
// adds its entries here (for example "sipx/phone.serialNumber": macRule).
var builtinRules = Rules{
	"mxone/extension.extensionNumber":        extensionNumberRule,
	"mxone/extension.macAddress":             macRule,
	"mxone/extension.ipExtension.macAddress": macRule,
	"mxone/user.emailAddress":                emailRule,
}

// extensionNumberRule: an MX-ONE directory number is 1 to 10 digits. The
// schema may say the same with a pattern, but "digits only, 1-10 long" reads
// better at 2 a.m. than a regular expression.
var extensionNumberRule = Rule{Code: "domain.extension_number", Check: func(v any) (any, error) {
	s, _ := v.(string)
	if s == "" || len(s) > 10 || !allDigits(s) {
		return nil, fmt.Errorf("an MX-ONE extension number is 1 to 10 digits (0-9) with nothing else; %d characters here", len([]rune(s)))
	}
	return s, nil
}}

// macRule accepts the common notations (00:11:22:aa:bb:cc, 00-11-22-AA-BB-CC,
// 0011.22aa.bbcc, 001122AABBCC) and keeps one form: 12 upper-case hex digits
// without separators. The MX-ONE digest shows macAddress only as a plain
// string and the raw extension VO as "macaddr", with no documented notation;
// the bare form is what the MX-ONE terminal tools print and it compares
// exactly on export/diff, so every notation the user types ends up equal.
var macRule = Rule{Code: "domain.mac", Check: func(v any) (any, error) {
	s, _ := v.(string)
	mac, ok := NormalizeMAC(s)
	if !ok {
		return nil, fmt.Errorf("not a MAC address: write 12 hex digits, e.g. 00:11:22:AA:BB:CC, 00-11-22-AA-BB-CC, 0011.22AA.BBCC or 001122AABBCC")
	}
	return mac, nil
}}

// NormalizeMAC returns a MAC address in the form pbxbatch stores: 12
// upper-case hex digits, no separators. It accepts colon, dash and
// Cisco-dot notations and the bare form, and reports false otherwise.
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

// emailRule: net/mail accepts "user@localhost" and display names; a
// provisioning e-mail is a bare address whose domain has a dot.
var emailRule = Rule{Code: "domain.email", Check: func(v any) (any, error) {
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
