package trillianstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// mirror is the store's own copy of the tree's hashes, kept as C2SP tiles
// (with their interior nodes), from which it computes inclusion and
// consistency proofs, roots and hash tiles without an RPC each.
//
// Nothing enters the mirror unchecked against a root Trillian served (one
// of the heads of the consistency-checked chain that observe keeps):
//
//   - The right edge (the partial tile of every tile level, a
//     merkle.Appender) is extended with the hashes of new leaves, read
//     from Trillian or known from this store's own Add, and the root the
//     Appender then computes must equal the root of the Trillian head of
//     that size; otherwise nothing is kept and the error is ErrCorrupt.
//     Every hash of the new tiles is under that root, so the check covers
//     all of them. When the mirror ends at the newest head seen, the same
//     check proves a root polled without a consistency proof consistent
//     with that head (it is that head plus these leaves), and the root
//     joins the chain (adoptKnown, adoptRead).
//   - When the mirror starts on a non-empty tree (a reopened store) or
//     skips far ahead, its edge tiles are read from Trillian and checked
//     the same way (the Appender's root must be the head's root).
//   - Full tiles left of the start, or evicted from the cache, are
//     computed from Trillian's leaves and proofs and checked against a
//     head's root (tiles.go) before they are used.
//
// Full tiles never change. Config.TileCacheSize of them are kept (about
// 16 KiB each, interior included), evicting the oldest level-0 tiles
// first; the others are read again from Trillian when a proof needs them.
type mirror struct {
	// extend serializes extensions of the edge (which may wait for RPCs);
	// it is taken before mu, never after.
	extend sync.Mutex

	// mu guards the fields below; it is held only briefly.
	mu sync.Mutex
	// edge is the right edge of the tree of head.Size leaves; nil until
	// the mirror is first used. An installed Appender is never modified
	// (extensions work on a clone), so readers may keep using one after
	// releasing mu.
	edge *merkle.Appender
	// head is the Trillian head the edge was checked against.
	head ledger.TreeHead
	// full holds full tiles, evicted first in, first out: level-0 tiles
	// (order0) first, tiles above (orderUp, at most one for 255 below, and
	// each one costly to read again) only when no level-0 tile is left.
	full            map[merkle.TileID]*merkle.Tile
	order0, orderUp []merkle.TileID
	limit           int
}

// catchUpReadLimit is the largest gap the mirror fills by reading leaves;
// a larger one restarts the mirror at the new head (reading its edge), and
// the tiles in between are read when a proof needs them.
const catchUpReadLimit = 1 << 20

// snapshot returns the current edge and the head it was checked against.
func (m *mirror) snapshot() (*merkle.Appender, ledger.TreeHead) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.edge, m.head
}

// cached returns a full tile from the cache.
func (m *mirror) cached(id merkle.TileID) *merkle.Tile {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.full[id]
}

// keep adds full tiles to the cache. The caller holds m.mu.
func (m *mirror) keep(tiles ...*merkle.Tile) {
	if m.full == nil {
		m.full = make(map[merkle.TileID]*merkle.Tile)
	}
	for _, t := range tiles {
		if !t.Full() {
			continue
		}
		if _, ok := m.full[t.ID()]; ok {
			continue
		}
		if len(m.full) >= m.limit {
			if len(m.order0) > 0 {
				delete(m.full, m.order0[0])
				m.order0 = m.order0[1:]
			} else {
				delete(m.full, m.orderUp[0])
				m.orderUp = m.orderUp[1:]
			}
		}
		m.full[t.ID()] = t
		if t.ID().Level == 0 {
			m.order0 = append(m.order0, t.ID())
		} else {
			m.orderUp = append(m.orderUp, t.ID())
		}
	}
}

// install makes edge (checked against head) the current edge and caches
// the full tiles that changed on the way.
func (m *mirror) install(edge *merkle.Appender, head ledger.TreeHead, changed []*merkle.Tile) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keep(changed...)
	m.edge, m.head = edge, head
}

// mirrorTo makes the mirror cover head, a head from observe: it reads the
// leaves the mirror lacks (or, for a gap over catchUpReadLimit or a first
// use, the edge tiles of head) and checks the result against head's root.
// A head not newer than the mirror's changes nothing.
func (s *Store) mirrorTo(ctx context.Context, head ledger.TreeHead) error {
	m := &s.mirror
	m.extend.Lock()
	defer m.extend.Unlock()
	edge, at := m.snapshot()
	if edge != nil && head.Size <= at.Size {
		return nil
	}
	if edge == nil || head.Size-at.Size > catchUpReadLimit {
		return s.restartMirror(ctx, head)
	}
	next := edge.Clone()
	changed, err := s.readInto(ctx, next, head.Size)
	if err != nil {
		return err
	}
	if next.Root() != head.Root {
		return corruptf("leaves [%d, %d) do not give the root of tree size %d", at.Size, head.Size, head.Size)
	}
	m.install(next, head, changed)
	return nil
}

// readInto appends to edge the hashes of the leaves [edge.Size(), size),
// read from Trillian, and returns the tiles that changed.
func (s *Store) readInto(ctx context.Context, edge *merkle.Appender, size uint64) ([]*merkle.Tile, error) {
	var changed []*merkle.Tile
	for edge.Size() < size {
		n := int(min(size-edge.Size(), uint64(s.cfg.BatchSize)))
		leaves, err := s.leavesByRange(ctx, edge.Size(), n)
		if err != nil {
			return nil, err
		}
		hashes := make([]merkle.Hash, len(leaves))
		for i, l := range leaves {
			copy(hashes[i][:], l.MerkleLeafHash) // checked by leavesByRange
		}
		changed = append(changed, edge.Append(hashes)...)
	}
	return changed, nil
}

// adoptRead is adoptKnown for leaves this store did not send: for a root
// fetched without a consistency proof, it reads the leaves the mirror
// lacks and, if they give that root and the mirror ended at the newest
// head seen, extends the mirror and makes root the newest head seen. It
// returns false, changing nothing, when it cannot (the caller then
// observes the head with its proof).
func (s *Store) adoptRead(ctx context.Context, root ledger.TreeHead) (bool, error) {
	m := &s.mirror
	m.extend.Lock()
	defer m.extend.Unlock()
	edge, at := m.snapshot()
	if edge == nil || root.Size <= at.Size || root.Size-at.Size > catchUpReadLimit || !s.isSeen(at) {
		return false, nil
	}
	next := edge.Clone()
	changed, err := s.readInto(ctx, next, root.Size)
	if err != nil || next.Root() != root.Root {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.haveSeen || s.seen != at {
		return false, nil
	}
	s.seen = root
	m.install(next, root, changed)
	return true, nil
}

// isSeen reports whether head is the newest head seen.
func (s *Store) isSeen(head ledger.TreeHead) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.haveSeen && s.seen == head
}

// mirrorKnown extends the mirror, which must end at start, with the hashes
// of leaves this store just saw integrated at [start, head.Size), checking
// them against head's root. It returns false, changing nothing, if the
// mirror does not end at start or the hashes are not the tree's (the
// caller then reads the range instead).
func (s *Store) mirrorKnown(head ledger.TreeHead, start uint64, hashes []merkle.Hash) bool {
	return s.extendKnown(head, start, hashes, false)
}

// adoptKnown is mirrorKnown for a root fetched without a consistency
// proof: it extends the mirror, which must end at start and at the newest
// head seen, with hashes, and if that gives head's root it makes head the
// newest head seen (the extension proves it consistent with the one
// before). It returns false, changing nothing, otherwise.
func (s *Store) adoptKnown(head ledger.TreeHead, start uint64, hashes []merkle.Hash) bool {
	return s.extendKnown(head, start, hashes, true)
}

// extendKnown is mirrorKnown, and with adopt adoptKnown.
func (s *Store) extendKnown(head ledger.TreeHead, start uint64, hashes []merkle.Hash, adopt bool) bool {
	m := &s.mirror
	m.extend.Lock()
	defer m.extend.Unlock()
	edge, at := m.snapshot()
	if edge == nil || at.Size != start || start+uint64(len(hashes)) != head.Size {
		return false
	}
	next := edge.Clone()
	changed := next.Append(hashes)
	if next.Root() != head.Root {
		return false
	}
	if adopt {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.haveSeen || s.seen != at {
			return false
		}
		s.seen = head
	}
	m.install(next, head, changed)
	return true
}

// restartMirror starts the mirror at head: it reads the edge tiles of head
// from Trillian and checks them against head's root. The caller holds
// m.extend.
func (s *Store) restartMirror(ctx context.Context, head ledger.TreeHead) error {
	r := &fetchTiles{ctx: ctx, s: s, head: head}
	edge, err := merkle.NewAppender(head.Size, r)
	if err != nil {
		if r.err != nil {
			return r.err
		}
		return corruptf("edge tiles of tree size %d: %v", head.Size, err)
	}
	if edge.Root() != head.Root {
		return corruptf("edge tiles do not give the root of tree size %d", head.Size)
	}
	s.mirror.install(edge, head, nil)
	return nil
}

// fetchTiles is a merkle.TileReader that computes tiles of the tree of
// head from Trillian's leaves and proofs, checked against head's root.
type fetchTiles struct {
	ctx  context.Context
	s    *Store
	head ledger.TreeHead
	err  error // the last RPC or corruption error, for the caller
}

func (r *fetchTiles) ReadTile(id merkle.TileID, width int) (*merkle.Tile, error) {
	var hashes []merkle.Hash
	var err error
	if id.Level == 0 {
		_, hashes, err = r.s.checkedLeaves(r.ctx, r.head, id.Index, width)
	} else {
		hashes, err = r.s.upperTile(r.ctx, r.head, id, width)
	}
	if err != nil {
		r.err = err
		return nil, err
	}
	content := make([]byte, 0, len(hashes)*merkle.HashSize)
	for _, h := range hashes {
		content = append(content, h[:]...)
	}
	return merkle.TileFromC2SP(id, content)
}

// mirrorTiles is the merkle.TileReader that proofs are computed from: the
// edge of one snapshot, then the cache of full tiles, then full tiles
// computed from Trillian (checked against the snapshot's head) and cached.
type mirrorTiles struct {
	ctx  context.Context
	s    *Store
	edge []*merkle.Tile // the snapshot's edge tiles
	head ledger.TreeHead
	err  error // the last RPC or corruption error, for the caller
}

// tilesAt returns a reader of the mirror covering at least size leaves
// (size at most the newest head observe returned), catching the mirror
// up first if needed.
func (s *Store) tilesAt(ctx context.Context, size uint64) (*mirrorTiles, error) {
	edge, head := s.mirror.snapshot()
	if edge == nil || head.Size < size {
		s.mu.Lock()
		seen := s.seen
		s.mu.Unlock()
		if seen.Size < size {
			var err error
			if seen, err = s.observe(ctx); err != nil {
				return nil, err
			}
		}
		if seen.Size < size {
			return nil, notFoundf("tree size %d not reached (size %d)", size, seen.Size)
		}
		if err := s.mirrorTo(ctx, seen); err != nil {
			return nil, err
		}
		edge, head = s.mirror.snapshot()
	}
	return &mirrorTiles{ctx: ctx, s: s, edge: edge.EdgeTiles(), head: head}, nil
}

func (r *mirrorTiles) ReadTile(id merkle.TileID, width int) (*merkle.Tile, error) {
	for _, t := range r.edge {
		if t.ID() == id && t.Width() >= width {
			return t, nil
		}
	}
	if t := r.s.mirror.cached(id); t != nil {
		return t, nil
	}
	if merkle.TileWidthAt(r.head.Size, id) != merkle.TileWidth {
		return nil, fmt.Errorf("%w: tile %v is not in the mirror", merkle.ErrMissingNode, id)
	}
	f := &fetchTiles{ctx: r.ctx, s: r.s, head: r.head}
	t, err := f.ReadTile(id, merkle.TileWidth)
	if err != nil {
		r.err = err
		return nil, err
	}
	r.s.mirror.mu.Lock()
	r.s.mirror.keep(t)
	r.s.mirror.mu.Unlock()
	return t, nil
}

// failure returns the error to report for a failed computation over the
// mirror: the RPC or corruption error behind it, or ErrCorrupt.
func (r *mirrorTiles) failure(what string, err error) error {
	if r.err != nil {
		return r.err
	}
	return corruptf("%s from the store's tiles: %v", what, err)
}

// leafHashes returns the hashes of leaves [from, to), from the mirror.
func (r *mirrorTiles) leafHashes(from, to uint64) ([]merkle.Hash, error) {
	out := make([]merkle.Hash, 0, to-from)
	for i := from; i < to; {
		id := merkle.TileID{Level: 0, Index: i / merkle.TileWidth}
		end := min(to, (id.Index+1)*merkle.TileWidth)
		t, err := r.ReadTile(id, int(end-id.Index*merkle.TileWidth))
		if err != nil {
			return nil, r.failure("leaf hashes", err)
		}
		for ; i < end; i++ {
			h, ok := t.Hash(merkle.TileNode{Level: 0, Pos: int(i - id.Index*merkle.TileWidth)})
			if !ok {
				return nil, corruptf("leaf hash %d missing from tile %v", i, id)
			}
			out = append(out, h)
		}
	}
	return out, nil
}

// proof returns the inclusion proof of leaf index in the tree of size,
// computed from the mirror and verified for the leaf hash leaf against
// root, the root of size.
func (r *mirrorTiles) proof(index, size uint64, root, leaf merkle.Hash) ([]merkle.Hash, error) {
	p, err := merkle.InclusionProof(index, size, merkle.TileHashReader{Tiles: r})
	if err != nil {
		return nil, r.failure("inclusion proof", err)
	}
	if err := merkle.VerifyInclusion(leaf, index, size, p, root); err != nil {
		return nil, corruptf("inclusion proof of leaf %d in size %d: %v", index, size, err)
	}
	return p, nil
}

// root returns the root of the tree of size (at most the snapshot's head).
func (r *mirrorTiles) root(size uint64) (merkle.Hash, error) {
	if size == r.head.Size {
		return r.head.Root, nil
	}
	h, err := merkle.RootHash(size, merkle.TileHashReader{Tiles: r})
	if err != nil {
		return merkle.Hash{}, r.failure("root", err)
	}
	return h, nil
}
