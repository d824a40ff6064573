package merkle

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVerifyNoAlloc checks that both verifiers allocate nothing when a
// proof verifies, for proofs of many shapes.
func TestVerifyNoAlloc(t *testing.T) {
	const size = 70_000
	g := growTree(t, testLeaves(size), 5000)
	r := g.reader()
	roots := map[uint64]Hash{}
	root := func(n uint64) Hash {
		if _, ok := roots[n]; !ok {
			h, err := RootHash(n, r)
			require.NoError(t, err)
			roots[n] = h
		}
		return roots[n]
	}
	for _, c := range []struct{ i, n uint64 }{{0, 1}, {377, 1000}, {999, 1000}, {65536, size}, {12345, size}} {
		t.Run(fmt.Sprintf("inclusion %d in %d", c.i, c.n), func(t *testing.T) {
			p, err := InclusionProof(c.i, c.n, r)
			require.NoError(t, err)
			leaf, rt := g.leaves[c.i], root(c.n)
			allocs := testing.AllocsPerRun(100, func() {
				if err := VerifyInclusion(leaf, c.i, c.n, p, rt); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs)
		})
	}
	for _, c := range []struct{ m, n uint64 }{{7, 7}, {1, 2}, {256, 1000}, {377, 1000}, {65536, size}, {12345, size}} {
		t.Run(fmt.Sprintf("consistency %d to %d", c.m, c.n), func(t *testing.T) {
			p, err := ConsistencyProof(c.m, c.n, r)
			require.NoError(t, err)
			rm, rn := root(c.m), root(c.n)
			allocs := testing.AllocsPerRun(100, func() {
				if err := VerifyConsistency(c.m, c.n, p, rm, rn); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs)
		})
	}
}
