// Package extsort is an external sort of table rows ([]string): rows are
// kept in memory up to a budget, then sorted runs spill to temp files and
// are merged. Exports and diffs use it so that their output is in natural
// key order whatever order a platform lists records in, at any size.
package extsort

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Compare orders two rows: negative when a sorts first.
type Compare func(a, b []string) int

// Options bound the sorter's memory.
type Options struct {
	// MaxBytes is the budget for rows held in memory (the sum of their
	// cells' lengths plus overhead); 0 means 32 MiB.
	MaxBytes int
	TmpDir   string // "" = os.TempDir
}

// Sorter collects rows, then yields them in order. Equal rows (Compare 0)
// keep the order they were added in.
type Sorter struct {
	cmp   Compare
	opts  Options
	buf   [][]string
	bytes int
	runs  []*os.File
}

// New returns an empty sorter.
func New(cmp Compare, o Options) *Sorter {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 32 << 20
	}
	return &Sorter{cmp: cmp, opts: o}
}

// rowOverhead approximates the memory of a row beyond its text: the slice
// header and a string header per cell.
const rowOverhead = 24

// Add takes a row. The sorter keeps row: the caller must not modify it.
func (s *Sorter) Add(row []string) error {
	s.buf = append(s.buf, row)
	s.bytes += rowOverhead + 16*len(row)
	for _, c := range row {
		s.bytes += len(c)
	}
	if s.bytes >= s.opts.MaxBytes {
		return s.spill()
	}
	return nil
}

// Spilled reports whether rows went to temp files.
func (s *Sorter) Spilled() bool { return len(s.runs) > 0 }

func (s *Sorter) sortBuf() { slices.SortStableFunc(s.buf, s.cmp) }

// spill writes the sorted buffer as one run to a temp file.
func (s *Sorter) spill() error {
	s.sortBuf()
	f, err := os.CreateTemp(s.opts.TmpDir, "pbxbatch-sort-*")
	if err != nil {
		return fmt.Errorf("sorting rows: %w", err)
	}
	s.runs = append(s.runs, f)
	w := bufio.NewWriterSize(f, 256<<10)
	var scratch [binary.MaxVarintLen64]byte
	for _, row := range s.buf {
		w.Write(scratch[:binary.PutUvarint(scratch[:], uint64(len(row)))])
		for _, c := range row {
			w.Write(scratch[:binary.PutUvarint(scratch[:], uint64(len(c)))])
			w.WriteString(c)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("sorting rows: writing %s: %w", f.Name(), err)
	}
	clear(s.buf)
	s.buf, s.bytes = s.buf[:0], 0
	return nil
}

// Iter returns the rows in order. Call it once, after the last Add; Close
// the iterator (or the sorter) to remove the temp files.
func (s *Sorter) Iter() (*Iter, error) {
	if len(s.runs) == 0 {
		s.sortBuf()
		return &Iter{mem: s.buf, s: s}, nil
	}
	if len(s.buf) > 0 {
		if err := s.spill(); err != nil {
			return nil, err
		}
	}
	it := &Iter{s: s, h: &mergeHeap{cmp: s.cmp}}
	for i, f := range s.runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		r := &run{idx: i, r: bufio.NewReaderSize(f, 64<<10)}
		ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if ok {
			it.h.runs = append(it.h.runs, r)
		}
	}
	heap.Init(it.h)
	return it, nil
}

// Close removes the temp files.
func (s *Sorter) Close() error {
	var errs []error
	for _, f := range s.runs {
		errs = append(errs, f.Close(), os.Remove(f.Name()))
	}
	s.runs, s.buf = nil, nil
	return errors.Join(errs...)
}

// Iter walks the sorted rows.
type Iter struct {
	s   *Sorter
	mem [][]string
	i   int
	h   *mergeHeap
	cur []string
	err error
}

// Next advances to the next row.
func (it *Iter) Next() bool {
	if it.err != nil {
		return false
	}
	if it.h == nil {
		if it.i >= len(it.mem) {
			return false
		}
		it.cur = it.mem[it.i]
		it.mem[it.i] = nil
		it.i++
		return true
	}
	if it.h.Len() == 0 {
		return false
	}
	top := it.h.runs[0]
	it.cur = top.row
	ok, err := top.next()
	switch {
	case err != nil:
		it.err = err
		return false
	case ok:
		heap.Fix(it.h, 0)
	default:
		heap.Pop(it.h)
	}
	return true
}

// Row returns the current row; it stays valid after Next.
func (it *Iter) Row() []string { return it.cur }

// Err returns the error that stopped the iteration, if any.
func (it *Iter) Err() error { return it.err }

// Close removes the sorter's temp files.
func (it *Iter) Close() error { return it.s.Close() }

type run struct {
	idx int
	r   *bufio.Reader
	row []string
	buf []byte // the current row's text, reused
}

func (r *run) next() (bool, error) {
	n, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sorting rows: reading run: %w", err)
	}
	// One allocation for the row's text: the cells are slices of it.
	lens := make([]int, n)
	r.buf = r.buf[:0]
	for i := range lens {
		l, err := binary.ReadUvarint(r.r)
		if err != nil {
			return false, fmt.Errorf("sorting rows: reading run: %w", err)
		}
		lens[i] = int(l)
		start := len(r.buf)
		r.buf = slices.Grow(r.buf, int(l))[:start+int(l)]
		if _, err := io.ReadFull(r.r, r.buf[start:]); err != nil {
			return false, fmt.Errorf("sorting rows: reading run: %w", err)
		}
	}
	text := string(r.buf)
	row := make([]string, n)
	for i, l := range lens {
		row[i], text = text[:l], text[l:]
	}
	r.row = row
	return true, nil
}

// mergeHeap orders runs by their current row, then by run index so that
// equal rows come out in the order they were added.
type mergeHeap struct {
	cmp  Compare
	runs []*run
}

func (h *mergeHeap) Len() int { return len(h.runs) }
func (h *mergeHeap) Less(i, j int) bool {
	if c := h.cmp(h.runs[i].row, h.runs[j].row); c != 0 {
		return c < 0
	}
	return h.runs[i].idx < h.runs[j].idx
}
func (h *mergeHeap) Swap(i, j int) { h.runs[i], h.runs[j] = h.runs[j], h.runs[i] }
func (h *mergeHeap) Push(x any)    { h.runs = append(h.runs, x.(*run)) }
func (h *mergeHeap) Pop() any {
	old := h.runs
	x := old[len(old)-1]
	h.runs = old[:len(old)-1]
	return x
}
