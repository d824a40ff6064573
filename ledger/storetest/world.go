package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// world is one store under test together with the model of what it must
// hold: every leaf at its index, the reference tree over them, and every
// head and checkpoint the store handed out. Subtests run one after the
// other on it, each adding to what the previous ones wrote.
type world struct {
	*suite
	store  ledger.Store
	sign   *signer
	ref    *refTree
	leaves []ledger.Leaf          // leaves[i] is the leaf at index i
	byHash map[merkle.Hash]uint64 // index of each leaf
	heads  []ledger.TreeHead      // every head an Add moved to, in order
	cps    map[uint64][]byte      // the checkpoint handed out for each head size
	fresh  int                    // leaves generated so far by next
}

func (s *suite) newWorld(t *testing.T) *world {
	return &world{
		suite:  s,
		store:  s.h.Open(t),
		sign:   s.newSigner(),
		ref:    newRefTree(),
		byHash: make(map[merkle.Hash]uint64),
		cps:    make(map[uint64][]byte),
	}
}

func (w *world) close() { w.store.Close() }

func (w *world) size() uint64 { return uint64(len(w.leaves)) }

// head returns the latest head the model knows.
func (w *world) head() ledger.TreeHead {
	if len(w.heads) == 0 {
		return ledger.TreeHead{Root: merkle.EmptyRoot()}
	}
	return w.heads[len(w.heads)-1]
}

// next returns n leaves never given to the store before.
func (w *world) next(t *testing.T, n int) []ledger.Leaf {
	l := makeLeaves(t, "world", w.fresh, n)
	w.fresh += n
	return l
}

// add adds batch to the store, checks the result against the model and
// updates the model.
func (w *world) add(t *testing.T, batch []ledger.Leaf) ledger.AddResult {
	t.Helper()
	ctx := context.Background()
	w.sign.take()
	old := w.head()
	res, err := w.store.Add(ctx, batch, w.sign.Sign)
	require.NoError(t, err)
	require.Len(t, res.Indices, len(batch), "AddResult.Indices")
	require.Len(t, res.Existed, len(batch), "AddResult.Existed")
	if res.Proofs != nil {
		require.Len(t, res.Proofs, len(batch), "AddResult.Proofs")
	}

	// What the model expects: leaves it knows exist, the first copy of
	// each other leaf is new, later copies in the batch exist.
	newAt := map[merkle.Hash]int{} // batch position of each new leaf
	var added []int
	for i, l := range batch {
		_, known := w.byHash[l.Hash]
		_, earlier := newAt[l.Hash]
		if !known && !earlier {
			newAt[l.Hash] = i
			added = append(added, i)
		}
		require.Equal(t, known || earlier, res.Existed[i], "Existed of batch leaf %d", i)
	}
	newSize := old.Size + uint64(len(added))
	placed := make([]ledger.Leaf, len(added))
	for k, i := range added {
		idx := res.Indices[i]
		if !w.opts.UnorderedBatches {
			require.Equal(t, old.Size+uint64(k), idx, "new leaf %d of the batch gets the next index", i)
		}
		require.True(t, idx >= old.Size && idx < newSize, "new leaf %d got index %d outside [%d, %d)", i, idx, old.Size, newSize)
		require.Empty(t, placed[idx-old.Size].Data, "index %d assigned twice", idx)
		placed[idx-old.Size] = batch[i]
	}
	for _, l := range placed {
		w.byHash[l.Hash] = uint64(len(w.leaves))
		w.leaves = append(w.leaves, l)
		w.ref.add(l.Hash)
	}
	for i, l := range batch {
		require.Equal(t, w.byHash[l.Hash], res.Indices[i], "index of batch leaf %d", i)
	}

	want := ledger.TreeHead{Size: newSize, Root: w.ref.root(newSize)}
	require.Equal(t, want, res.Head, "head after the batch")
	calls := w.sign.take()
	if len(added) > 0 {
		require.Equal(t, []ledger.TreeHead{want}, calls, "SignFunc is called once, with the new head")
		require.Equal(t, w.sign.signedFor(want), res.Checkpoint, "AddResult.Checkpoint is what SignFunc returned")
		w.heads = append(w.heads, want)
		w.cps[want.Size] = res.Checkpoint
	} else {
		require.Equal(t, old, res.Head, "an all-duplicate batch does not move the head")
		for _, c := range calls {
			require.Equal(t, old, c, "SignFunc called for another head than the current one")
		}
		require.LessOrEqual(t, len(calls), 1, "SignFunc calls for an all-duplicate batch")
		if old.Size > 0 {
			require.Equal(t, w.cps[old.Size], res.Checkpoint, "an all-duplicate batch returns the latest checkpoint")
		}
	}
	if newSize > 0 {
		got, err := w.openCheckpoint(res.Checkpoint)
		require.NoError(t, err)
		require.Equal(t, want, got, "the checkpoint is for the head")
		cp, err := w.store.Checkpoint(ctx)
		require.NoError(t, err)
		require.Equal(t, res.Checkpoint, cp, "Checkpoint returns the latest signed checkpoint")
	}
	for i, p := range res.Proofs {
		require.NoError(t, merkle.VerifyInclusion(batch[i].Hash, res.Indices[i], newSize, p, want.Root), "AddResult.Proofs[%d]", i)
	}
	return res
}

// checkLeaves checks Leaf and IndexOf for the leaves at [lo, hi).
func (w *world) checkLeaves(t *testing.T, lo, hi uint64) {
	t.Helper()
	ctx := context.Background()
	for i := lo; i < hi; i++ {
		got, err := w.store.Leaf(ctx, i)
		require.NoError(t, err, "Leaf(%d)", i)
		require.Equal(t, w.leaves[i].Data, got, "Leaf(%d) returns the exact bytes", i)
		idx, err := w.store.IndexOf(ctx, w.leaves[i].Hash)
		require.NoError(t, err, "IndexOf leaf %d", i)
		require.Equal(t, i, idx, "IndexOf leaf %d", i)
	}
}

func (w *world) testAddAndRead(t *testing.T) {
	for _, n := range w.opts.Sizes {
		ok := t.Run(fmt.Sprintf("batch of %d", n), func(t *testing.T) {
			before := w.size()
			w.add(t, w.next(t, n))
			w.checkLeaves(t, before, w.size())
		})
		if !ok {
			return // the model no longer matches the store
		}
	}
	t.Run("every leaf", func(t *testing.T) { w.checkLeaves(t, 0, w.size()) })
}

func (w *world) testDuplicates(t *testing.T) {
	tests := []struct {
		name  string
		batch func(t *testing.T) []ledger.Leaf
	}{
		{"inside a batch", func(t *testing.T) []ledger.Leaf {
			n := w.next(t, 3)
			return []ledger.Leaf{n[0], n[1], n[0], n[2], n[1], n[0]}
		}},
		{"across batches", func(t *testing.T) []ledger.Leaf {
			n := w.next(t, 2)
			return []ledger.Leaf{w.leaves[0], n[0], w.leaves[w.size()-1], w.leaves[w.size()/2], n[1]}
		}},
		{"all duplicates", func(t *testing.T) []ledger.Leaf {
			return []ledger.Leaf{w.leaves[1], w.leaves[1], w.leaves[0], w.leaves[w.size()-1]}
		}},
		{"one duplicate", func(t *testing.T) []ledger.Leaf {
			return []ledger.Leaf{w.leaves[w.size()/3]}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.size()
			w.add(t, tt.batch(t))
			w.checkLeaves(t, before, w.size())
		})
	}
}

// errSignFailed is the error of the failing SignFunc.
var errSignFailed = errors.New("storetest: signing refused")

func (w *world) testFailingSign(t *testing.T) {
	ctx := context.Background()
	batch := w.next(t, 3)
	before := w.head()
	subjectBefore, err := w.store.BySubject(ctx, batch[0].Subject, 0, 1<<20)
	require.NoError(t, err)

	w.sign.setFail(errSignFailed)
	_, err = w.store.Add(ctx, batch, w.sign.Sign)
	w.sign.setFail(nil)
	w.sign.take()
	require.ErrorIs(t, err, errSignFailed, "Add fails with the SignFunc's error")

	if w.opts.NonAtomicAdd || !t.Run("stores nothing", func(t *testing.T) { w.checkUnchanged(t, before, batch, subjectBefore) }) {
		// Bring the model up to what the store kept, so that the subtests
		// after this one judge the store on their own subject.
		w.resync(t)
	}
	// The same leaves go in on the next try, once.
	w.add(t, batch)
	w.checkLeaves(t, before.Size, w.size())
}

// checkUnchanged checks that a failed Add of batch left the store at head
// before.
func (w *world) checkUnchanged(t *testing.T, before ledger.TreeHead, batch []ledger.Leaf, subjectBefore []uint64) {
	ctx := context.Background()
	cp, err := w.store.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, w.cps[before.Size], cp, "a failed Add keeps the checkpoint")
	_, err = w.store.Leaf(ctx, before.Size)
	require.ErrorIs(t, err, ledger.ErrNotFound, "a failed Add stores no leaf")
	_, err = w.store.RootHash(ctx, before.Size+1)
	require.ErrorIs(t, err, ledger.ErrNotFound, "a failed Add does not grow the tree")
	for i, l := range batch {
		_, err := w.store.IndexOf(ctx, l.Hash)
		require.ErrorIs(t, err, ledger.ErrNotFound, "a failed Add indexes no leaf hash (leaf %d)", i)
	}
	got, err := w.store.BySubject(ctx, batch[0].Subject, 0, 1<<20)
	require.NoError(t, err)
	require.Equal(t, subjectBefore, got, "a failed Add indexes no subject")
}

// resync adds to the model the leaves a failed non-atomic Add left in the
// store; they must be leaves the suite gave it.
func (w *world) resync(t *testing.T) {
	ctx := context.Background()
	cp, err := w.store.Checkpoint(ctx)
	require.NoError(t, err)
	h, err := w.openCheckpoint(cp)
	require.NoError(t, err)
	require.GreaterOrEqual(t, h.Size, w.size(), "the store lost leaves")
	for i := w.size(); i < h.Size; i++ {
		data, err := w.store.Leaf(ctx, i)
		require.NoError(t, err)
		e, err := ledger.UnmarshalEntry(data)
		require.NoError(t, err, "leaf %d", i)
		l := ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: e.Subject}
		w.byHash[l.Hash] = i
		w.leaves = append(w.leaves, l)
		w.ref.add(l.Hash)
	}
	if h.Size > w.head().Size {
		require.Equal(t, w.ref.root(h.Size), h.Root)
		w.heads = append(w.heads, h)
		w.cps[h.Size] = cp
	}
}
