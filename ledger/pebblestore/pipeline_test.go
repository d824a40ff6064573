package pebblestore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// TestConcurrentAddsOverlap runs Adds from many goroutines with batches
// that share leaves: every
// leaf must be stored exactly once, every result must come with a head that
// covers its indices and proves them, and the store must check clean.
func TestConcurrentAddsOverlap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st, err := Open(ctx, Config{Dir: f.dir})
	require.NoError(t, err)
	defer st.Close()
	sign := func(h ledger.TreeHead) ([]byte, error) {
		return ledger.SignCheckpoint(f.signer, ledger.Checkpoint{Origin: origin, Size: h.Size, Root: h.Root}, time.Now())
	}
	const distinct = 400
	leaves := make([]ledger.Leaf, distinct)
	for i := range leaves {
		data, err := entry(i).MarshalBinary()
		require.NoError(t, err)
		leaves[i] = ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: entry(i).Subject}
	}
	var (
		mu      sync.Mutex
		indexOf = map[merkle.Hash]uint64{}
		wg      sync.WaitGroup
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < 25; b++ {
				// Overlapping windows: writer w, batch b takes 16 leaves
				// starting at a position other writers also use.
				start := (w*37 + b*16) % (distinct - 16)
				batch := leaves[start : start+16]
				res, err := st.Add(ctx, batch, sign)
				if !assertNoErr(t, err) {
					return
				}
				for i, idx := range res.Indices {
					if idx >= res.Head.Size {
						t.Errorf("index %d not covered by head %d", idx, res.Head.Size)
						return
					}
					p, err := st.InclusionProof(ctx, idx, res.Head.Size)
					if !assertNoErr(t, err) {
						return
					}
					if err := merkle.VerifyInclusion(batch[i].Hash, idx, res.Head.Size, p, res.Head.Root); err != nil {
						t.Errorf("proof of %d: %v", idx, err)
						return
					}
					mu.Lock()
					if prev, ok := indexOf[batch[i].Hash]; ok && prev != idx {
						t.Errorf("leaf stored at %d and %d", prev, idx)
					}
					indexOf[batch[i].Hash] = idx
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	head := st.Head()
	require.EqualValues(t, len(indexOf), head.Size, "every distinct leaf exactly once")
	require.NoError(t, st.Check(ctx, f.v))
}

func assertNoErr(t *testing.T, err error) bool {
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}
