package tilestore

import (
	"context"
	"fmt"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// tileRange checks a tile request against the published size.
func (s *Store) tileRange(id merkle.TileID, width int) error {
	size := s.state.Load().head.Size
	if avail := merkle.TileWidthAt(size, id); width < 1 || width > avail {
		return fmt.Errorf("%w: tile %v of width %d in a tree of size %d", ledger.ErrNotFound, id, width, size)
	}
	return nil
}

// Tile implements ledger.Store. It serves the bottom row of the stored tile
// (a full tile is stored with its interior, a partial one as its C2SP
// content; see EncodeTile), cut to width. The bytes are checked by length
// only: a client verifies them against a signed root, and Check against
// the leaves. The returned slice is the store's own: callers must not
// modify it.
func (s *Store) Tile(ctx context.Context, level uint8, index uint64, width int) ([]byte, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	id := merkle.TileID{Level: level, Index: index}
	if err := s.tileRange(id, width); err != nil {
		return nil, err
	}
	n := width * merkle.HashSize
	if t := s.cache.get(id); t != nil && t.Width() >= width {
		// The tile's encoding starts with its bottom row after the
		// 2-byte width; it is immutable and never modified by callers.
		data, _ := t.MarshalBinary()
		return data[2 : 2+n : 2+n], nil
	}
	data, err := s.backend.ReadTile(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("tilestore: reading tile %v: %w", id, err)
	}
	row := data
	if len(data)%merkle.HashSize != 0 {
		// Full tile with interior: a 2-byte width, then the bottom row.
		if len(data) < 2 {
			return nil, fmt.Errorf("%w: tile %v of %d bytes", ledger.ErrCorrupt, id, len(data))
		}
		row = data[2:]
	}
	if len(row) < n {
		return nil, fmt.Errorf("%w: tile %v holds fewer than %d hashes", ledger.ErrCorrupt, id, width)
	}
	// The backend's bytes are not modified by its callers either.
	return row[:n:n], nil
}

// EntryBundle implements ledger.Store. Every leaf is checked against its
// hash in the tree's level-0 tile before it is served.
func (s *Store) EntryBundle(ctx context.Context, index uint64, width int) ([]byte, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	if err := s.tileRange(merkle.TileID{Level: 0, Index: index}, width); err != nil {
		return nil, err
	}
	first := index * merkle.TileWidth
	ids := make([]merkle.NodeID, width)
	for i := range ids {
		ids[i] = merkle.NewNodeID(0, first+uint64(i))
	}
	want := make([]merkle.Hash, width)
	if err := s.readHashes(ctx, ids, want); err != nil {
		return nil, err
	}
	leaves := make([][]byte, width)
	for i := range leaves {
		leaf, err := s.backend.ReadLeaf(ctx, first+uint64(i))
		if err != nil {
			return nil, err
		}
		if merkle.HashLeaf(leaf) != want[i] {
			return nil, fmt.Errorf("%w: leaf %d does not match its tree hash", ledger.ErrCorrupt, first+uint64(i))
		}
		leaves[i] = leaf
	}
	b, err := ledger.EncodeEntryBundle(leaves)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ledger.ErrCorrupt, err)
	}
	return b, nil
}

// Payload implements ledger.Store.
func (s *Store) Payload(ctx context.Context, index uint64) ([]byte, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	if size := s.state.Load().head.Size; index >= size {
		return nil, fmt.Errorf("%w: index %d, log size %d", ledger.ErrNotFound, index, size)
	}
	return s.backend.ReadPayload(ctx, index)
}

// ErasePayloads implements ledger.Store. It is a write: it takes the lock
// Add takes, so Close waits for it.
func (s *Store) ErasePayloads(ctx context.Context, indices []uint64, erasedBy uint64) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed.Load() {
		return ledger.ErrClosed
	}
	size := s.state.Load().head.Size
	if erasedBy >= size {
		return fmt.Errorf("%w: erasure entry %d, log size %d", ledger.ErrNotFound, erasedBy, size)
	}
	for _, i := range indices {
		if i >= size {
			return fmt.Errorf("%w: index %d, log size %d", ledger.ErrNotFound, i, size)
		}
	}
	return s.backend.ErasePayloads(ctx, indices, erasedBy)
}
