package tilestore

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/healthledger/healthledger/merkle"
)

// prefixSet holds the first 8 bytes of every leaf hash in the log, so that
// the common case of deduplication, a leaf that is not in the log, needs no
// backend read: a prefix absent from the set means the hash is absent. A
// present prefix is confirmed with the backend's exact index, so the set
// never decides that a leaf exists. It costs about 20 bytes a leaf.
type prefixSet struct {
	mu sync.RWMutex // guards m
	m  map[uint64]struct{}
}

func prefixOf(h merkle.Hash) uint64 { return binary.BigEndian.Uint64(h[:8]) }

func (p *prefixSet) has(h merkle.Hash) bool {
	p.mu.RLock()
	_, ok := p.m[prefixOf(h)]
	p.mu.RUnlock()
	return ok
}

func (p *prefixSet) add(hs []IndexedLeaf) {
	p.mu.Lock()
	for _, l := range hs {
		p.m[prefixOf(l.Hash)] = struct{}{}
	}
	p.mu.Unlock()
}

// loadPrefixes fills the set from the bottom rows of the level-0 tiles of a
// tree of the given size: they hold every leaf hash, in order.
func (s *Store) loadPrefixes(ctx context.Context, size uint64) error {
	s.known = &prefixSet{m: make(map[uint64]struct{}, size)}
	for idx := uint64(0); idx*merkle.TileWidth < size; idx++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		id := merkle.TileID{Level: 0, Index: idx}
		w := int(min(size-idx*merkle.TileWidth, merkle.TileWidth))
		t, err := backendTiles{ctx: ctx, s: s}.ReadTile(id, w)
		if err != nil {
			return err
		}
		if t.Width() < w {
			return fmt.Errorf("tilestore: tile %v has width %d, need %d", id, t.Width(), w)
		}
		for _, h := range t.Bottom()[:w] {
			s.known.m[prefixOf(h)] = struct{}{}
		}
	}
	return nil
}
