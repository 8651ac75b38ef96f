// Package redact masks secrets in text that leaves the process — messages
// in the journal, the reports, meta.json and the terminal — in every form a
// server may echo them in. A server that quotes the request back puts a
// password there as it was sent inside a JSON body (JSON-escaped), and
// then escapes the whole echo once more for its own envelope: JSON again,
// HTML, URL encoding, or base64 (a header, Basic credentials). Masking the
// value as typed misses every one of those once it holds & < > " ' or
// non-ASCII text, so a Redactor masks each encoding, and each encoding of
// each JSON form.
package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Mask stands in for a secret (the same as schemas.Mask).
const Mask = "********"

// MinLen is the shortest secret masked: masking "1" everywhere garbles a
// message and protects nothing.
const MinLen = 3

// Redactor masks a fixed set of secrets. The zero value masks nothing.
type Redactor struct {
	needles []string // every encoding of every secret, longest first
}

// New returns a Redactor for secrets; empty and too short ones are ignored.
func New(secrets ...string) *Redactor {
	seen := map[string]bool{}
	var needles []string
	for _, s := range secrets {
		if utf8.RuneCountInString(s) < MinLen || s == Mask {
			continue
		}
		for _, n := range Encodings(s) {
			if len(n) >= MinLen && !seen[n] {
				seen[n] = true
				needles = append(needles, n)
			}
		}
	}
	slices.SortFunc(needles, func(a, b string) int { return len(b) - len(a) })
	return &Redactor{needles: needles}
}

// String returns s with every encoding of every secret masked. A text cut
// short ("…", as servers' messages are cut) may end in the start of one:
// that part is masked too.
func (r *Redactor) String(s string) string {
	if r == nil || len(r.needles) == 0 {
		return s
	}
	for _, n := range r.needles {
		if strings.Contains(s, n) {
			s = strings.ReplaceAll(s, n, Mask)
		}
	}
	return r.cutEnds(s)
}

// cutEnds masks a secret's beginning just before each "…" in s.
func (r *Redactor) cutEnds(s string) string {
	const ellipsis = "…"
	for from := 0; ; {
		i := strings.Index(s[from:], ellipsis)
		if i < 0 {
			return s
		}
		i += from
		head := s[:i]
		for _, n := range r.needles {
			for l := len(n) - 1; l >= 4; l-- {
				if strings.HasSuffix(head, n[:l]) {
					head = head[:len(head)-l] + Mask
					break
				}
			}
		}
		s = head + s[i:]
		from = len(head) + len(ellipsis)
	}
}

// Encodings returns the forms secret may take in an echo: as typed and as
// a JSON body holds it, each of those as is, JSON-escaped again,
// HTML-escaped, URL-encoded and base64-encoded (the part of a longer base64
// text that depends only on the secret, at each of the three alignments).
func Encodings(secret string) []string {
	var out []string
	for _, sent := range append([]string{secret}, jsonForms(secret)...) {
		out = append(out, sent)
		out = append(out, jsonForms(sent)...)
		out = append(out, htmlForms(sent)...)
		out = append(out, urlForms(sent)...)
		out = append(out, base64Forms(sent)...)
	}
	return out
}

// jsonForms: encoding/json's escaping (<, >, & as \u003c…), in upper-case
// hex too, and the escaping most other encoders use (" and \ and control
// characters only), with and without \/ for /.
func jsonForms(s string) []string {
	b, _ := json.Marshal(s)
	goForm := string(b[1 : len(b)-1])
	minimal := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(goForm)
	return []string{goForm, upperHexEscapes(goForm, `\u00`), minimal, strings.ReplaceAll(minimal, "/", `\/`)}
}

// htmlForms: & < > always, quotes in each spelling in use (or left alone,
// as in element text).
func htmlForms(s string) []string {
	base := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	var out []string
	for _, q := range [][2]string{{"&#34;", "&#39;"}, {"&quot;", "&#39;"}, {"&quot;", "&#x27;"}, {"&quot;", "&apos;"}, {`"`, "'"}} {
		r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, q[0], "'", q[1])
		out = append(out, r.Replace(s))
	}
	return append(out, base.Replace(s))
}

// urlForms: query and path escaping, upper- and lower-case hex.
func urlForms(s string) []string {
	q, p := url.QueryEscape(s), url.PathEscape(s)
	return []string{q, p, lowerHexEscapes(q), lowerHexEscapes(p), strings.ReplaceAll(q, "+", "%20")}
}

// base64Forms returns, for the standard and URL alphabets, the whole
// encoding of s and the characters that encode only s's bytes when s starts
// 0, 1 or 2 bytes into a group (a secret in the middle of an encoded body
// or of "user:password"). Fragments shorter than 4 characters are left out.
func base64Forms(s string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, enc.EncodeToString([]byte(s)))
		for k := range 3 {
			buf := append(make([]byte, k), s...)
			full := len(buf) / 3 * 4
			e := enc.EncodeToString(buf)[:full]
			skip := []int{0, 2, 3}[k]
			if full-skip >= 4 {
				out = append(out, e[skip:])
			}
		}
	}
	return out
}

// upperHexEscapes upper-cases the two hex digits after each prefix.
func upperHexEscapes(s, prefix string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, prefix)
		if i < 0 || i+len(prefix)+2 > len(s) {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(prefix) + 2
		b.WriteString(s[:i+len(prefix)])
		b.WriteString(strings.ToUpper(s[i+len(prefix) : end]))
		s = s[end:]
	}
}

// lowerHexEscapes lower-cases the hex digits of %XX escapes.
func lowerHexEscapes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			b.WriteByte('%')
			b.WriteString(strings.ToLower(s[i+1 : i+3]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
