package merkle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// tileAtWidth returns tile 0/0 of the tree of the first w test leaves, the
// tree (with the tiles above it) and its root.
func tileAtWidth(t *testing.T, w int) (*Tile, *grownTree) {
	t.Helper()
	g := growTree(t, testLeaves(w), w)
	tile := g.tiles[TileID{}]
	require.Equal(t, w, tile.Width())
	return tile, g
}

// hashAt locates byte off (past the 2-byte width) of a tile encoding of
// width w: the level and position of the hash it belongs to.
func hashAt(w, off int) TileNode {
	i := (off - 2) / HashSize
	for r := 0; ; r++ {
		if i < w>>r {
			return TileNode{Level: uint8(r), Pos: i}
		}
		i -= w >> r
	}
}

// detectable reports whether UnmarshalTile notices a change to node n of a
// tile of width w: an interior node is checked against its children, and a
// node with a parent in the tile against that parent. Only the last bottom
// hash of a tile of odd width has neither.
func detectable(w int, n TileNode) bool {
	return n.Level > 0 || n.Pos < 2*(w>>1)
}

// TestUnmarshalTileFlippedBytes flips one bit in every byte of stored
// tiles of many widths (one byte of every hash in the widest). UnmarshalTile must reject every flip except one in
// the last bottom hash of a tile of odd width (see the package doc); for
// that one, the test shows that the root read through the corrupted tile
// is no longer the tree's root.
func TestUnmarshalTileFlippedBytes(t *testing.T) {
	for _, w := range []int{1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 100, 127, 128, 129, 255, 256} {
		t.Run(fmt.Sprint("width ", w), func(t *testing.T) {
			tile, g := tileAtWidth(t, w)
			good, err := tile.MarshalBinary()
			require.NoError(t, err)
			_, err = UnmarshalTile(tile.ID(), good)
			require.NoError(t, err)
			unchecked := map[TileNode]bool{}
			for off := range good {
				// Every hash reacts alike to a flip in any of its bytes:
				// in wide tiles flip one byte per hash (a different one
				// from hash to hash), in narrow ones every byte.
				if w > 100 && off >= 2 && (off-2)%HashSize != ((off-2)/HashSize)%HashSize {
					continue
				}
				bad := append([]byte(nil), good...)
				bad[off] ^= 1 << (off % 8)
				_, err := UnmarshalTile(tile.ID(), bad)
				if off < 2 {
					if !errors.Is(err, ErrMalformedTile) {
						t.Fatalf("flipped width byte %d accepted: %v", off, err)
					}
					continue
				}
				n := hashAt(w, off)
				if detectable(w, n) {
					if !errors.Is(err, ErrMalformedTile) {
						t.Fatalf("flipped byte %d (node %d/%d) accepted: %v", off, n.Level, n.Pos, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("flip in unchecked node %d/%d rejected: %v", n.Level, n.Pos, err)
				}
				if !unchecked[n] {
					unchecked[n] = true
					requireRootCheckCatches(t, g, bad, n)
				}
			}
			if w%2 == 1 {
				require.Equal(t, map[TileNode]bool{{Level: 0, Pos: w - 1}: true}, unchecked)
			} else {
				require.Empty(t, unchecked)
			}
		})
	}
}

// requireRootCheckCatches serves the corrupted encoding of tile 0/0 in
// place of the good one and checks that the root computed through it is
// not the tree's root: the last bottom hash of a partial tile is on the
// tree's right edge, so every root and proof at that size depends on it.
func requireRootCheckCatches(t *testing.T, g *grownTree, bad []byte, n TileNode) {
	t.Helper()
	corrupt, err := UnmarshalTile(TileID{}, bad)
	require.NoError(t, err)
	tiles := mapTiles{TileID{}: corrupt}
	got, err := RootHash(g.app.Size(), TileHashReader{Tiles: tiles})
	require.NoError(t, err)
	require.NotEqual(t, g.app.Root(), got, "corrupted node %d/%d left the root unchanged", n.Level, n.Pos)
	if g.app.Size() > 1 {
		// Leaf 0's proof carries the unpaired last hash as is.
		p, err := InclusionProof(0, g.app.Size(), TileHashReader{Tiles: tiles})
		require.NoError(t, err)
		var rm *RootMismatchError
		require.ErrorAs(t, VerifyInclusion(g.leaves[0], 0, g.app.Size(), p, g.app.Root()), &rm)
	}
}

func TestUnmarshalTileWrongLengths(t *testing.T) {
	for _, w := range []int{1, 2, 3, 128, 255, 256} {
		t.Run(fmt.Sprint("width ", w), func(t *testing.T) {
			tile, _ := tileAtWidth(t, w)
			good, err := tile.MarshalBinary()
			require.NoError(t, err)
			long := append(append([]byte(nil), good...), make([]byte, 2*HashSize)...)
			for n := 0; n <= len(long); n++ {
				if n == len(good) {
					continue
				}
				if _, err := UnmarshalTile(tile.ID(), long[:n]); !errors.Is(err, ErrMalformedTile) {
					t.Fatalf("length %d of %d accepted: %v", n, len(good), err)
				}
			}
		})
	}
	t.Run("width field", func(t *testing.T) {
		tile, _ := tileAtWidth(t, 5)
		good, err := tile.MarshalBinary()
		require.NoError(t, err)
		for _, w := range []uint16{0, 4, 6, 257, 0xffff} {
			bad := append([]byte(nil), good...)
			binary.BigEndian.PutUint16(bad, w)
			_, err := UnmarshalTile(tile.ID(), bad)
			require.ErrorIs(t, err, ErrMalformedTile, "width %d", w)
		}
		_, err = UnmarshalTile(tile.ID(), []byte{0, 0})
		require.ErrorIs(t, err, ErrMalformedTile)
	})
}

func TestTileFromC2SPErrors(t *testing.T) {
	for _, n := range []int{0, 1, HashSize - 1, HashSize + 1, 3*HashSize - 1, (TileWidth + 1) * HashSize} {
		_, err := TileFromC2SP(TileID{Level: 1, Index: 2}, make([]byte, n))
		require.ErrorIs(t, err, ErrMalformedTile, "%d bytes", n)
	}
}

func TestTileAccessors(t *testing.T) {
	tile, g := tileAtWidth(t, 200)
	require.False(t, tile.Full())
	require.Equal(t, g.leaves, tile.Bottom())
	require.Panics(t, func() { tile.Root() })
	data, err := tile.MarshalBinary()
	require.NoError(t, err)
	tests := []struct {
		name string
		node TileNode
		ok   bool
	}{
		{"first leaf", TileNode{0, 0}, true},
		{"last leaf", TileNode{0, 199}, true},
		{"past the width", TileNode{0, 200}, false},
		{"negative position", TileNode{0, -1}, false},
		{"last of level 3", TileNode{3, 24}, true},
		{"past level 3", TileNode{3, 25}, false},
		{"top level", TileNode{7, 0}, true},
		{"second of top level", TileNode{7, 1}, false},
		{"level 8", TileNode{8, 0}, false},
	}
	ref := newRefTree(g.leaves)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := tile.Hash(tc.node)
			require.Equal(t, tc.ok, ok)
			h2, ok2 := NodeFromTileData(data, tc.node)
			require.Equal(t, tc.ok, ok2)
			require.Equal(t, h, h2)
			if ok {
				lo := uint64(tc.node.Pos) << tc.node.Level
				require.Equal(t, ref.MTH(lo, lo+1<<tc.node.Level), h)
			}
		})
	}
	_, ok := NodeFromTileData(data[:len(data)-1], TileNode{7, 0})
	require.False(t, ok, "short data")
	_, ok = NodeFromTileData(nil, TileNode{0, 0})
	require.False(t, ok, "no data")

	for _, w := range []int{0, -1, 201} {
		_, err := tile.Prefix(w)
		require.ErrorIs(t, err, ErrMalformedTile)
	}
	for _, w := range []int{1, 2, 99, 128, 200} {
		p, err := tile.Prefix(w)
		require.NoError(t, err)
		want, _ := tileAtWidth(t, w)
		require.Equal(t, want, p)
	}

	full, fg := tileAtWidth(t, TileWidth)
	require.True(t, full.Full())
	require.Equal(t, newRefTree(fg.leaves).Root(TileWidth), full.Root())
}

func TestTileWidthAt(t *testing.T) {
	tests := []struct {
		size uint64
		id   TileID
		want int
	}{
		{0, TileID{0, 0}, 0},
		{1, TileID{0, 0}, 1},
		{255, TileID{0, 0}, 255},
		{256, TileID{0, 0}, 256},
		{256, TileID{0, 1}, 0},
		{256, TileID{1, 0}, 1},
		{257, TileID{0, 1}, 1},
		{70000, TileID{0, 273}, 70000 - 273*256},
		{70000, TileID{1, 0}, 256},
		{70000, TileID{1, 1}, 70000/256 - 256},
		{70000, TileID{2, 0}, 1},
		{70000, TileID{3, 0}, 0},
		{^uint64(0), TileID{7, 0}, 255},
		{^uint64(0), TileID{8, 0}, 0},
		{^uint64(0), TileID{255, ^uint64(0)}, 0},
		{^uint64(0), TileID{0, ^uint64(0) / 256}, 255},
		{^uint64(0), TileID{0, ^uint64(0)/256 - 1}, 256},
		{^uint64(0), TileID{0, ^uint64(0)}, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%v", tt.size, tt.id), func(t *testing.T) {
			if got := TileWidthAt(tt.size, tt.id); got != tt.want {
				t.Fatalf("TileWidthAt(%d, %v) = %d, want %d", tt.size, tt.id, got, tt.want)
			}
		})
	}
}
