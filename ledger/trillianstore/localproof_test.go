package trillianstore

import (
	"fmt"
	"testing"

	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// TestRangeTreeAgainstReference checks the locally computed proofs of a
// batch [start, size) against the proofs of a naive reference tree, for
// every start below 70 and batch sizes 1 to 20.
func TestRangeTreeAgainstReference(t *testing.T) {
	ref := testonly.New(rfc6962.DefaultHasher)
	var hashes []merkle.Hash
	for i := range 90 {
		h := merkle.HashLeaf(fmt.Appendf(nil, "leaf %d", i))
		hashes = append(hashes, h)
		ref.Append(h[:])
	}
	toMerkle := func(in [][]byte) []merkle.Hash {
		out := make([]merkle.Hash, len(in))
		for i := range in {
			copy(out[i][:], in[i])
		}
		return out
	}
	for start := uint64(0); start < 70; start++ {
		for n := uint64(1); n <= 20; n++ {
			t.Run(fmt.Sprintf("start=%d/n=%d", start, n), func(t *testing.T) {
				size := start + n
				rt := &rangeTree{start: start, memo: map[[2]uint64]merkle.Hash{}, leaves: hashes[start:size]}
				if start > 0 {
					p, err := ref.InclusionProof(start-1, start)
					require.NoError(t, err)
					var ok bool
					rt.blocks, ok = compactRange(start, hashes[start-1], toMerkle(p))
					require.True(t, ok)
				}
				for m := start; m < size; m++ {
					got, ok := rt.proof(m, 0, size)
					require.True(t, ok)
					want, err := ref.InclusionProof(m, size)
					require.NoError(t, err)
					require.Equal(t, toMerkle(want), got, "leaf %d", m)
				}
			})
		}
	}
}

func TestCompactRangeRejectsWrongLength(t *testing.T) {
	_, ok := compactRange(6, merkle.Hash{}, make([]merkle.Hash, 3))
	require.False(t, ok)
}
