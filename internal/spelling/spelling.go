// Package spelling finds what a user probably meant ("did you mean
// password_env?") for config keys and workbook headers alike.
package spelling

import "strings"

// Distance is the Levenshtein edit distance between a and b, counted in
// runes (a header like "Anknytning" or "Åsa" is no byte soup).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Suggest returns the known word closest to s, ignoring case, when it is
// close enough to be a typo (at most a third of its letters wrong), else "".
func Suggest(s string, known []string) string {
	best, bestD := "", max(len(s)/3, 1)+1
	for _, k := range known {
		if d := Distance(strings.ToLower(s), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}
