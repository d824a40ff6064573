// Package memstore is an in-memory [ledger.Store] for tests, examples and
// short-lived processes. Nothing survives the process; everything else
// (sequencing, exact deduplication, tiles, proofs) is the same code as the
// durable stores, package tilestore.
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"github.com/healthledger/healthledger/merkle"
)

// Store is an in-memory ledger.Store. It is safe for concurrent use.
type Store struct {
	*tilestore.Store
	b *backend
}

var _ ledger.Store = (*Store)(nil)

// New returns an empty in-memory store. It holds up to 2^40 - 1 leaves
// (its hash index keeps 40-bit indices): an Add beyond that fails and
// stores nothing.
func New() *Store {
	b := &backend{
		index:    newHashIndex(),
		capacity: maxIndexedLeaves,
		subjects: make(map[ledger.SubjectTag]*[]uint64),
		tiles:    make(map[merkle.TileID][]byte),
		payloads: make(map[uint64][]byte),
		erased:   make(map[uint64]uint64),
	}
	ts, err := tilestore.Open(context.Background(), tilestore.Config{Backend: b})
	if err != nil {
		// An empty backend cannot fail to open.
		panic(fmt.Sprintf("memstore: %v", err))
	}
	return &Store{Store: ts, b: b}
}

// FailNextCommit makes the next commit fail with err, as a disk would, so
// that tests can check that a failed append changes nothing.
func (s *Store) FailNextCommit(err error) {
	s.b.mu.Lock()
	s.b.failNext = err
	s.b.mu.Unlock()
}

type backend struct {
	mu         sync.RWMutex    // guards every field below
	leaves     chunked[[]byte] // slices of one arena per commit
	index      *hashIndex
	capacity   uint64                          // the most leaves it holds: maxIndexedLeaves (lowered by tests)
	subjects   map[ledger.SubjectTag]*[]uint64 // one lookup per leaf, not a lookup and an assign
	tiles      map[merkle.TileID][]byte
	payloads   map[uint64][]byte // payloads beside the leaves, by index
	erased     map[uint64]uint64 // erased payloads: index -> erasure entry
	head       ledger.TreeHead
	checkpoint []byte
	failNext   error
	closed     bool
}

func (b *backend) Commit(ctx context.Context, c *tilestore.Commit) error {
	// One copy of all the batch's leaves: the store keeps none of the
	// caller's slices, and pays one allocation per commit, not per leaf.
	// bytes.Join allocates it without zeroing what it overwrites. The
	// copies are made before taking the lock, which every dedup lookup
	// (ReadIndex, from each appending goroutine) waits for.
	data := make([][]byte, len(c.Leaves))
	for i, l := range c.Leaves {
		data[i] = l.Data
	}
	arena := bytes.Join(data, nil)
	checkpoint := bytes.Clone(c.Checkpoint)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ledger.ErrClosed
	}
	if err := b.failNext; err != nil {
		b.failNext = nil
		return err
	}
	for i, l := range c.Leaves {
		if l.Index != b.leaves.len()+uint64(i) {
			return fmt.Errorf("memstore: leaf index %d, expected %d", l.Index, b.leaves.len()+uint64(i))
		}
		if l.Index >= b.capacity {
			return fmt.Errorf("memstore: leaf index %d, the store holds at most %d leaves", l.Index, b.capacity)
		}
	}
	start := 0
	for _, l := range c.Leaves {
		end := start + len(l.Data)
		b.leaves.append(arena[start:end:end])
		start = end
		b.index.add(l.Hash) // at l.Index: the leaves follow each other
		list := b.subjects[l.Subject]
		if list == nil {
			list = new([]uint64)
			b.subjects[l.Subject] = list
		}
		*list = append(*list, l.Index)
		if l.Payload != nil {
			b.payloads[l.Index] = append([]byte(nil), l.Payload...)
		}
	}
	for _, t := range c.Tiles {
		b.tiles[t.ID] = t.Data
	}
	b.head = c.Head
	b.checkpoint = checkpoint
	return nil
}

func (b *backend) ReadHead(ctx context.Context) (ledger.TreeHead, []byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.head.Size == 0 {
		return ledger.TreeHead{}, nil, ledger.ErrEmptyLog
	}
	return b.head, b.checkpoint, nil
}

func (b *backend) ReadLeaf(ctx context.Context, index uint64) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if index >= b.leaves.len() {
		return nil, fmt.Errorf("%w: leaf %d", ledger.ErrNotFound, index)
	}
	return append([]byte(nil), *b.leaves.at(index)...), nil
}

func (b *backend) ReadIndex(ctx context.Context, h merkle.Hash) (uint64, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	idx, ok := b.index.get(h)
	if !ok {
		// Every new entry's dedup lookup ends here: no allocation.
		return 0, errHashNotFound
	}
	return idx, nil
}

// errHashNotFound is ReadIndex's answer for a leaf hash not in the index.
var errHashNotFound = fmt.Errorf("%w: leaf hash", ledger.ErrNotFound)

func (b *backend) ReadPayload(ctx context.Context, index uint64) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if by, ok := b.erased[index]; ok {
		return nil, &ledger.ErasedError{Index: index, ErasedBy: by}
	}
	p, ok := b.payloads[index]
	if !ok {
		return nil, fmt.Errorf("%w: no payload at %d", ledger.ErrNotFound, index)
	}
	return append([]byte(nil), p...), nil
}

func (b *backend) ErasePayloads(ctx context.Context, indices []uint64, erasedBy uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ledger.ErrClosed
	}
	for _, i := range indices {
		if p, ok := b.payloads[i]; ok {
			clear(p) // no copy of the bytes stays in memory
			delete(b.payloads, i)
			b.erased[i] = erasedBy
		}
	}
	return nil
}

func (b *backend) ReadTile(ctx context.Context, id merkle.TileID) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	data, ok := b.tiles[id]
	if !ok {
		return nil, fmt.Errorf("%w: tile %v", ledger.ErrNotFound, id)
	}
	return data, nil
}

func (b *backend) ScanSubject(ctx context.Context, s ledger.SubjectTag, start uint64, limit int) ([]uint64, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if limit <= 0 {
		return nil, nil
	}
	var all []uint64
	if list := b.subjects[s]; list != nil {
		all = *list
	}
	i := sort.Search(len(all), func(i int) bool { return all[i] >= start })
	end := i + min(len(all)-i, limit) // never i+limit, which can overflow
	return append([]uint64(nil), all[i:end]...), nil
}

func (b *backend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}
