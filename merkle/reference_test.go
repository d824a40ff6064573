package merkle

import (
	"math/bits"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"
)

// refTree is a naive RFC 6962 (section 2.1) Merkle tree: MTH, PATH and
// PROOF written as the RFC states them, recursively over ranges of leaves.
// It shares nothing with the package under test but HashChildren, which is
// checked on its own against published vectors. MTH results are memoized
// by range: the recursion splits a range the same way whatever the tree
// size, so trees of many sizes over one leaf list share their subtrees.
type refTree struct {
	leaves []Hash
	mth    map[[2]uint64]Hash
}

func newRefTree(leaves []Hash) *refTree {
	return &refTree{leaves: leaves, mth: map[[2]uint64]Hash{}}
}

// splitPoint returns k, the largest power of two smaller than n (n > 1).
func splitPoint(n uint64) uint64 {
	return 1 << (bits.Len64(n-1) - 1)
}

// MTH returns the Merkle Tree Hash of D[lo:hi].
func (r *refTree) MTH(lo, hi uint64) Hash {
	n := hi - lo
	switch n {
	case 0:
		return EmptyRoot()
	case 1:
		return r.leaves[lo]
	}
	if h, ok := r.mth[[2]uint64{lo, hi}]; ok {
		return h
	}
	k := splitPoint(n)
	h := HashChildren(r.MTH(lo, lo+k), r.MTH(lo+k, hi))
	r.mth[[2]uint64{lo, hi}] = h
	return h
}

// Root returns MTH(D[0:n]).
func (r *refTree) Root(n uint64) Hash { return r.MTH(0, n) }

// Path returns PATH(m, D[0:n]), the audit path of leaf m.
func (r *refTree) Path(m, n uint64) []Hash { return r.path(m, 0, n) }

// path returns PATH(m, D[lo:hi]) for the leaf lo+m.
func (r *refTree) path(m, lo, hi uint64) []Hash {
	n := hi - lo
	if n == 1 {
		return nil
	}
	k := splitPoint(n)
	if m < k {
		return append(r.path(m, lo, lo+k), r.MTH(lo+k, hi))
	}
	return append(r.path(m-k, lo+k, hi), r.MTH(lo, lo+k))
}

// Proof returns PROOF(m, D[0:n]), the consistency proof from size m.
func (r *refTree) Proof(m, n uint64) []Hash { return r.subproof(m, 0, n, true) }

// subproof returns SUBPROOF(m, D[lo:hi], b).
func (r *refTree) subproof(m, lo, hi uint64, b bool) []Hash {
	n := hi - lo
	if m == n {
		if b {
			return nil
		}
		return []Hash{r.MTH(lo, hi)}
	}
	k := splitPoint(n)
	if m <= k {
		return append(r.subproof(m, lo, lo+k, b), r.MTH(lo+k, hi))
	}
	return append(r.subproof(m-k, lo+k, hi, false), r.MTH(lo, lo+k))
}

// testLeaves returns the leaf hashes of the records "leaf 0".."leaf n-1".
func testLeaves(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		out[i] = HashLeaf(leafData(i))
	}
	return out
}

// tlogStore keeps sumdb/tlog's stored hashes for a list of leaves, so that
// tlog can compute roots and proofs independently of this package.
type tlogStore struct {
	hashes tlogHashes
	n      int64
}

func (s *tlogStore) add(t testing.TB, leaves []Hash) {
	t.Helper()
	for _, l := range leaves {
		th, err := tlog.StoredHashesForRecordHash(s.n, tlog.Hash(l), s.hashes)
		require.NoError(t, err)
		s.hashes = append(s.hashes, th...)
		s.n++
	}
}

// grownTree is a tree built with the Appender, with the newest version of
// every tile it returned.
type grownTree struct {
	leaves []Hash
	app    *Appender
	tiles  mapTiles
}

// growTree appends leaves to a fresh tree in batches of the given sizes
// (the last size repeats until all leaves are in).
func growTree(t testing.TB, leaves []Hash, batches ...int) *grownTree {
	t.Helper()
	g := &grownTree{leaves: leaves, tiles: mapTiles{}}
	var err error
	g.app, err = NewAppender(0, g.tiles)
	require.NoError(t, err)
	for i := 0; len(leaves) > 0; i++ {
		n := batches[min(i, len(batches)-1)]
		n = min(n, len(leaves))
		g.tiles.store(g.app.Append(leaves[:n]))
		leaves = leaves[n:]
	}
	return g
}

func (g *grownTree) reader() HashReader { return TileHashReader{Tiles: g.tiles} }

func TestReferenceMatchesPublishedVectors(t *testing.T) {
	v := loadRFC6962Vectors(t)
	ref := newRefTree(v.leafHashes())
	for n, want := range v.Roots {
		require.Equal(t, want.hash(t), ref.Root(uint64(n)), "MTH of %d leaves", n)
	}
	for _, c := range v.Inclusion {
		require.Equal(t, hashList(t, c.Proof), ref.Path(c.Index, c.Size), "PATH(%d, D[%d])", c.Index, c.Size)
	}
	for _, c := range v.Consistency {
		require.Equal(t, hashList(t, c.Proof), ref.Proof(c.First, c.Second), "PROOF(%d, D[%d])", c.First, c.Second)
	}
}

func TestSplitPoint(t *testing.T) {
	for n := uint64(2); n < 1<<12; n++ {
		k := splitPoint(n)
		require.True(t, k < n && 2*k >= n && k&(k-1) == 0, "n=%d k=%d", n, k)
	}
}

func hashList(t *testing.T, hexes []string) []Hash {
	t.Helper()
	out := make([]Hash, 0, len(hexes))
	for _, h := range hexes {
		out = append(out, hexHash(h).hash(t))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
