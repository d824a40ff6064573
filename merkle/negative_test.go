package merkle

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// requireMismatch checks that err is a *RootMismatchError (and so an
// ErrInvalidProof) that names want as the expected root. It runs in hot
// loops, so it checks without testify.
func requireMismatch(t *testing.T, err error, want Hash, msg string, args ...any) {
	t.Helper()
	var rm *RootMismatchError
	if !errors.As(err, &rm) || !errors.Is(err, ErrInvalidProof) || rm.Expected != want || rm.Computed == want {
		t.Fatalf("%s: got %v, want a root mismatch against %v", fmt.Sprintf(msg, args...), err, want)
	}
}

// requireShapeError checks that err reports a proof of the wrong length:
// ErrInvalidProof, but no root was computed.
func requireShapeError(t *testing.T, err error, msg string, args ...any) {
	t.Helper()
	var rm *RootMismatchError
	if !errors.Is(err, ErrInvalidProof) || errors.As(err, &rm) {
		t.Fatalf("%s: got %v, want a wrong-length ErrInvalidProof", fmt.Sprintf(msg, args...), err)
	}
}

// flipBit returns a copy of hs with bit b of hash i flipped.
func flipBit(hs []Hash, i, b int) []Hash {
	out := append([]Hash(nil), hs...)
	out[i][b/8] ^= 1 << (b % 8)
	return out
}

func flipHashBit(h Hash, b int) Hash {
	h[b/8] ^= 1 << (b % 8)
	return h
}

func TestInclusionProofTampering(t *testing.T) {
	const size = 1000
	g := growTree(t, testLeaves(size), 97)
	ref := newRefTree(g.leaves)
	cases := []struct{ index, size uint64 }{
		{0, 2}, {1, 2}, {2, 3}, {5, 8}, {0, 257}, {256, 257}, {255, 256}, {377, 1000}, {999, 1000}, {512, 513},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d in %d", c.index, c.size), func(t *testing.T) {
			root := ref.Root(c.size)
			leaf := g.leaves[c.index]
			p, err := InclusionProof(c.index, c.size, g.reader())
			require.NoError(t, err)
			require.NoError(t, VerifyInclusion(leaf, c.index, c.size, p, root))
			for i := range p {
				for b := range 8 * HashSize {
					err := VerifyInclusion(leaf, c.index, c.size, flipBit(p, i, b), root)
					requireMismatch(t, err, root, "bit %d of hash %d", b, i)
				}
			}
			for b := range 8 * HashSize {
				requireMismatch(t, VerifyInclusion(flipHashBit(leaf, b), c.index, c.size, p, root), root, "leaf bit %d", b)
				bad := flipHashBit(root, b)
				requireMismatch(t, VerifyInclusion(leaf, c.index, c.size, p, bad), bad, "root bit %d", b)
			}
			for k := range p {
				requireShapeError(t, VerifyInclusion(leaf, c.index, c.size, p[:k], root), "truncated to %d", k)
			}
			for k := 0; k <= len(p); k++ {
				longer := append(append(append([]Hash(nil), p[:k]...), HashLeaf([]byte("extra"))), p[k:]...)
				requireShapeError(t, VerifyInclusion(leaf, c.index, c.size, longer, root), "extra hash at %d", k)
			}
			requireShapeError(t, VerifyInclusion(leaf, c.index, c.size, append(p, p...), root), "proof twice")
			for _, other := range []uint64{c.size, c.size + 1, 1 << 63, ^uint64(0)} {
				require.ErrorIs(t, VerifyInclusion(leaf, other, c.size, p, root), ErrInvalidRange)
			}
			require.ErrorIs(t, VerifyInclusion(leaf, 0, 0, nil, EmptyRoot()), ErrInvalidRange)
			other := ref.Root(c.size - 1)
			if c.size > 1 && c.index < c.size-1 {
				require.Error(t, VerifyInclusion(leaf, c.index, c.size, p, other), "root of another size")
			}
		})
	}
}

// TestInclusionWrongIndex checks that a proof never verifies for another
// leaf index of the same tree.
func TestInclusionWrongIndex(t *testing.T) {
	const maxSize = 48
	g := growTree(t, testLeaves(maxSize), 1)
	ref := newRefTree(g.leaves)
	for n := uint64(1); n <= maxSize; n++ {
		root := ref.Root(n)
		for i := range n {
			p := ref.Path(i, n)
			for j := range n {
				if j == i {
					continue
				}
				err := VerifyInclusion(g.leaves[i], j, n, p, root)
				if !errors.Is(err, ErrInvalidProof) {
					t.Fatalf("proof of %d in %d claimed for index %d: %v", i, n, j, err)
				}
			}
		}
	}
}

// TestInclusionWrongSize checks a proof claimed for other tree sizes. An
// RFC 6962 root does not commit to the tree size, so a proof may verify
// for another size whose tree has the same shape along the leaf's path
// (for example leaf 0 of a tree of 3 as leaf 0 of a tree of 4): binding
// the size is the job of the signed checkpoint that carries the root. What
// the test requires is that our verifier agrees with tlog and
// transparency-dev on every case, and rejects with ErrInvalidProof.
func TestInclusionWrongSize(t *testing.T) {
	const maxSize = 32
	g := growTree(t, testLeaves(2*maxSize), 1)
	ref := newRefTree(g.leaves)
	accepted := 0
	for n := uint64(1); n <= maxSize; n++ {
		root := ref.Root(n)
		for i := range n {
			p := ref.Path(i, n)
			leaf := g.leaves[i]
			for other := i + 1; other <= 2*maxSize; other++ {
				if other == n {
					continue
				}
				err := VerifyInclusion(leaf, i, other, p, root)
				tdErr := proof.VerifyInclusion(rfc6962.DefaultHasher, i, other, leaf[:], toBytes(p), root[:])
				tlErr := tlog.CheckRecord(toTlog(p), int64(other), tlog.Hash(root), int64(i), tlog.Hash(leaf))
				if (err == nil) != (tdErr == nil) || (err == nil) != (tlErr == nil) {
					t.Fatalf("proof of %d in %d claimed for size %d: ours %v, transparency-dev %v, tlog %v", i, n, other, err, tdErr, tlErr)
				}
				if err == nil {
					accepted++
					continue
				}
				if !errors.Is(err, ErrInvalidProof) {
					t.Fatalf("proof of %d in %d claimed for size %d: %v", i, n, other, err)
				}
			}
		}
	}
	require.NotZero(t, accepted, "the root does not bind the size; some proofs must verify for other sizes")
	require.NoError(t, VerifyInclusion(g.leaves[0], 0, 4, ref.Path(0, 3), ref.Root(3)))
}

func TestConsistencyProofTampering(t *testing.T) {
	const size = 1000
	g := growTree(t, testLeaves(size), 97)
	ref := newRefTree(g.leaves)
	cases := []struct{ m, n uint64 }{
		{1, 2}, {2, 3}, {1, 8}, {6, 8}, {2, 5}, {3, 7}, {4, 1000}, {255, 256}, {256, 257}, {257, 1000}, {999, 1000}, {512, 513},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d to %d", c.m, c.n), func(t *testing.T) {
			rootM, rootN := ref.Root(c.m), ref.Root(c.n)
			p, err := ConsistencyProof(c.m, c.n, g.reader())
			require.NoError(t, err)
			require.NoError(t, VerifyConsistency(c.m, c.n, p, rootM, rootN))
			for i := range p {
				for b := range 8 * HashSize {
					err := VerifyConsistency(c.m, c.n, flipBit(p, i, b), rootM, rootN)
					var rm *RootMismatchError
					if !errors.As(err, &rm) || !errors.Is(err, ErrInvalidProof) {
						t.Fatalf("bit %d of hash %d: %v", b, i, err)
					}
				}
			}
			for b := range 8 * HashSize {
				badM, badN := flipHashBit(rootM, b), flipHashBit(rootN, b)
				// When m is a power of two the proof starts from rootM
				// itself, so only the second root fails to match.
				err := VerifyConsistency(c.m, c.n, p, badM, rootN)
				if c.m&(c.m-1) == 0 {
					requireMismatch(t, err, rootN, "first root bit %d", b)
				} else {
					requireMismatch(t, err, badM, "first root bit %d", b)
				}
				requireMismatch(t, VerifyConsistency(c.m, c.n, p, rootM, badN), badN, "second root bit %d", b)
			}
			err = VerifyConsistency(c.m, c.n, p, rootN, rootM)
			var rm *RootMismatchError
			require.ErrorAs(t, err, &rm, "swapped roots")
			require.ErrorIs(t, err, ErrInvalidProof, "swapped roots")
			for k := range p {
				requireShapeError(t, VerifyConsistency(c.m, c.n, p[:k], rootM, rootN), "truncated to %d", k)
			}
			for k := 0; k <= len(p); k++ {
				longer := append(append(append([]Hash(nil), p[:k]...), HashLeaf([]byte("extra"))), p[k:]...)
				requireShapeError(t, VerifyConsistency(c.m, c.n, longer, rootM, rootN), "extra hash at %d", k)
			}
			require.ErrorIs(t, VerifyConsistency(c.n, c.m, p, rootN, rootM), ErrInvalidRange, "sizes swapped")
		})
	}
}

func TestConsistencyEdgeCases(t *testing.T) {
	g := growTree(t, testLeaves(10), 1)
	ref := newRefTree(g.leaves)
	r5, r9 := ref.Root(5), ref.Root(9)
	p := ref.Proof(5, 9)
	tests := []struct {
		name     string
		m, n     uint64
		proof    []Hash
		rootM    Hash
		rootN    Hash
		wantErr  error
		mismatch bool
	}{
		{name: "equal sizes, equal roots", m: 5, n: 5, rootM: r5, rootN: r5},
		{name: "equal sizes, other roots", m: 5, n: 5, rootM: r5, rootN: r9, wantErr: ErrInvalidProof, mismatch: true},
		{name: "equal sizes, non-empty proof", m: 5, n: 5, proof: p, rootM: r5, rootN: r5, wantErr: ErrInvalidProof},
		{name: "from empty tree", m: 0, n: 9, rootM: EmptyRoot(), rootN: r9},
		{name: "from empty tree, non-empty proof", m: 0, n: 9, proof: p, rootM: EmptyRoot(), rootN: r9, wantErr: ErrInvalidProof},
		{name: "empty proof", m: 5, n: 9, rootM: r5, rootN: r9, wantErr: ErrInvalidProof},
		{name: "shrinking", m: 9, n: 5, proof: p, rootM: r9, rootN: r5, wantErr: ErrInvalidRange},
		{name: "huge sizes", m: 1<<64 - 2, n: 1<<64 - 1, proof: p, rootM: r5, rootN: r9, wantErr: ErrInvalidProof},
		{name: "power of two to huge", m: 1 << 62, n: 1<<64 - 1, proof: p, rootM: r5, rootN: r9, wantErr: ErrInvalidProof},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyConsistency(tc.m, tc.n, tc.proof, tc.rootM, tc.rootN)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			var rm *RootMismatchError
			require.Equal(t, tc.mismatch, errors.As(err, &rm), "%v", err)
		})
	}
}

// TestConsistencyWrongSizes checks a proof claimed for other size pairs:
// our verifier must agree with transparency-dev on every case and reject
// with ErrInvalidProof (or ErrInvalidRange when the sizes shrink).
func TestConsistencyWrongSizes(t *testing.T) {
	const maxSize = 33
	g := growTree(t, testLeaves(maxSize), 1)
	ref := newRefTree(g.leaves)
	for n := uint64(2); n <= maxSize; n++ {
		for m := uint64(1); m < n; m++ {
			p := ref.Proof(m, n)
			rootM, rootN := ref.Root(m), ref.Root(n)
			for _, m2 := range []uint64{0, 1, m - 1, m, m + 1, 2 * m, n - 1, n} {
				for _, n2 := range []uint64{n - 1, n, n + 1, 2 * n, m2} {
					if m2 == m && n2 == n {
						continue
					}
					err := VerifyConsistency(m2, n2, p, rootM, rootN)
					tdErr := proof.VerifyConsistency(rfc6962.DefaultHasher, m2, n2, toBytes(p), rootM[:], rootN[:])
					if (err == nil) != (tdErr == nil) {
						t.Fatalf("proof %d->%d claimed for %d->%d: ours %v, transparency-dev %v", m, n, m2, n2, err, tdErr)
					}
					if err != nil && !errors.Is(err, ErrInvalidProof) && !(m2 > n2 && errors.Is(err, ErrInvalidRange)) {
						t.Fatalf("proof %d->%d claimed for %d->%d: %v", m, n, m2, n2, err)
					}
				}
			}
		}
	}
}

func TestProofRangeErrors(t *testing.T) {
	g := growTree(t, testLeaves(300), 300)
	r := g.reader()
	tests := []struct {
		name string
		call func() error
	}{
		{"inclusion index at size", func() error { _, err := InclusionProof(300, 300, r); return err }},
		{"inclusion index above size", func() error { _, err := InclusionProof(1000, 300, r); return err }},
		{"inclusion in empty tree", func() error { _, err := InclusionProof(0, 0, r); return err }},
		{"consistency from zero", func() error { _, err := ConsistencyProof(0, 300, r); return err }},
		{"consistency shrinking", func() error { _, err := ConsistencyProof(200, 100, r); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.call(), ErrInvalidRange)
		})
	}
	t.Run("nodes the tiles do not have", func(t *testing.T) {
		_, err := RootHash(301, r)
		require.ErrorIs(t, err, ErrMissingNode)
		_, err = InclusionProof(3, 600, r)
		require.ErrorIs(t, err, ErrMissingNode)
		_, err = ConsistencyProof(3, 600, r)
		require.ErrorIs(t, err, ErrMissingNode)
		_, err = NewAppender(301, g.tiles)
		require.ErrorIs(t, err, ErrMissingNode)
		_, err = NewAppender(300, mapTiles{})
		require.ErrorIs(t, err, ErrMissingNode)
	})
	t.Run("empty tree", func(t *testing.T) {
		root, err := RootHash(0, mapTiles{}.hashReader())
		require.NoError(t, err)
		require.Equal(t, EmptyRoot(), root)
		p, err := ConsistencyProof(300, 300, r)
		require.NoError(t, err)
		require.Empty(t, p)
	})
}

func (m mapTiles) hashReader() HashReader { return TileHashReader{Tiles: m} }
