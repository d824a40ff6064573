package trillianstore

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/trillian"
	"github.com/stretchr/testify/require"
)

// TestPostgresInterruptedPreordered covers the PREORDERED_LOG path where
// Trillian holds leaves of an earlier writer that died after
// AddSequencedLeaves and before they were integrated: a new writer's batch
// finds its indices taken, waits for the integration, finds which of its
// leaves were among the leftovers (exact dedup) and appends the rest after
// them. The signer is stopped (SIGSTOP) while the leftovers are sent, so the
// new writer cannot see them before it collides with them.
func TestPostgresInterruptedPreordered(t *testing.T) {
	st := realTrillian(t)
	cc := dialReal(t, st)
	ctx := context.Background()
	sign, verifier := signerOf(t)
	tree := newTree(t, cc, ModePreordered)
	leaves := makeLeaves(t, "interrupted", 18, 3, 200)
	first := openStore(t, cc, tree, ModePreordered, sign)
	_, err := first.Add(ctx, leaves[:10], sign)
	require.NoError(t, err)
	require.NoError(t, first.Close())

	signer, err := strconv.Atoi(st["HL_LOG_SIGNER_PID"])
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(signer, syscall.SIGSTOP))
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			require.NoError(t, syscall.Kill(signer, syscall.SIGCONT))
		}
	}
	defer resume()

	// The dead writer's leftovers: leaves 10..14 at indices 10..14.
	req := &trillian.AddSequencedLeavesRequest{LogId: tree}
	for i := 10; i < 15; i++ {
		l := leaves[i]
		req.Leaves = append(req.Leaves, &trillian.LogLeaf{
			LeafValue: l.Data, LeafIdentityHash: preorderedIdentity(uint64(i), l.Hash),
			ExtraData: l.Subject[:], LeafIndex: int64(i),
		})
	}
	_, err = trillian.NewTrillianLogClient(cc).AddSequencedLeaves(ctx, req)
	require.NoError(t, err)

	second := openStore(t, cc, tree, ModePreordered, sign)
	batch := append(leaves[12:14:14], leaves[15:18]...)
	type result struct {
		idx     []uint64
		existed []bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		res, err := second.Add(ctx, batch, sign)
		if err == nil {
			verifyResult(t, batch, res, verifier)
		}
		done <- result{res.Indices, res.Existed, err}
	}()
	time.Sleep(500 * time.Millisecond) // the Add collides and waits for integration
	resume()
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, []bool{true, true, false, false, false}, r.existed)
	require.Equal(t, []uint64{12, 13, 15, 16, 17}, r.idx)
	for i, l := range leaves {
		got, err := second.Leaf(ctx, uint64(i))
		require.NoError(t, err)
		require.Equal(t, l.Data, got, "leaf %d", i)
	}
}
