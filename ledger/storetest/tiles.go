package storetest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// refTile returns the reference C2SP content of tile id of the given width:
// the hashes of the perfect subtrees [j*2^(8L), (j+1)*2^(8L)) for the width
// positions j of the tile.
func (r *refTree) refTile(id merkle.TileID, width int) []byte {
	span := uint64(1) << (merkle.TileHeight * uint(id.Level))
	out := make([]byte, 0, width*merkle.HashSize)
	for p := range width {
		j := id.Index*merkle.TileWidth + uint64(p)
		h := r.mth(j*span, (j+1)*span)
		out = append(out, h[:]...)
	}
	return out
}

// tileWidths returns the widths of a tile the suite asks for: 1, a middle
// one and the widest the tree has.
func tileWidths(avail int) []int {
	ws := []int{1, avail}
	if avail > 2 {
		ws = append(ws, avail/2+1)
	}
	return ws
}

// checkTiles checks every hash tile and entry bundle of the store against
// the reference: full tiles and every partial width asked for are exactly
// the reference's bytes, and one hash past the tree is ErrNotFound.
func (w *world) checkTiles(t *testing.T) {
	ctx := context.Background()
	n := w.size()
	for level := uint8(0); merkle.TileWidthAt(n, merkle.TileID{Level: level}) > 0; level++ {
		for index := uint64(0); ; index++ {
			id := merkle.TileID{Level: level, Index: index}
			avail := merkle.TileWidthAt(n, id)
			if avail == 0 {
				_, err := w.store.Tile(ctx, level, index, 1)
				require.ErrorIs(t, err, ledger.ErrNotFound, "tile %v past the tree", id)
				break
			}
			for _, width := range tileWidths(avail) {
				got, err := w.store.Tile(ctx, level, index, width)
				require.NoError(t, err, "Tile(%v, %d)", id, width)
				require.True(t, bytes.Equal(w.ref.refTile(id, width), got), "Tile(%v, %d) differs from the reference", id, width)
			}
			if avail < merkle.TileWidth {
				_, err := w.store.Tile(ctx, level, index, avail+1)
				require.ErrorIs(t, err, ledger.ErrNotFound, "Tile(%v, %d), one hash past the tree", id, avail+1)
			}
			if level == 0 {
				w.checkBundle(t, index, avail)
			}
		}
	}
}

// checkBundle checks entry bundle index at widths up to avail.
func (w *world) checkBundle(t *testing.T, index uint64, avail int) {
	ctx := context.Background()
	for _, width := range tileWidths(avail) {
		got, err := w.store.EntryBundle(ctx, index, width)
		require.NoError(t, err, "EntryBundle(%d, %d)", index, width)
		leaves, err := ledger.ParseEntryBundle(got, width)
		require.NoError(t, err, "EntryBundle(%d, %d)", index, width)
		for i, l := range leaves {
			require.True(t, bytes.Equal(w.leaves[index*merkle.TileWidth+uint64(i)].Data, l),
				"EntryBundle(%d, %d): leaf %d", index, width, i)
		}
	}
	if avail < merkle.TileWidth {
		_, err := w.store.EntryBundle(ctx, index, avail+1)
		require.ErrorIs(t, err, ledger.ErrNotFound, "EntryBundle(%d, %d), one leaf past the tree", index, avail+1)
	}
}

// testTiles checks tiles and bundles, then again after a small batch moved
// the right edge (a partial tile grows; its old widths stay the same).
func (w *world) testTiles(t *testing.T) {
	w.checkTiles(t)
	w.add(t, w.next(t, 3))
	w.checkTiles(t)
}

// hugeTileArgs lists Tile and EntryBundle calls with arguments at the
// edges of their types; each must fail with ErrNotFound.
func hugeTileArgs(st ledger.Store, n uint64) []hugeArgCase {
	const maxU = math.MaxUint64
	ctx := context.Background()
	var cases []hugeArgCase
	notFound := func(name string, call func() error) {
		cases = append(cases, hugeArgCase{name: name, call: func() ([]uint64, error) { return nil, call() }, notFound: true})
	}
	last := (n - 1) / merkle.TileWidth
	for _, width := range []int{0, -1, math.MinInt, merkle.TileWidth + 1, math.MaxInt, math.MaxInt32 + 1} {
		notFound(fmt.Sprintf("Tile(0, 0, %d)", width), func() error { _, err := st.Tile(ctx, 0, 0, width); return err })
		notFound(fmt.Sprintf("Tile(0, last, %d)", width), func() error { _, err := st.Tile(ctx, 0, last, width); return err })
		notFound(fmt.Sprintf("EntryBundle(0, %d)", width), func() error { _, err := st.EntryBundle(ctx, 0, width); return err })
	}
	for _, index := range []uint64{maxU, maxU / merkle.TileWidth, maxU/merkle.TileWidth + 1, math.MaxInt64, last + 1, last + 1<<32} {
		for _, level := range []uint8{0, 1, 7, 8, 9, math.MaxUint8} {
			notFound(fmt.Sprintf("Tile(%d, %d, 1)", level, index), func() error { _, err := st.Tile(ctx, level, index, 1); return err })
			notFound(fmt.Sprintf("Tile(%d, %d, 256)", level, index), func() error { _, err := st.Tile(ctx, level, index, 256); return err })
		}
		notFound(fmt.Sprintf("EntryBundle(%d, 1)", index), func() error { _, err := st.EntryBundle(ctx, index, 1); return err })
		notFound(fmt.Sprintf("EntryBundle(%d, 256)", index), func() error { _, err := st.EntryBundle(ctx, index, 256); return err })
	}
	for _, level := range []uint8{8, 9, math.MaxUint8} {
		notFound(fmt.Sprintf("Tile(%d, 0, 1)", level), func() error { _, err := st.Tile(ctx, level, 0, 1); return err })
	}
	return cases
}
