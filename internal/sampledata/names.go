package sampledata

// The name lists are shared by every platform's sample generator, so that
// all samples carry the same awkward letters (å, ä, ö) a real Nordic site
// has.

// FirstName returns the i-th first name of the samples (the list cycles).
func FirstName(i int) string { return firstNames[i%len(firstNames)] }

// LastName returns the i-th last name of the samples (the list cycles).
func LastName(i int) string { return lastNames[i%len(lastNames)] }

// FirstNames is how many first names there are before they repeat.
func FirstNames() int { return len(firstNames) }

// ASCIILower is a name as an e-mail address or an alias holds it:
// "Åström" → "astrom".
func ASCIILower(s string) string { return asciiLower(s) }
