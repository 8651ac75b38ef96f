// Package redacttest finds secrets in text the way someone reading a log
// would: by decoding what a server may have encoded, rather than by listing
// the encodings redact masks, so that a test using it catches a form redact
// misses.
package redacttest

import (
	"encoding/base64"
	"html"
	"regexp"
	"strconv"
	"strings"
)

// Leaks returns the secrets text holds (all but a secret's last character
// is enough, so a message cut short is caught too), after undoing up to
// three layers of JSON escaping, HTML escaping, percent-encoding and base64
// in any order.
func Leaks(text string, secrets ...string) []string {
	texts := Decodings(text)
	var found []string
	for _, s := range secrets {
		for _, t := range texts {
			if strings.Contains(t, s[:len(s)-1]) {
				found = append(found, s)
				break
			}
		}
	}
	return found
}

// Decodings returns text and what it decodes to, up to three layers deep.
func Decodings(text string) []string {
	seen := map[string]bool{text: true}
	all, layer := []string{text}, []string{text}
	for range 3 {
		var next []string
		for _, t := range layer {
			for _, d := range []string{html.UnescapeString(t), percentDecode(t), unquoteJSON(t), base64Runs(t)} {
				if d != "" && !seen[d] {
					seen[d] = true
					next = append(next, d)
				}
			}
		}
		all, layer = append(all, next...), next
	}
	return all
}

// base64Runs decodes every run of base64 characters in s at each of the
// four alignments, one decoded text per line.
func base64Runs(s string) string {
	var b strings.Builder
	for _, run := range strings.FieldsFunc(s, notBase64) {
		if len(run) < 8 {
			continue
		}
		for start := range 4 {
			chunk := strings.TrimRight(run[start:], "=")
			chunk = chunk[:len(chunk)/4*4]
			for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
				if dec, err := enc.DecodeString(chunk); err == nil {
					b.Write(dec)
					b.WriteByte('\n')
				}
			}
		}
	}
	return b.String()
}

func notBase64(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("+/-_=", r))
}

// percentDecode decodes %XX escapes and + where it can, leaving the rest.
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		if s[i] == '+' {
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var jsonEscape = regexp.MustCompile(`\\(u[0-9a-fA-F]{4}|["\\/bfnrt])`)

// unquoteJSON undoes one level of JSON string escaping everywhere in s.
func unquoteJSON(s string) string {
	return jsonEscape.ReplaceAllStringFunc(s, func(m string) string {
		if m[1] == 'u' {
			v, _ := strconv.ParseUint(m[2:], 16, 32)
			return string(rune(v))
		}
		return map[byte]string{'"': `"`, '\\': `\`, '/': "/", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t"}[m[1]]
	})
}
