package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

func (s *suite) testEmpty(t *testing.T) {
	ctx := context.Background()
	st := s.h.Open(t)
	defer st.Close()
	checkEmpty(t, st)
	_, err := st.RootHash(ctx, 1)
	require.ErrorIs(t, err, ledger.ErrNotFound, "RootHash(1) of an empty store")
	_, err = st.ConsistencyProof(ctx, 1, 1)
	require.ErrorIs(t, err, ledger.ErrNotFound, "ConsistencyProof(1, 1) of an empty store")
	got, err := st.BySubject(ctx, subject(0), 0, 10)
	require.NoError(t, err)
	require.Empty(t, got)
	t.Run("huge arguments", func(t *testing.T) {
		for _, c := range hugeArgs(st, 0, subject(0), nil) {
			t.Run(c.name, c.run)
		}
		for _, c := range hugeTileArgs(st, 0) {
			t.Run(c.name, c.run)
		}
	})
}

// checkEmpty checks the reads of a store that holds nothing.
func checkEmpty(t *testing.T, st ledger.Store) {
	t.Helper()
	ctx := context.Background()
	_, err := st.Checkpoint(ctx)
	require.ErrorIs(t, err, ledger.ErrEmptyLog, "Checkpoint of an empty store")
	_, err = st.Leaf(ctx, 0)
	require.ErrorIs(t, err, ledger.ErrNotFound, "Leaf(0) of an empty store")
	_, err = st.IndexOf(ctx, makeLeaves(t, "empty", 0, 1)[0].Hash)
	require.ErrorIs(t, err, ledger.ErrNotFound, "IndexOf in an empty store")
	_, err = st.InclusionProof(ctx, 0, 1)
	require.ErrorIs(t, err, ledger.ErrNotFound, "InclusionProof(0, 1) of an empty store")
	_, err = st.Tile(ctx, 0, 0, 1)
	require.ErrorIs(t, err, ledger.ErrNotFound, "Tile(0, 0, 1) of an empty store")
	_, err = st.EntryBundle(ctx, 0, 1)
	require.ErrorIs(t, err, ledger.ErrNotFound, "EntryBundle(0, 1) of an empty store")
}

func (s *suite) testReopenEmpty(t *testing.T) {
	ctx := context.Background()
	st := s.h.Open(t)
	require.NoError(t, st.Close())
	st = s.h.Reopen(t, st)
	defer st.Close()
	checkEmpty(t, st)
	leaves := makeLeaves(t, "reopen-empty", 0, 3)
	res, err := st.Add(ctx, leaves, s.newSigner().Sign)
	require.NoError(t, err)
	require.Equal(t, uint64(3), res.Head.Size)
	require.NoError(t, st.Close())
	st = s.h.Reopen(t, st)
	defer st.Close()
	cp, err := st.Checkpoint(ctx)
	require.NoError(t, err)
	if s.opts.ResignsOnReopen {
		head, err := s.openCheckpoint(cp)
		require.NoError(t, err)
		require.Equal(t, res.Head, head, "the re-signed checkpoint is for the same tree")
		return
	}
	require.Equal(t, res.Checkpoint, cp)
}

func (s *suite) testClosed(t *testing.T) {
	ctx := context.Background()
	st := s.h.Open(t)
	leaves := makeLeaves(t, "closed", 0, 2)
	_, err := st.Add(ctx, leaves[:1], s.newSigner().Sign)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	tests := []struct {
		name string
		call func() error
	}{
		{"Add", func() error { _, err := st.Add(ctx, leaves[1:], s.newSigner().Sign); return err }},
		{"Checkpoint", func() error { _, err := st.Checkpoint(ctx); return err }},
		{"Leaf", func() error { _, err := st.Leaf(ctx, 0); return err }},
		{"IndexOf", func() error { _, err := st.IndexOf(ctx, leaves[0].Hash); return err }},
		{"InclusionProof", func() error { _, err := st.InclusionProof(ctx, 0, 1); return err }},
		{"ConsistencyProof", func() error { _, err := st.ConsistencyProof(ctx, 1, 1); return err }},
		{"RootHash", func() error { _, err := st.RootHash(ctx, 1); return err }},
		{"BySubject", func() error { _, err := st.BySubject(ctx, leaves[0].Subject, 0, 10); return err }},
		{"Tile", func() error { _, err := st.Tile(ctx, 0, 0, 1); return err }},
		{"EntryBundle", func() error { _, err := st.EntryBundle(ctx, 0, 1); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, tt.call(), ledger.ErrClosed)
		})
	}
	t.Run("Close again", func(t *testing.T) {
		if err := st.Close(); err != nil {
			require.ErrorIs(t, err, ledger.ErrClosed, "a second Close returns nil or ErrClosed")
		}
	})
}

// testConcurrent runs readers against a store while one writer adds
// batches. Every state a reader sees must verify: the checkpoint's tree
// contains the leaves it serves, each new checkpoint is consistent with
// every one the reader saw before, and a leaf never changes.
func (s *suite) testConcurrent(t *testing.T) {
	st := s.h.Open(t)
	defer st.Close()
	const readers, batch = 4, 25
	batches := s.opts.ConcurrentBatches
	leaves := makeLeaves(t, "concurrent", 0, batches*batch)
	sign := s.newSigner()

	done := make(chan struct{})
	errs := make(chan error, readers+1)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			errs <- s.read(st, uint64(r), leaves, done)
		})
	}
	writeErr := func() error {
		defer close(done)
		for b := range batches {
			res, err := st.Add(context.Background(), leaves[b*batch:(b+1)*batch], sign.Sign)
			if err != nil {
				return fmt.Errorf("batch %d: %w", b, err)
			}
			if res.Head.Size != uint64((b+1)*batch) {
				return fmt.Errorf("batch %d: head size %d", b, res.Head.Size)
			}
		}
		return nil
	}()
	wg.Wait()
	close(errs)
	require.NoError(t, writeErr)
	for err := range errs {
		require.NoError(t, err)
	}
}

// read is one reader of testConcurrent; it returns the first violation.
func (s *suite) read(st ledger.Store, seed uint64, leaves []ledger.Leaf, done <-chan struct{}) error {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(s.opts.Seed, seed))
	byHash := make(map[merkle.Hash]bool, len(leaves))
	for _, l := range leaves {
		byHash[l.Hash] = true
	}
	var prev *ledger.TreeHead
	served := map[uint64][]byte{}
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true // one more round on the final state
		default:
		}
		cp, err := st.Checkpoint(ctx)
		if errors.Is(err, ledger.ErrEmptyLog) {
			continue
		}
		if err != nil {
			return fmt.Errorf("Checkpoint: %w", err)
		}
		h, err := s.openCheckpoint(cp)
		if err != nil {
			return err
		}
		if err := checkHeadMoves(ctx, st, prev, h); err != nil {
			return err
		}
		prev = &h
		i := r.Uint64N(h.Size)
		leaf, err := st.Leaf(ctx, i)
		if err != nil {
			return fmt.Errorf("Leaf(%d) below checkpoint size %d: %w", i, h.Size, err)
		}
		lh := merkle.HashLeaf(leaf)
		if !byHash[lh] {
			return fmt.Errorf("Leaf(%d) is no leaf the writer added", i)
		}
		if old, ok := served[i]; ok && string(old) != string(leaf) {
			return fmt.Errorf("Leaf(%d) changed", i)
		}
		served[i] = leaf
		proof, err := st.InclusionProof(ctx, i, h.Size)
		if err != nil {
			return fmt.Errorf("InclusionProof(%d, %d): %w", i, h.Size, err)
		}
		if err := merkle.VerifyInclusion(lh, i, h.Size, proof, h.Root); err != nil {
			return fmt.Errorf("InclusionProof(%d, %d): %w", i, h.Size, err)
		}
	}
	return nil
}

// checkHeadMoves checks that h is the store's root for its size and is
// consistent with prev, the last head seen (and so, by induction, with
// every head seen before).
func checkHeadMoves(ctx context.Context, st ledger.Store, prev *ledger.TreeHead, h ledger.TreeHead) error {
	root, err := st.RootHash(ctx, h.Size)
	if err != nil {
		return fmt.Errorf("RootHash(%d): %w", h.Size, err)
	}
	if root != h.Root {
		return fmt.Errorf("RootHash(%d) differs from the checkpoint's root", h.Size)
	}
	if prev == nil {
		return nil
	}
	if h.Size < prev.Size {
		return fmt.Errorf("checkpoint went back from size %d to %d", prev.Size, h.Size)
	}
	proof, err := st.ConsistencyProof(ctx, prev.Size, h.Size)
	if err != nil {
		return fmt.Errorf("ConsistencyProof(%d, %d): %w", prev.Size, h.Size, err)
	}
	if err := merkle.VerifyConsistency(prev.Size, h.Size, proof, prev.Root, h.Root); err != nil {
		return fmt.Errorf("ConsistencyProof(%d, %d): %w", prev.Size, h.Size, err)
	}
	return nil
}

// testCloseWhileReading closes a store while readers are calling it: every
// call returns a valid answer or an error, none panics or hangs, and calls
// after Close returned fail with ErrClosed.
func (s *suite) testCloseWhileReading(t *testing.T) {
	ctx := context.Background()
	st := s.h.Open(t)
	leaves := makeLeaves(t, "close-while-reading", 0, 600)
	res, err := st.Add(ctx, leaves, s.newSigner().Sign)
	require.NoError(t, err)
	n := res.Head.Size
	// at[i] is the leaf the store placed at index i (a store with
	// UnorderedBatches may have permuted the batch).
	at := make([]ledger.Leaf, n)
	for k, i := range res.Indices {
		require.Less(t, i, n)
		at[i] = leaves[k]
	}

	closed := make(chan struct{})
	errs := make(chan error, 8)
	var wg, running sync.WaitGroup
	running.Add(4)
	for r := range 4 {
		wg.Go(func() {
			ready := sync.OnceFunc(running.Done)
			defer ready() // also when the reader stops early
			rng := rand.New(rand.NewPCG(s.opts.Seed, uint64(r)))
			for k := 0; ; k++ {
				after := false // whether these calls start after Close returned
				select {
				case <-closed:
					after = true
				default:
				}
				i := rng.Uint64N(n)
				leaf, err := st.Leaf(ctx, i)
				if err == nil && merkle.HashLeaf(leaf) != at[i].Hash {
					errs <- fmt.Errorf("Leaf(%d) returned other bytes while closing", i)
					return
				}
				_, perr := st.InclusionProof(ctx, i, n)
				_, serr := st.BySubject(ctx, at[i].Subject, i, 3)
				if k == 10 {
					ready()
				}
				if after {
					for _, e := range []error{err, perr, serr} {
						if !errors.Is(e, ledger.ErrClosed) {
							errs <- fmt.Errorf("call after Close: %v, want ErrClosed", e)
							break
						}
					}
					return
				}
			}
		})
	}
	running.Wait() // every reader is in its loop
	require.NoError(t, st.Close())
	close(closed)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
