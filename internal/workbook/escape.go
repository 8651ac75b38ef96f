package workbook

import (
	"strconv"
	"strings"
)

// Formula injection. A spreadsheet evaluates a cell whose text starts with
// =, +, - or @ (and, in some versions, after a tab or carriage return) as a
// formula, so a record named "=HYPERLINK(…)" on a PBX could run in an
// auditor's Excel.
//
// In .xlsx files nothing needs escaping: every value is written as an inline
// string cell (<c t="inlineStr">), which Excel shows as text and never
// evaluates, whatever it starts with. In .csv files the spreadsheet guesses
// the type of every field, so we follow OWASP's advice and prefix such a
// value with a single quote, which Excel hides and treats as "this is text".
//
// Two refinements keep our own exports importable unchanged:
//
//   - A plain number ("+46701234567", "-5", "+1.5") is not escaped. Excel
//     reads it as a number (it may drop the "+", which the import side
//     detects and reports as damage) but cannot execute it, and E.164 numbers
//     are the most common value in a PBX export: "'+46…" in every row would
//     be noise for every script that reads the file.
//   - The rule is reversible: UnescapeCSV removes one leading quote only when
//     it is followed by a trigger character or another quote, and EscapeCSV
//     doubles a leading quote in exactly those cases. So UnescapeCSV(
//     EscapeCSV(v)) == v for every v, and a hand-written "'+4670…" (the way
//     Excel users force text) reads as "+4670…".
//
// The workbook reader calls UnescapeCSV on every CSV cell; it never applies
// to .xlsx cells, where a leading quote is a real character.

// EscapeCSV returns v as it must be written to a CSV field.
func EscapeCSV(v string) string {
	if v == "" {
		return v
	}
	if isTrigger(v[0]) && !plainNumber(v) {
		return "'" + v
	}
	if v[0] == '\'' && quoted(v) {
		return "'" + v
	}
	return v
}

// UnescapeCSV reverses EscapeCSV on a field read from a CSV file.
func UnescapeCSV(v string) string {
	if quoted(v) {
		return v[1:]
	}
	return v
}

func isTrigger(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// quoted reports whether v carries an escape quote: a leading ' followed by
// a trigger character or a second quote.
func quoted(v string) bool {
	return len(v) >= 2 && v[0] == '\'' && (isTrigger(v[1]) || v[1] == '\'')
}

// plainNumber reports whether v is a signed decimal number and nothing else
// (no spaces, no exponent, no operators), which a spreadsheet parses as a
// number rather than a formula.
func plainNumber(v string) bool {
	s := strings.TrimLeft(v, "+-")
	if len(v)-len(s) != 1 || s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
