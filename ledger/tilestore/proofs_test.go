package tilestore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
)

// TestInclusionProofsMatchSingleProofs checks the batch proofs of the
// store against its single ones, with a one-tile cache (proofs read the
// backend) and the default one, for batches as the Log asks for them (the
// last leaves of each commit) and arbitrary ranges, and the range checks.
func TestInclusionProofsMatchSingleProofs(t *testing.T) {
	for _, cache := range []int{1, 0} {
		t.Run(fmt.Sprintf("tile cache %d", cache), func(t *testing.T) {
			ctx := context.Background()
			st := open(t, newMapBackend(), cache)
			defer st.Close()
			leaves := makeLeaves(t, "proofs", 1500)
			sign := newSign(t)
			check := func(first, count, size uint64) {
				t.Helper()
				got, err := st.InclusionProofs(ctx, first, count, size)
				require.NoError(t, err)
				require.Len(t, got, int(count))
				for i, p := range got {
					want, err := st.InclusionProof(ctx, first+uint64(i), size)
					require.NoError(t, err)
					require.Equal(t, want, p, "leaf %d of %d", first+uint64(i), size)
				}
			}
			for start := 0; start < len(leaves); {
				n := min(1+start%300, len(leaves)-start)
				res, err := st.Add(ctx, leaves[start:start+n], sign)
				require.NoError(t, err)
				start += n
				check(uint64(start-n), uint64(n), res.Head.Size)
			}
			check(0, 1500, 1500)
			check(700, 3, 1024)
			for _, c := range [][3]uint64{{0, 1, 1501}, {1500, 1, 1500}, {1400, 101, 1500}, {1, ^uint64(0), 1500}} {
				_, err := st.InclusionProofs(ctx, c[0], c[1], c[2])
				require.ErrorIs(t, err, ledger.ErrNotFound, "first %d count %d size %d", c[0], c[1], c[2])
			}
		})
	}
}
