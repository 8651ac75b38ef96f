// Package e164 writes telephone numbers in one form, the international
// E.164 one: "+" and up to 15 digits, nothing else. The validator applies
// it to the fields a schema marks "x-rule": "e164", and adapters to the
// numbers a platform returns, so that both sides of a comparison agree.
package e164

import (
	"errors"
	"strings"
)

// MaxDigits is E.164's limit.
const MaxDigits = 15

// Normalize returns s as "+digits". It accepts the separators people type
// (spaces, "-", ".", "/", parentheses), "00" for "+", and digits without
// either, read as an international number (APIO's range example writes
// them so). A number starting with one 0 is national: there is no telling
// its country, so it is an error.
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	intl := strings.HasPrefix(s, "+")
	var b strings.Builder
	b.WriteByte('+')
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case strings.ContainsRune(" -./()", r):
		default:
			return "", errors.New("a phone number holds digits, an optional leading + and the separators space - . / ( ) only")
		}
	}
	n := b.String()
	if !intl && strings.HasPrefix(n, "+00") {
		n = "+" + n[3:]
	} else if !intl && strings.HasPrefix(n, "+0") {
		return "", errors.New("this is a national number (it starts with 0): write it in international form, e.g. +32 2 123 45 67")
	}
	switch digits := len(n) - 1; {
	case digits < 3:
		return "", errors.New("a phone number has at least 3 digits")
	case digits > MaxDigits:
		return "", errors.New("a phone number in international form has at most 15 digits (E.164)")
	case n[1] == '0':
		return "", errors.New("a country code never starts with 0: write + and the country code, e.g. +32 2 123 45 67")
	}
	return n, nil
}
