package schemas

// Matches reports whether got (a record read back from a target) holds
// every value of want that a target can return, and if not, the first
// field that differs. Secret, write-only and read-only fields are skipped
// (targets never return the first two; the last are the target's own), and
// a zero value equals an absent one, since platforms omit zero values.
func (k *Kind) Matches(want, got Record) (bool, string) {
	for _, f := range k.Fields {
		if f.Secret || f.WriteOnly || f.ReadOnly {
			continue
		}
		wv, ok := want.Get(f.Path)
		if !ok {
			continue
		}
		gv, _ := got.Get(f.Path)
		if IsZero(wv) && IsZero(gv) {
			continue
		}
		if Text(Normalize(wv)) != Text(Normalize(gv)) {
			return false, f.Path
		}
	}
	return true, ""
}
