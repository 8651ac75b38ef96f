package mxone

import (
	"context"
	"sync"
)

// nameIndex maps the names of one kind to the platform's numeric ids and
// back. It is filled by a full listing and refreshed when a name or id is
// missing, so that references resolve without one lookup per row. Reads by
// key never use it: they always ask the target (a stale "absent" could make
// the runner repeat a create).
type nameIndex struct {
	kind string
	load func(ctx context.Context) (map[string][]int64, error)

	loadMu sync.Mutex // one listing at a time
	mu     sync.RWMutex
	ids    map[string][]int64
	names  map[int64]string
}

func newNameIndex(kind string, load func(ctx context.Context) (map[string][]int64, error)) *nameIndex {
	return &nameIndex{kind: kind, load: load}
}

// id resolves a name; usedBy says who needs it, for the error message.
func (x *nameIndex) id(ctx context.Context, name, usedBy string) (int64, error) {
	if id, n := x.lookup(name); n == 1 {
		return id, nil
	}
	if err := x.reload(ctx); err != nil {
		return 0, err
	}
	switch id, n := x.lookup(name); n {
	case 0:
		return 0, missingRef(x.kind, name, usedBy)
	case 1:
		return id, nil
	default:
		return 0, ambiguous(x.kind, name, n)
	}
}

// name resolves an id; "" when the target has no such record.
func (x *nameIndex) name(ctx context.Context, id int64) (string, error) {
	if id == 0 {
		return "", nil
	}
	x.mu.RLock()
	n, ok := x.names[id]
	x.mu.RUnlock()
	if ok {
		return n, nil
	}
	if err := x.reload(ctx); err != nil {
		return "", err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.names[id], nil
}

func (x *nameIndex) lookup(name string) (int64, int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	ids := x.ids[name]
	if len(ids) == 0 {
		return 0, 0
	}
	return ids[0], len(ids)
}

func (x *nameIndex) reload(ctx context.Context) error {
	x.loadMu.Lock()
	defer x.loadMu.Unlock()
	ids, err := x.load(ctx)
	if err != nil {
		return err
	}
	x.replace(ids)
	return nil
}

// replace installs a complete listing (also used by List, which has one).
func (x *nameIndex) replace(ids map[string][]int64) {
	names := make(map[int64]string, len(ids))
	for n, list := range ids {
		for _, id := range list {
			names[id] = n
		}
	}
	x.mu.Lock()
	x.ids, x.names = ids, names
	x.mu.Unlock()
}

// add records one name learnt from a create or a read.
func (x *nameIndex) add(name string, id int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ids == nil {
		x.ids, x.names = map[string][]int64{}, map[int64]string{}
	}
	for _, have := range x.ids[name] {
		if have == id {
			return
		}
	}
	x.ids[name] = append(x.ids[name], id)
	x.names[id] = name
}

// forget drops an id after a delete.
func (x *nameIndex) forget(id int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	name, ok := x.names[id]
	if !ok {
		return
	}
	delete(x.names, id)
	var keep []int64
	for _, have := range x.ids[name] {
		if have != id {
			keep = append(keep, have)
		}
	}
	if len(keep) == 0 {
		delete(x.ids, name)
	} else {
		x.ids[name] = keep
	}
}
