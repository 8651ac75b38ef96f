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
// be converted further. A lost + is judged per column (plusColumn).
func guardDamage(f *schemas.Field, s string) []finding {
	var out []finding
	s = strings.TrimSpace(s)
	if plainNumber(s) {
		// Digits with at most a leading +: no date, exponent or tail to
		// look for, and the common case, so skip the expressions.
		return nil
	}
	if _, mac := NormalizeMAC(s); mac && f.Rule != "" {
		return nil // "001122334E55" is a MAC address, not 1.122334E+60
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

// numberCell is the finding for a cell the spreadsheet stores as a number
// in a column the schema keeps as text: the number may be exactly what was
// typed, or may have lost what numbers cannot hold.
func numberCell(f *schemas.Field, s string) finding {
	q := shown(f, s)
	if f.Text == "phone" {
		return finding{diag.Error, "read.number_cell",
			q + " is stored as a number, not as text, so a leading + or 0 is gone (+46701234567 becomes 46701234567, 0701234567 becomes 701234567); format the column as Text and type the number again with its + (or start the cell with an apostrophe: '+46…)"}
	}
	return finding{diag.Error, "read.number_cell",
		q + " is stored as a number, not as text, and a number has no leading zeros (0040 becomes 40); if the value starts with 0, format the column as Text and type it again (or start the cell with an apostrophe: '0040); if it is right as it is, pass --accept read.number_cell"}
}

// plainNumber: digits, optionally after one leading "+".
func plainNumber(s string) bool {
	return allDigits(strings.TrimPrefix(s, "+"))
}

// lostPlus: an E.164 number without its "+" is 11 to 15 digits starting
// with a country code (never 0). National numbers are written with their
// trunk 0 or are 10 digits or fewer, so they do not trigger it alone.
func lostPlus(s string) bool {
	return len(s) >= 11 && len(s) <= 15 && allDigits(s) && s[0] != '0'
}

// maybeE164 is a number that lost its + when the rest of its column has
// one: 8 to 15 digits with a country code (+4681234000, Stockholm, is 10).
func maybeE164(s string) bool {
	return len(s) >= 8 && len(s) <= 15 && allDigits(s) && s[0] != '0'
}

// plusColumn watches one "phone" column for numbers that lost their +. A
// number that looks international (11-15 digits) is suspicious alone; a
// shorter one (a 10-digit Swedish +46…) only when the rest of the column
// carries +, which the end of the table tells.
type plusColumn struct {
	col      int
	plus     int    // values starting with +
	plain    int    // digits-only values that may have lost it
	suspects []cell // the first maxSuspects of them
}

func (p *plusColumn) observe(row int, s string) {
	switch {
	case strings.HasPrefix(s, "+"):
		p.plus++
	case maybeE164(s):
		p.plain++
		if len(p.suspects) < maxSuspects {
			p.suspects = append(p.suspects, cell{row, s})
		}
	}
}

// verdict reports each suspect, and whether the column carries + (then the
// number is certainly wrong).
func (p *plusColumn) verdict(report func(s cell, carries bool)) {
	carries := p.plus > 0 && p.plus >= p.plain
	for _, s := range p.suspects {
		if carries || lostPlus(s.text) {
			report(s, carries)
		}
	}
}

func lostPlusFinding(f *schemas.Field, s string, carries bool) finding {
	fix := "if it is, write +" + strings.Trim(shown(f, s), `"`) + " (format the column as Text so the spreadsheet keeps the +)"
	if !carries {
		return finding{diag.Warning, "read.lost_plus",
			shown(f, s) + " looks like an international (E.164) number that lost its leading +; " + fix}
	}
	return finding{diag.Error, "read.lost_plus",
		shown(f, s) + " has no leading + while the other numbers of this column have one: a spreadsheet drops the + of a number; " + fix + ", or pass --accept read.lost_plus if it is right"}
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

// maxSuspects bounds what a column watcher keeps per length; the
// diagnostics cap (Options.MaxDiags) bounds what is reported.
const maxSuspects = 1000

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
