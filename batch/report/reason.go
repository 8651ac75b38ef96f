package report

import (
	"cmp"
	"regexp"
	"slices"
	"strings"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/batch"
)

// Reason splits an operation's message into the reason in plain words and
// the transport detail that led to it. A target's refusal reads
//
//	permanent (HTTP 400): create extension 99990 / MX-STO: POST /pm-extension/…: extension 99990 is outside …
//
// and an operator acts on the last part; the class, the status, the
// operation and the request are the detail. A message without that
// structure (a blocked row's, a planner's) is all reason.
func Reason(op *batch.Op, msg string) (reason, detail string) {
	parts := strings.Split(msg, ": ")
	n := 0
	for n < len(parts)-1 && transport(op, parts[n]) {
		n++
	}
	if n == 0 {
		return msg, ""
	}
	return strings.Join(parts[n:], ": "), strings.Join(parts[:n], ": ")
}

// request is an HTTP request line as messages quote it: "POST /path".
var request = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE) /\S*$`)

// transport reports whether one ": "-separated part of a message is
// transport detail: an error class ("throttled", "permanent (HTTP 400)"),
// the operation ("create extension 99990 / MX-STO") or a request line.
func transport(op *batch.Op, part string) bool {
	for c := adapters.Permanent; c <= adapters.Unknown; c++ {
		if name := c.String(); part == name || strings.HasPrefix(part, name+" (HTTP ") && strings.HasSuffix(part, ")") {
			return true
		}
	}
	if a, ok := op.Action.Write(); ok && strings.HasPrefix(part, string(a)+" "+op.Kind+" ") {
		return true
	}
	return request.MatchString(part)
}

// Group is one reason rows failed for, as the terminal and the summary
// sheet show it: the reason with the record's own name taken out, so that
// 8 extensions outside one number series are one line.
type Group struct {
	Reason string
	Count  int
	First  string // the first row it hit ("Extensions!5")
	Kind   string
}

// Reasons groups the failed operations of a run by reason, most frequent
// first (the first seen first among equals).
func Reasons(p *batch.Plan, results []batch.Result) []Group {
	var g grouper
	for _, r := range results {
		if r.Status == batch.StatusFailed && r.Op >= 0 && r.Op < len(p.Ops) {
			g.add(p.Ops[r.Op], r.Message)
		}
	}
	return g.groups()
}

// grouper counts failures by reason.
type grouper struct {
	out []Group
	at  map[string]int
}

func (g *grouper) add(op *batch.Op, msg string) {
	reason, _ := Reason(op, msg)
	reason = withoutName(reason, op)
	i, ok := g.at[reason]
	if !ok {
		if g.at == nil {
			g.at = map[string]int{}
		}
		i = len(g.out)
		g.at[reason] = i
		g.out = append(g.out, Group{Reason: reason, First: batch.Where(op), Kind: op.Kind})
	}
	g.out[i].Count++
}

func (g *grouper) groups() []Group {
	slices.SortStableFunc(g.out, func(a, b Group) int { return cmp.Compare(b.Count, a.Count) })
	return g.out
}

// withoutName replaces the record's name (the first part of its key) in a
// reason with "…". The other parts of a key (a subsystem, a site) are
// shared by many records and tell where the problem is.
func withoutName(reason string, op *batch.Op) string {
	name, _, _ := strings.Cut(op.Key, " / ")
	if name == "" || !mentions(reason, name) {
		return reason
	}
	var b strings.Builder
	for rest := reason; ; {
		i := wordIndex(rest, name)
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i])
		b.WriteString("…")
		rest = rest[i+len(name):]
	}
}

// wordIndex is the index of word in s as a whole word, or -1.
func wordIndex(s, word string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return -1
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !wordByte(s[start-1])) && (end == len(s) || !wordByte(s[end])) {
			return start
		}
		i = start + 1
	}
}
