package tilestore_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

func openFiltered(t *testing.T, b *mapBackend) *tilestore.Store {
	t.Helper()
	st, err := tilestore.Open(context.Background(), tilestore.Config{Backend: b, DedupFilterSize: 1 << 20})
	require.NoError(t, err)
	return st
}

// filteredBackend returns a backend holding a log of the 600 leaves old,
// written through a Store with a dedup filter, then closed.
func filteredBackend(t *testing.T, old []ledger.Leaf) *mapBackend {
	b := newMapBackend()
	st := openFiltered(t, b)
	require.True(t, st.WaitDedupFilter(), "an empty log's filter is ready at once")
	_, err := st.Add(context.Background(), old, newSign(t))
	require.NoError(t, err)
	require.NoError(t, st.Close())
	return b
}

// After Open the filter is filled from the tiles: once it is, a new leaf
// is found absent without a backend read, and every old leaf is still
// found, at its index.
func TestDedupFilterAfterReopen(t *testing.T) {
	ctx := context.Background()
	old, fresh := makeLeaves(t, "old", 600), makeLeaves(t, "fresh", 100)
	b := filteredBackend(t, old)
	st := openFiltered(t, b)
	defer st.Close()
	require.True(t, st.WaitDedupFilter())

	reads := b.indexReads.Load()
	for _, l := range fresh {
		_, found, size, err := st.Precheck(ctx, l.Hash)
		require.NoError(t, err)
		require.False(t, found)
		require.Equal(t, uint64(600), size)
	}
	// 100 lookups at 4e-6 false positives each: a read is a broken filter.
	require.Equal(t, reads, b.indexReads.Load(), "new leaves were looked up in the backend")
	for i, l := range old {
		idx, found, _, err := st.Precheck(ctx, l.Hash)
		require.NoError(t, err)
		require.True(t, found, "old leaf %d", i)
		require.Equal(t, uint64(i), idx)
	}
	// The sequencer's lookup (leaves not prechecked) agrees.
	res, err := st.Add(ctx, append(old[590:], fresh[:10]...), newSign(t))
	require.NoError(t, err)
	for i := range 10 {
		require.True(t, res.Existed[i])
		require.Equal(t, uint64(590+i), res.Indices[i])
		require.False(t, res.Existed[10+i])
		require.Equal(t, uint64(600+i), res.Indices[10+i])
	}
}

// While the filter is being filled (its goroutine held at its first tile
// here), lookups go to the backend and stay exact; Open did not wait.
func TestDedupFilterWhileFilling(t *testing.T) {
	ctx := context.Background()
	old := makeLeaves(t, "old", 600)
	b := filteredBackend(t, old)
	release := make(chan struct{})
	b.set(func(b *mapBackend) {
		b.tileHook = func(ctx context.Context, id merkle.TileID) {
			// Only the fill reads with a context that can be canceled.
			if ctx.Done() != nil && id == (merkle.TileID{Level: 0, Index: 0}) {
				<-release
			}
		}
	})
	st := openFiltered(t, b)
	defer st.Close()

	reads := b.indexReads.Load()
	idx, found, _, err := st.Precheck(ctx, old[17].Hash)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, uint64(17), idx)
	_, found, _, err = st.Precheck(ctx, makeLeaves(t, "fresh", 1)[0].Hash)
	require.NoError(t, err)
	require.False(t, found)
	require.Equal(t, reads+2, b.indexReads.Load(), "both lookups read the backend")
	res, err := st.Add(ctx, old[:3], newSign(t))
	require.NoError(t, err)
	require.Equal(t, []bool{true, true, true}, res.Existed)

	close(release)
	require.True(t, st.WaitDedupFilter())
}

// A level-0 tile that does not decode is no longer refused by Open (only
// the right edge is read there): the filter stays unready, every lookup
// goes to the backend, dedup stays exact, and Check reports the tile.
func TestDedupFilterCorruptTile(t *testing.T) {
	ctx := context.Background()
	old := makeLeaves(t, "old", 600)
	b := filteredBackend(t, old)
	b.set(func(b *mapBackend) { b.tiles[merkle.TileID{Level: 0, Index: 0}][2+32*300] ^= 1 }) // an interior hash
	st := openFiltered(t, b)
	defer st.Close()
	require.False(t, st.WaitDedupFilter(), "a filter filled from a corrupt tile")
	res, err := st.Add(ctx, old[298:301], newSign(t))
	require.NoError(t, err)
	require.Equal(t, []uint64{298, 299, 300}, res.Indices)
	require.Equal(t, []bool{true, true, true}, res.Existed)
	var ce *tilestore.CorruptionError
	require.ErrorAs(t, st.Check(ctx, nil), &ce)
}

// Close stops the goroutine that fills the filter, and no backend read
// follows Close.
func TestDedupFilterClose(t *testing.T) {
	old := makeLeaves(t, "old", 600)
	b := filteredBackend(t, old)
	var closed atomic.Bool
	started := make(chan struct{})
	b.set(func(b *mapBackend) {
		b.tileHook = func(ctx context.Context, id merkle.TileID) {
			if closed.Load() {
				t.Errorf("tile %v read after Close", id)
			}
			if id == (merkle.TileID{Level: 0, Index: 0}) {
				close(started)
				<-ctx.Done() // held until Close cancels the fill
			}
		}
	})
	st := openFiltered(t, b)
	<-started
	require.NoError(t, st.Close())
	closed.Store(true)
	require.False(t, st.WaitDedupFilter())
}
