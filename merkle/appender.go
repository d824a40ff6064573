package merkle

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
)

// TileReader reads stored tiles. ReadTile returns the tile id with at least
// width hashes in its bottom row (a wider tile is fine: a tile's prefix never
// changes).
type TileReader interface {
	ReadTile(id TileID, width int) (*Tile, error)
}

// Appender extends a tree kept as tiles. It holds the right edge of the tree
// (the partial tile of every tile level) in memory, so appending and
// computing the root do no reads. An Appender is not safe for concurrent
// use; the tiles it returns are immutable and may be shared.
type Appender struct {
	size uint64
	// edge[k] is the rightmost tile of tile level k, nil if it is empty.
	edge []*Tile
}

// NewAppender returns an Appender for an existing tree of the given size,
// reading its right-edge tiles from r (r is not used when size is 0).
func NewAppender(size uint64, r TileReader) (*Appender, error) {
	a := &Appender{size: size}
	for k := 0; size>>(TileHeight*k) > 0; k++ {
		count := size >> (TileHeight * k)
		id := TileID{Level: uint8(k), Index: count / TileWidth}
		w := int(count % TileWidth)
		if w == 0 {
			a.edge = append(a.edge, nil)
			continue
		}
		t, err := r.ReadTile(id, w)
		if err != nil {
			return nil, fmt.Errorf("merkle: reading edge tile %v: %w", id, err)
		}
		if t.width < w {
			return nil, fmt.Errorf("%w %v: width %d, need %d", ErrMissingNode, id, t.width, w)
		}
		if t, err = t.Prefix(w); err != nil {
			return nil, err
		}
		a.edge = append(a.edge, t)
	}
	return a, nil
}

// Size returns the number of leaves in the tree.
func (a *Appender) Size() uint64 { return a.size }

// Append adds leaf hashes to the tree and returns every tile that changed,
// in the new state each must be stored in (lower levels first). Full tiles
// that are returned never change again.
func (a *Appender) Append(leaves []Hash) []*Tile {
	var changed []*Tile
	pending := leaves
	for k := 0; len(pending) > 0; k++ {
		if k == len(a.edge) {
			a.edge = append(a.edge, nil)
		}
		count := (a.size >> (TileHeight * k))
		id := TileID{Level: uint8(k), Index: count / TileWidth}
		edge := a.edge[k]
		var up []Hash
		for len(pending) > 0 {
			w := 0
			if edge != nil {
				w = edge.width
			}
			take := min(TileWidth-w, len(pending))
			t := extendTile(edge, id, pending[:take])
			pending = pending[take:]
			changed = append(changed, t)
			if t.Full() {
				up = append(up, t.Root())
				edge, id = nil, TileID{Level: id.Level, Index: id.Index + 1}
			} else {
				edge = t
			}
		}
		a.edge[k] = edge
		pending = up
	}
	a.size += uint64(len(leaves))
	return changed
}

// Root returns the root hash of the tree.
func (a *Appender) Root() Hash {
	root, err := RootHash(a.size, a)
	if err != nil {
		// The edge holds every node of the compact range by construction.
		panic(fmt.Sprintf("merkle: appender edge inconsistent: %v", err))
	}
	return root
}

// ReadHashes implements HashReader for the nodes of the compact range
// [0, Size()), which live in the edge tiles.
func (a *Appender) ReadHashes(ids []NodeID, out []Hash) error {
	for i, id := range ids {
		tid, n := TileOf(id)
		if int(tid.Level) >= len(a.edge) || a.edge[tid.Level] == nil || a.edge[tid.Level].id != tid {
			return fmt.Errorf("%w: node %d/%d is not on the right edge", ErrMissingNode, id.Level, id.Index)
		}
		h, ok := a.edge[tid.Level].Hash(n)
		if !ok {
			return fmt.Errorf("%w: node %d/%d", ErrMissingNode, id.Level, id.Index)
		}
		out[i] = h
	}
	return nil
}

// EdgeTiles returns the tiles on the right edge (the partial tile of each
// level). Tile readers serving the tree's newest size may use them.
func (a *Appender) EdgeTiles() []*Tile {
	var out []*Tile
	for _, t := range a.edge {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// compactNodes returns the perfect nodes covering [0, size), left to right.
func compactNodes(size uint64) []NodeID {
	return compact.RangeNodes(0, size, make([]NodeID, 0, compact.RangeSize(0, size)))
}

// Clone returns an independent copy of a. Tiles are immutable and shared, so
// this is cheap: the caller can extend the clone and discard it if storing
// its tiles fails.
func (a *Appender) Clone() *Appender {
	return &Appender{size: a.size, edge: append([]*Tile(nil), a.edge...)}
}
