package merkle

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// mapTiles is a TileReader over the tiles an Appender produced.
type mapTiles map[TileID]*Tile

func (m mapTiles) ReadTile(id TileID, width int) (*Tile, error) {
	t, ok := m[id]
	if !ok || t.Width() < width {
		return nil, fmt.Errorf("%w: tile %v", ErrMissingNode, id)
	}
	return t, nil
}

func (m mapTiles) store(ts []*Tile) {
	for _, t := range ts {
		m[t.ID()] = t
	}
}

// tlogHashes adapts our leaves to sumdb/tlog's record hash storage.
type tlogHashes []tlog.Hash

func (h tlogHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = h[x]
	}
	return out, nil
}

func leafData(i int) []byte { return []byte(fmt.Sprintf("leaf %d", i)) }

func toBytes(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

func TestAppenderAgainstTlog(t *testing.T) {
	tiles := mapTiles{}
	a, err := NewAppender(0, tiles)
	require.NoError(t, err)
	var stored tlogHashes
	var leaves []Hash
	rng := rand.New(rand.NewPCG(1, 2))
	roots := map[uint64]Hash{}
	for a.Size() < 70000 {
		n := 1 + rng.IntN(600)
		batch := make([]Hash, n)
		for i := range batch {
			d := leafData(len(leaves) + i)
			batch[i] = HashLeaf(d)
			th, err := tlog.StoredHashes(int64(len(leaves)+i), d, stored)
			require.NoError(t, err)
			stored = append(stored, th...)
		}
		leaves = append(leaves, batch...)
		tiles.store(a.Append(batch))
		want, err := tlog.TreeHash(int64(a.Size()), stored)
		require.NoError(t, err)
		require.Equal(t, Hash(want), a.Root(), "size %d", a.Size())
		roots[a.Size()] = a.Root()
		// Reopen from stored tiles and check the same root.
		b, err := NewAppender(a.Size(), tiles)
		require.NoError(t, err)
		require.Equal(t, a.Root(), b.Root())
	}
	r := TileHashReader{Tiles: tiles}
	h := rfc6962.DefaultHasher
	for size, root := range roots {
		got, err := RootHash(size, r)
		require.NoError(t, err)
		require.Equal(t, root, got)
		for range 3 {
			idx := rng.Uint64N(size)
			p, err := InclusionProof(idx, size, r)
			require.NoError(t, err)
			require.NoError(t, VerifyInclusion(leaves[idx], idx, size, p, root))
			require.NoError(t, proof.VerifyInclusion(h, idx, size, leaves[idx][:], toBytes(p), root[:]))
			tp, err := tlog.ProveRecord(int64(size), int64(idx), stored)
			require.NoError(t, err)
			require.Len(t, p, len(tp))
			for i := range tp {
				require.Equal(t, Hash(tp[i]), p[i])
			}
			m := 1 + rng.Uint64N(size)
			cp, err := ConsistencyProof(m, size, r)
			require.NoError(t, err)
			rootM := roots2(t, m, r)
			require.NoError(t, VerifyConsistency(m, size, cp, rootM, root))
			require.NoError(t, proof.VerifyConsistency(h, m, size, toBytes(cp), rootM[:], root[:]))
			tcp, err := tlog.ProveTree(int64(size), int64(m), stored)
			require.NoError(t, err)
			require.Len(t, cp, len(tcp))
		}
	}
}

func roots2(t *testing.T, m uint64, r HashReader) Hash {
	h, err := RootHash(m, r)
	require.NoError(t, err)
	return h
}

func TestVerifyInclusionNoAlloc(t *testing.T) {
	tiles := mapTiles{}
	a, _ := NewAppender(0, tiles)
	batch := make([]Hash, 1000)
	for i := range batch {
		batch[i] = HashLeaf(leafData(i))
	}
	tiles.store(a.Append(batch))
	p, err := InclusionProof(377, 1000, TileHashReader{tiles})
	require.NoError(t, err)
	root := a.Root()
	allocs := testing.AllocsPerRun(100, func() {
		if err := VerifyInclusion(batch[377], 377, 1000, p, root); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}
