package merkle

import (
	"fmt"
	"maps"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAppenderClone checks that a clone extends independently: appending
// to it leaves the original as it was, and both reach the same state from
// the same leaves.
func TestAppenderClone(t *testing.T) {
	leaves := testLeaves(3000)
	ref := newRefTree(leaves)
	a, err := NewAppender(0, nil)
	require.NoError(t, err)
	a.Append(leaves[:1000])
	c := a.Clone()
	cloneTiles := c.Append(leaves[1000:2000])
	require.Equal(t, uint64(1000), a.Size())
	require.Equal(t, ref.Root(1000), a.Root(), "original moved with its clone")
	require.Equal(t, ref.Root(2000), c.Root())

	origTiles := a.Append(leaves[1000:2000])
	require.Equal(t, c.Root(), a.Root())
	require.Equal(t, len(cloneTiles), len(origTiles))
	for i := range cloneTiles {
		want, _ := cloneTiles[i].MarshalBinary()
		got, _ := origTiles[i].MarshalBinary()
		require.Equal(t, want, got, "tile %v", cloneTiles[i].ID())
	}
	// A discarded clone of a clone changes nothing either.
	c.Clone().Append(leaves[2000:])
	require.Equal(t, ref.Root(2000), c.Root())
}

// TestAppenderReopen reopens trees at many sizes, from tiles stored at
// that size and from tiles stored later (wider than needed), and checks
// the root and that appending continues with the same tiles.
func TestAppenderReopen(t *testing.T) {
	const total = 66_000
	leaves := testLeaves(total)
	ref := newRefTree(leaves)
	// Grow one tree, keeping a snapshot of its tiles at each size tested.
	sizes := []uint64{1, 2, 255, 256, 257, 511, 4096, 65535, 65536, 65537, total - 1}
	snapshots := map[uint64]mapTiles{}
	grow := mapTiles{}
	a, err := NewAppender(0, grow)
	require.NoError(t, err)
	for _, size := range sizes {
		grow.store(a.Append(leaves[a.Size():size]))
		snapshots[size] = maps.Clone(grow)
	}
	grow.store(a.Append(leaves[a.Size():]))
	final := grow
	for _, size := range sizes {
		t.Run(fmt.Sprint("size ", size), func(t *testing.T) {
			exact := snapshots[size]
			for name, tiles := range map[string]mapTiles{"exact tiles": exact, "later tiles": final} {
				a, err := NewAppender(size, tiles)
				require.NoError(t, err, name)
				require.Equal(t, size, a.Size())
				require.Equal(t, ref.Root(size), a.Root(), name)
				for _, e := range a.EdgeTiles() {
					require.Less(t, e.Width(), TileWidth, "%s: edge tile %v is full", name, e.ID())
				}
				end := min(size+3000, total)
				a.Append(leaves[size:end])
				require.Equal(t, ref.Root(end), a.Root(), name)
			}
		})
	}
	t.Run("empty tree", func(t *testing.T) {
		a, err := NewAppender(0, nil)
		require.NoError(t, err)
		require.Equal(t, EmptyRoot(), a.Root())
		require.Empty(t, a.EdgeTiles())
		require.Empty(t, a.Append(nil))
		require.Equal(t, uint64(0), a.Size())
	})
}

func TestNewNodeID(t *testing.T) {
	id := NewNodeID(9, 5)
	require.Equal(t, NodeID{Level: 9, Index: 5}, id)
	tid, n := TileOf(id)
	require.Equal(t, TileID{Level: 1, Index: 0}, tid)
	require.Equal(t, TileNode{Level: 1, Pos: 5}, n)
}
