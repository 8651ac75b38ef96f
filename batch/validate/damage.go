package validate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pbxbatch/pbxbatch/internal/diag"
	"github.com/pbxbatch/pbxbatch/schemas"
)

// Spreadsheet damage: Excel turns number-like text into numbers and then
// into floats, scientific notation or dates. These guards run on the cell
// text before conversion and need the schema to know which columns hold
// numbers-as-text (x-text "phone"/"digits") or numbers.

var (
	scientificRE = regexp.MustCompile(`^[+-]?\d+(\.\d+)?[eE][+-]?\d+$`)
	floatTailRE  = regexp.MustCompile(`^(\+?\d+)\.0+$`)
	isoDateRE    = regexp.MustCompile(`^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?$`)
	localDateRE  = regexp.MustCompile(`^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}(\d{2})?$`)
)

// numberLike reports whether a field holds a number or number-like text,
// the columns Excel damages.
func numberLike(f *schemas.Field) bool {
	t := f.Type
	if t == "array" {
		t = f.Items
	}
	return f.Text != "" || t == "integer" || t == "number"
}

// guardDamage checks one item of a number-like cell. It returns the
// findings; an error finding means the value is certainly wrong and must not
// be converted further.
func guardDamage(f *schemas.Field, s string) []finding {
	var out []finding
	s = strings.TrimSpace(s)
	if plainNumber(s) {
		// Digits with at most a leading +: no date, exponent or tail to
		// look for, and the common case, so skip the expressions.
		if f.Text == "phone" && lostPlus(s) {
			return []finding{lostPlusFinding(f, s)}
		}
		return nil
	}
	q := shown(f, s)
	switch {
	case isoDateRE.MatchString(s) || localDateRE.MatchString(s):
		return append(out, finding{diag.Error, "read.date",
			q + " looks like a date, but this column holds a number: Excel turned the number into a date; format the column as Text and type the number again"})
	case scientificRE.MatchString(s):
		return append(out, finding{diag.Error, "read.scientific",
			q + " is in scientific notation: Excel has already rounded away the last digits, so the number cannot be recovered from this cell; format the column as Text and type the full number again"})
	}
	if f.Text == "" {
		return out
	}
	if m := floatTailRE.FindStringSubmatch(s); m != nil {
		fix := "write " + shown(f, m[1])
		if f.Secret {
			fix = "remove the .0 tail"
		}
		return append(out, finding{diag.Error, "read.float_tail",
			q + " has a decimal tail that Excel added to a number; " + fix + " (format the column as Text so it stays that way)"})
	}
	return out
}

func lostPlusFinding(f *schemas.Field, s string) finding {
	return finding{diag.Warning, "read.lost_plus",
		shown(f, s) + " looks like an international (E.164) number that lost its leading +; if it is, write +" + strings.Trim(shown(f, s), `"`) + " (format the column as Text so Excel keeps the +)"}
}

// plainNumber: digits, optionally after one leading "+".
func plainNumber(s string) bool {
	return allDigits(strings.TrimPrefix(s, "+"))
}

// lostPlus: an E.164 number without its "+" is 11 to 15 digits starting
// with a country code (never 0). National numbers are written with their
// trunk 0 or are 10 digits or fewer, so they do not trigger it.
func lostPlus(s string) bool {
	return len(s) >= 11 && len(s) <= 15 && allDigits(s) && s[0] != '0'
}

// shown quotes a value for a message, or stands in the mask for a secret.
func shown(f *schemas.Field, s string) string {
	if f.Secret {
		return `"` + schemas.Mask + `"`
	}
	return fmt.Sprintf("%q", s)
}

// finding is one guard or conversion result before it gets an origin.
type finding struct {
	sev  diag.Severity
	code string
	msg  string
}

// zeroColumn watches one "digits" column for values that lost a leading
// zero: when other cells in the column start with 0 and are longer, a
// shorter value without the 0 is suspicious. It needs the whole column, so
// it keeps counts per length and the first few suspects, and judges at the
// end of the table.
type zeroColumn struct {
	col       int
	zeroLen   map[int]int  // length -> count of values starting with 0
	plainLen  map[int]int  // length -> count of values not starting with 0
	example   map[int]cell // length -> first value starting with 0
	suspects  []cell       // values not starting with 0, first maxSuspects per length
	perLength map[int]int
}

type cell struct {
	row  int
	text string
}

const maxSuspects = 50

func newZeroColumn(col int) *zeroColumn {
	return &zeroColumn{col: col, zeroLen: map[int]int{}, plainLen: map[int]int{}, example: map[int]cell{}, perLength: map[int]int{}}
}

func (z *zeroColumn) observe(row int, s string) {
	if s == "" || !allDigits(s) {
		return
	}
	n := len(s)
	if s[0] == '0' {
		z.zeroLen[n]++
		if _, ok := z.example[n]; !ok {
			z.example[n] = cell{row, s}
		}
		return
	}
	z.plainLen[n]++
	if z.perLength[n] < maxSuspects {
		z.perLength[n]++
		z.suspects = append(z.suspects, cell{row, s})
	}
}

// verdict returns, for each suspect, the length of the zero-led siblings it
// is shorter than. A length wins when zero-led values of that length
// outnumber plain values of the suspect's length, so a column that simply
// mixes 3- and 4-digit numbers with one "0123" stays quiet.
func (z *zeroColumn) verdict(report func(s cell, want int, example cell)) {
	if len(z.zeroLen) == 0 {
		return
	}
	best, bestN := 0, 0
	for n, c := range z.zeroLen {
		if c > bestN || c == bestN && n > best {
			best, bestN = n, c
		}
	}
	for _, s := range z.suspects {
		n := len(s.text)
		if n < best && bestN > z.plainLen[n] {
			report(s, best, z.example[best])
		}
	}
}
