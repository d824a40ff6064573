package merkle

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// checker compares one tree, as seen through a HashReader over our tiles,
// with the naive reference, sumdb/tlog and transparency-dev/merkle. Its
// methods use plain comparisons in their loops: they run hundreds of
// thousands of times.
type checker struct {
	t    *testing.T
	ref  *refTree
	tlog *tlogStore
	r    HashReader
}

func (c *checker) root(n uint64) Hash {
	c.t.Helper()
	want := c.ref.Root(n)
	got, err := RootHash(n, c.r)
	if err != nil || got != want {
		c.t.Fatalf("RootHash(%d) = %v, %v; reference %v", n, got, err, want)
	}
	th, err := tlog.TreeHash(int64(n), c.tlog.hashes)
	if err != nil || Hash(th) != want {
		c.t.Fatalf("tlog.TreeHash(%d) = %v, %v; reference %v", n, th, err, want)
	}
	return want
}

func (c *checker) inclusion(i, n uint64, root Hash) {
	c.t.Helper()
	want := c.ref.Path(i, n)
	got, err := InclusionProof(i, n, c.r)
	if err != nil || !slices.Equal(got, want) {
		c.t.Fatalf("InclusionProof(%d, %d) = %v, %v; reference %v", i, n, got, err, want)
	}
	leaf := c.ref.leaves[i]
	if err := VerifyInclusion(leaf, i, n, got, root); err != nil {
		c.t.Fatalf("VerifyInclusion(%d, %d): %v", i, n, err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, n, leaf[:], toBytes(got), root[:]); err != nil {
		c.t.Fatalf("transparency-dev VerifyInclusion(%d, %d): %v", i, n, err)
	}
	if err := tlog.CheckRecord(toTlog(got), int64(n), tlog.Hash(root), int64(i), tlog.Hash(leaf)); err != nil {
		c.t.Fatalf("tlog.CheckRecord(%d, %d): %v", i, n, err)
	}
	if (i+n)%5 != 0 {
		return // tlog.ProveRecord is slow; compare with it on a fifth of the cases
	}
	tp, err := tlog.ProveRecord(int64(n), int64(i), c.tlog.hashes)
	if err != nil || !slices.Equal(toTlog(got), tp) {
		c.t.Fatalf("tlog.ProveRecord(%d, %d) = %v, %v; ours %v", n, i, tp, err, got)
	}
}

func (c *checker) consistency(m, n uint64, rootM, rootN Hash) {
	c.t.Helper()
	want := c.ref.Proof(m, n)
	got, err := ConsistencyProof(m, n, c.r)
	if err != nil || !slices.Equal(got, want) {
		c.t.Fatalf("ConsistencyProof(%d, %d) = %v, %v; reference %v", m, n, got, err, want)
	}
	if err := VerifyConsistency(m, n, got, rootM, rootN); err != nil {
		c.t.Fatalf("VerifyConsistency(%d, %d): %v", m, n, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, m, n, toBytes(got), rootM[:], rootN[:]); err != nil {
		c.t.Fatalf("transparency-dev VerifyConsistency(%d, %d): %v", m, n, err)
	}
	if err := tlog.CheckTree(toTlog(got), int64(n), tlog.Hash(rootN), int64(m), tlog.Hash(rootM)); err != nil {
		c.t.Fatalf("tlog.CheckTree(%d, %d): %v", m, n, err)
	}
	if (m+n)%5 != 0 {
		return // as above
	}
	tp, err := tlog.ProveTree(int64(n), int64(m), c.tlog.hashes)
	if err != nil || !slices.Equal(toTlog(got), tp) {
		c.t.Fatalf("tlog.ProveTree(%d, %d) = %v, %v; ours %v", n, m, tp, err, got)
	}
}

func toTlog(hs []Hash) []tlog.Hash {
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		out[i] = tlog.Hash(h)
	}
	return out
}

// TestEverySmallSize grows a tree one leaf at a time and, at every size
// 1..600, reading only the tiles stored so far (so the right edge is made
// of partial tiles of exactly that size), checks the root, every inclusion
// proof up to size 300 and every consistency proof up to size 130.
func TestEverySmallSize(t *testing.T) {
	const (
		maxSize        = 600
		allInclusion   = 300
		allConsistency = 130
	)
	leaves := testLeaves(maxSize)
	ts := &tlogStore{}
	ts.add(t, leaves)
	tiles := mapTiles{}
	a, err := NewAppender(0, tiles)
	require.NoError(t, err)
	c := &checker{t: t, ref: newRefTree(leaves), tlog: ts, r: TileHashReader{Tiles: tiles}}
	rng := rand.New(rand.NewPCG(6962, 1))
	roots := []Hash{EmptyRoot()}
	for n := uint64(1); n <= maxSize; n++ {
		tiles.store(a.Append(leaves[n-1 : n]))
		root := c.root(n)
		require.Equal(t, root, a.Root(), "Appender.Root at size %d", n)
		roots = append(roots, root)
		for _, i := range indexes(rng, n, allInclusion) {
			c.inclusion(i, n, root)
		}
		for _, m := range indexes(rng, n, allConsistency) {
			c.consistency(m+1, n, roots[m+1], root)
		}
	}
}

// indexes returns every index below n if n <= all, else a sample that
// includes both ends and the tile boundaries around them.
func indexes(rng *rand.Rand, n, all uint64) []uint64 {
	if n <= all {
		out := make([]uint64, n)
		for i := range out {
			out[i] = uint64(i)
		}
		return out
	}
	out := []uint64{0, 1, n / 2, n - 2, n - 1}
	for _, b := range []uint64{255, 256, 257, 65535, 65536} {
		if b < n {
			out = append(out, b)
		}
	}
	for range 6 {
		out = append(out, rng.Uint64N(n))
	}
	return out
}

// TestLargeSizes grows a tree of 200k leaves in random batches that stop
// at sizes around tile boundaries and at random sizes, checks roots and
// sampled proofs at each of them, then checks them all again from the
// final (wider) tiles.
func TestLargeSizes(t *testing.T) {
	const maxSize = 200_000
	rng := rand.New(rand.NewPCG(9162, 2))
	targets := []uint64{255, 256, 257, 511, 512, 513, 65535, 65536, 65537, 65536 + 256, maxSize}
	for range 16 {
		targets = append(targets, 300+rng.Uint64N(maxSize-300))
	}
	slices.Sort(targets)
	targets = slices.Compact(targets)

	leaves := testLeaves(maxSize)
	ts := &tlogStore{}
	ts.add(t, leaves)
	tiles := mapTiles{}
	a, err := NewAppender(0, tiles)
	require.NoError(t, err)
	c := &checker{t: t, ref: newRefTree(leaves), tlog: ts, r: TileHashReader{Tiles: tiles}}

	roots := map[uint64]Hash{}
	check := func(n uint64) {
		root := roots[n]
		for _, i := range indexes(rng, n, 0) {
			c.inclusion(i, n, root)
		}
		for _, m := range targets {
			if _, ok := roots[m]; ok && m <= n && rng.IntN(3) == 0 {
				c.consistency(m, n, roots[m], root)
			}
		}
		for _, m := range indexes(rng, n, 0) {
			c.consistency(m+1, n, c.ref.Root(m+1), root)
		}
	}
	for _, target := range targets {
		for a.Size() < target {
			n := min(uint64(1+rng.IntN(3000)), target-a.Size())
			tiles.store(a.Append(leaves[a.Size() : a.Size()+n]))
		}
		roots[target] = c.root(target)
		require.Equal(t, roots[target], a.Root())
		t.Run(fmt.Sprint("size ", target), func(t *testing.T) {
			c.t = t
			check(target)
		})
	}
	t.Run("from final tiles", func(t *testing.T) {
		c.t = t
		for _, n := range targets {
			require.Equal(t, roots[n], c.root(n))
			check(n)
		}
	})
}

// tileSnapshot is every tile of a tree in its latest state, encoded.
func tileSnapshot(t *testing.T, tiles mapTiles) map[TileID][]byte {
	t.Helper()
	out := map[TileID][]byte{}
	for id, tile := range tiles {
		require.Equal(t, id, tile.ID())
		b, err := tile.MarshalBinary()
		require.NoError(t, err)
		out[id] = b
	}
	return out
}

// TestBatchShapes appends the same leaves in batches of many shapes and
// checks that every shape yields byte-identical tiles, and that the tiles
// each Append returns are exactly those tlog.NewTiles names, with the
// content tlog.ReadTileData computes.
func TestBatchShapes(t *testing.T) {
	const total = 70_000 // reaches tile level 2
	leaves := testLeaves(total)
	ts := &tlogStore{}
	ts.add(t, leaves)
	want := tileSnapshot(t, growTree(t, leaves, total).tiles)
	require.Len(t, want, total/TileWidth+1+total/TileWidth/TileWidth+1+1)

	rng := rand.New(rand.NewPCG(3, 4))
	shapes := []struct {
		name    string
		batches []int
		reopen  bool
		// sparse compares with tlog.NewTiles on every 61st append only:
		// 70,000 comparisons would dominate the package's test time.
		sparse bool
	}{
		{name: "one at a time", batches: []int{1}, sparse: true},
		{name: "tile width", batches: []int{TileWidth}},
		{name: "tile width minus one", batches: []int{TileWidth - 1}},
		{name: "tile width plus one", batches: []int{TileWidth + 1}},
		{name: "several tiles at once", batches: []int{1, 3 * TileWidth, 5000, 7 * TileWidth, 20_000}},
		{name: "crossing a level-1 tile", batches: []int{65535, 2, 3000}},
		{name: "random", batches: randomBatches(rng, total, 700)},
		{name: "random reopened", batches: randomBatches(rng, total, 4000), reopen: true},
	}
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			tiles := mapTiles{}
			a, err := NewAppender(0, tiles)
			require.NoError(t, err)
			for i, rest := 0, leaves; len(rest) > 0; i++ {
				n := min(s.batches[min(i, len(s.batches)-1)], len(rest))
				old := a.Size()
				changed := a.Append(rest[:n])
				rest = rest[n:]
				if !s.sparse || i%61 == 0 {
					checkNewTiles(t, ts, old, a.Size(), changed)
				}
				tiles.store(changed)
				if s.reopen {
					a, err = NewAppender(a.Size(), tiles)
					require.NoError(t, err)
				}
			}
			require.Equal(t, want, tileSnapshot(t, tiles))
		})
	}
}

func randomBatches(rng *rand.Rand, total, max int) []int {
	var out []int
	for sum := 0; sum < total; {
		n := 1 + rng.IntN(max)
		out = append(out, n)
		sum += n
	}
	return out
}

// checkNewTiles checks that the tiles an Append from size old to size new
// returned are the tiles tlog.NewTiles lists, with tlog's content.
func checkNewTiles(t *testing.T, ts *tlogStore, old, new uint64, changed []*Tile) {
	t.Helper()
	want := tlog.NewTiles(TileHeight, int64(old), int64(new))
	if len(changed) != len(want) {
		t.Fatalf("append %d..%d changed %d tiles, tlog.NewTiles lists %d", old, new, len(changed), len(want))
	}
	for i, tt := range want {
		got := changed[i]
		if got.ID() != (TileID{Level: uint8(tt.L), Index: uint64(tt.N)}) || got.Width() != tt.W {
			t.Fatalf("append %d..%d: tile %d is %v width %d, tlog says %v", old, new, i, got.ID(), got.Width(), tt.Path())
		}
		data, err := tlog.ReadTileData(tt, ts.hashes)
		require.NoError(t, err)
		if !bytes.Equal(got.C2SP(), data) {
			t.Fatalf("append %d..%d: tile %v content differs from tlog.ReadTileData", old, new, tt.Path())
		}
	}
}
