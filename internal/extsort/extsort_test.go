package extsort

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

func byFirst(a, b []string) int { return cmp.Compare(a[0], b[0]) }

func TestSortSpillsAndMerges(t *testing.T) {
	for _, budget := range []int{0, 300} { // in memory; many tiny runs
		dir := t.TempDir()
		s := New(byFirst, Options{MaxBytes: budget, TmpDir: dir})
		rng := rand.New(rand.NewPCG(1, 2))
		var want [][]string
		for i := range 1000 {
			row := []string{fmt.Sprintf("k%04d", rng.IntN(300)), fmt.Sprint(i), ""}
			want = append(want, row)
			if err := s.Add(row); err != nil {
				t.Fatal(err)
			}
		}
		slices.SortStableFunc(want, byFirst)
		if (budget > 0) != s.Spilled() {
			t.Fatalf("budget %d: spilled=%v", budget, s.Spilled())
		}
		it, err := s.Iter()
		if err != nil {
			t.Fatal(err)
		}
		var got [][]string
		for it.Next() {
			got = append(got, it.Row())
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("budget %d: order differs (stable sort expected)", budget)
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("temp files left: %d", len(ents))
		}
	}
}
