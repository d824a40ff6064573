package merkle

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInclusionProofsMatchReference checks InclusionProofs, for batches of
// every position and length in small trees and random ones in trees that
// reach tile level 2, against RFC 6962's PATH as the naive reference
// computes it, proof by proof.
func TestInclusionProofsMatchReference(t *testing.T) {
	const total = 70_000
	leaves := testLeaves(total)
	g := growTree(t, leaves, 997)
	ref := newRefTree(leaves)
	check := func(first, count, size uint64) {
		t.Helper()
		got, err := InclusionProofs(first, count, size, g.reader())
		if err != nil {
			t.Fatalf("InclusionProofs(%d, %d, %d): %v", first, count, size, err)
		}
		if uint64(len(got)) != count {
			t.Fatalf("InclusionProofs(%d, %d, %d) returned %d proofs", first, count, size, len(got))
		}
		for i, p := range got {
			if want := ref.Path(first+uint64(i), size); !slices.Equal(p, want) {
				t.Fatalf("InclusionProofs(%d, %d, %d)[%d] = %v; reference %v", first, count, size, i, p, want)
			}
		}
	}
	for size := uint64(1); size <= 70; size++ {
		for first := range size {
			for count := uint64(1); first+count <= size; count++ {
				check(first, count, size)
			}
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		size := 1 + rng.Uint64N(total)
		count := 1 + rng.Uint64N(min(size, 2000))
		check(size-count, count, size) // a batch just appended
		first := rng.Uint64N(size)
		check(first, 1+rng.Uint64N(min(size-first, 300)), size)
	}
	check(0, total, total)
}

// TestInclusionProofsDoNotAlias checks that appending to one returned
// proof leaves the next one unchanged (they share a backing array).
func TestInclusionProofsDoNotAlias(t *testing.T) {
	leaves := testLeaves(100)
	g := growTree(t, leaves, 100)
	got, err := InclusionProofs(90, 10, 100, g.reader())
	require.NoError(t, err)
	next := slices.Clone(got[1])
	_ = append(got[0], Hash{0xff})
	require.Equal(t, next, got[1])
}

func TestInclusionProofsRange(t *testing.T) {
	leaves := testLeaves(10)
	g := growTree(t, leaves, 10)
	got, err := InclusionProofs(3, 0, 10, g.reader())
	require.NoError(t, err)
	require.Empty(t, got)
	for _, c := range [][3]uint64{{10, 1, 10}, {9, 2, 10}, {0, 1, 0}, {5, ^uint64(0), 10}, {^uint64(0), 2, 10}} {
		_, err := InclusionProofs(c[0], c[1], c[2], g.reader())
		require.ErrorIs(t, err, ErrInvalidRange, "first %d count %d size %d", c[0], c[1], c[2])
	}
}

// TestInclusionProofsReaderError checks that a failing reader fails the
// call.
func TestInclusionProofsReaderError(t *testing.T) {
	leaves := testLeaves(10)
	g := growTree(t, leaves, 10)
	_, err := InclusionProofs(0, 10, 20, g.reader()) // nodes beyond the tree
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrInvalidRange))
}
