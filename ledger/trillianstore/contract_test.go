package trillianstore

import (
	"context"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
)

// storeContract checks the ledger.Store contract on a fresh tree: appends
// in batches (with duplicates), reads, proofs at every size against the
// roots the store reports, consistency, the subject index and errors.
func storeContract(t *testing.T, cc grpc.ClientConnInterface, mode Mode) {
	ctx := context.Background()
	signer, verifier := testSigner(t)
	sign := SignWith(signer, testOrigin)
	s := openStore(t, cc, newTree(t, cc, mode), mode, nil)

	_, err := s.Checkpoint(ctx)
	require.ErrorIs(t, err, ledger.ErrEmptyLog)
	_, err = s.Leaf(ctx, 0)
	require.ErrorIs(t, err, ledger.ErrNotFound)

	vectors := loadVectors(t)
	more := makeLeaves(t, "contract", 40, 3, 300)
	batches := []struct {
		name    string
		leaves  []ledger.Leaf
		existed []bool
	}{
		{"vectors", vectors, make([]bool, len(vectors))},
		{"single", more[:1], []bool{false}},
		{"batch with repeat inside", []ledger.Leaf{more[1], more[2], more[1]}, []bool{false, false, true}},
		{"all already present", []ledger.Leaf{more[0], vectors[0]}, []bool{true, true}},
		{"mixed new and old", append([]ledger.Leaf{more[2]}, more[3:40]...), append([]bool{true}, make([]bool, 37)...)},
	}
	var all []ledger.Leaf // all[i] is the leaf at index i
	var heads []ledger.TreeHead
	for _, b := range batches {
		t.Run(b.name, func(t *testing.T) {
			res, err := s.Add(ctx, b.leaves, sign)
			require.NoError(t, err)
			verifyResult(t, b.leaves, res, verifier)
			require.Equal(t, b.existed, res.Existed)
			oldSize := uint64(len(all))
			for i, l := range b.leaves {
				if res.Existed[i] {
					continue
				}
				if mode == ModePreordered {
					require.Equal(t, uint64(len(all)), res.Indices[i], "new leaves get the next index, in order")
				}
				all = append(all, l)
			}
			require.Equal(t, uint64(len(all)), res.Head.Size)
			// In ModeLog Trillian's sequencer orders the new leaves of a
			// batch; they fill [oldSize, Head.Size) exactly.
			for i, l := range b.leaves {
				if !res.Existed[i] {
					require.GreaterOrEqual(t, res.Indices[i], oldSize)
					all[res.Indices[i]] = l
				}
			}
			for i, l := range b.leaves {
				require.Equal(t, l.Hash, all[res.Indices[i]].Hash, "leaf %d", i)
			}
			heads = append(heads, res.Head)
			cp, err := s.Checkpoint(ctx)
			require.NoError(t, err)
			require.Equal(t, res.Checkpoint, cp)
		})
	}
	size := uint64(len(all))
	t.Run("leaves and index", func(t *testing.T) {
		for i, l := range all {
			got, err := s.Leaf(ctx, uint64(i))
			require.NoError(t, err)
			require.Equal(t, l.Data, got)
			idx, err := s.IndexOf(ctx, l.Hash)
			require.NoError(t, err)
			require.Equal(t, uint64(i), idx)
		}
		_, err := s.Leaf(ctx, size)
		require.ErrorIs(t, err, ledger.ErrNotFound)
		_, err = s.IndexOf(ctx, merkle.HashLeaf([]byte("absent")))
		require.ErrorIs(t, err, ledger.ErrNotFound)
	})
	t.Run("proofs at every size", func(t *testing.T) {
		ref := merkle.EmptyRoot()
		_ = ref
		for n := uint64(1); n <= size; n++ {
			root, err := s.RootHash(ctx, n)
			require.NoError(t, err)
			for _, i := range []uint64{0, n / 2, n - 1} {
				p, err := s.InclusionProof(ctx, i, n)
				require.NoError(t, err)
				require.NoError(t, merkle.VerifyInclusion(all[i].Hash, i, n, p, root), "leaf %d size %d", i, n)
			}
			c, err := s.ConsistencyProof(ctx, n, size)
			require.NoError(t, err)
			require.NoError(t, merkle.VerifyConsistency(n, size, c, root, heads[len(heads)-1].Root))
		}
		_, err := s.InclusionProof(ctx, 0, size+1)
		require.ErrorIs(t, err, ledger.ErrNotFound)
		_, err = s.InclusionProof(ctx, size, size)
		require.ErrorIs(t, err, ledger.ErrNotFound)
		_, err = s.ConsistencyProof(ctx, 0, size)
		require.ErrorIs(t, err, ledger.ErrNotFound)
		_, err = s.RootHash(ctx, size+1)
		require.ErrorIs(t, err, ledger.ErrNotFound)
	})
	t.Run("by subject", func(t *testing.T) {
		want := map[ledger.SubjectTag][]uint64{}
		for i, l := range all {
			want[l.Subject] = append(want[l.Subject], uint64(i))
		}
		for subj, idx := range want {
			got, err := s.BySubject(ctx, subj, 0, 1000)
			require.NoError(t, err)
			require.Equal(t, idx, got)
			got, err = s.BySubject(ctx, subj, idx[len(idx)-1], 1)
			require.NoError(t, err)
			require.Equal(t, idx[len(idx)-1:], got)
		}
		got, err := s.BySubject(ctx, ledger.DeriveSubjectTag("test", "nobody"), 0, 10)
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("closed", func(t *testing.T) {
		require.NoError(t, s.Close())
		_, err := s.Checkpoint(ctx)
		require.ErrorIs(t, err, ledger.ErrClosed)
		_, err = s.Add(ctx, more[:1], sign)
		require.ErrorIs(t, err, ledger.ErrClosed)
		require.NoError(t, s.Close(), "Close twice")
	})
}

// reopenContract checks what a restarted frontend sees: a Store opened on
// an existing tree re-signs the same head byte for byte with Config.Sign,
// refuses to invent a checkpoint without one, and deduplicates against
// leaves appended through another Store.
func reopenContract(t *testing.T, cc grpc.ClientConnInterface, mode Mode) {
	ctx := context.Background()
	signer, verifier := testSigner(t)
	sign := SignWith(signer, testOrigin)
	tree := newTree(t, cc, mode)
	first := openStore(t, cc, tree, mode, nil)
	leaves := makeLeaves(t, "reopen", 10, 2, 200)
	res, err := first.Add(ctx, leaves[:6], sign)
	require.NoError(t, err)
	require.NoError(t, first.Close())

	t.Run("without signer", func(t *testing.T) {
		s := openStore(t, cc, tree, mode, nil)
		_, err := s.Checkpoint(ctx)
		require.ErrorIs(t, err, ErrNoSigner)
	})
	t.Run("with signer", func(t *testing.T) {
		s := openStore(t, cc, tree, mode, sign)
		cp, err := s.Checkpoint(ctx)
		require.NoError(t, err)
		// The same head, re-signed (byte-identical only within the same
		// second: the note carries the signed time in seconds).
		got, _, err := ledger.OpenCheckpoint(cp, testOrigin, verifier)
		require.NoError(t, err)
		require.Equal(t, res.Head.Size, got.Size)
		require.Equal(t, res.Head.Root, got.Root)
		again, err := s.Add(ctx, leaves, sign)
		require.NoError(t, err)
		verifyResult(t, leaves, again, verifier)
		require.Equal(t, []bool{true, true, true, true, true, true, false, false, false, false}, again.Existed)
		require.Equal(t, res.Indices, again.Indices[:6])
		require.Equal(t, uint64(10), again.Head.Size)
	})
	t.Run("log opens", func(t *testing.T) {
		s := openStore(t, cc, tree, mode, sign)
		l, err := ledger.Open(ctx, ledger.Config{Store: s, Signer: signer, Origin: testOrigin})
		require.NoError(t, err)
		require.NoError(t, l.Close())
	})
}

// signerOf is a helper for tests that need only the verifier.
func signerOf(t *testing.T) (ledger.SignFunc, note.Verifier) {
	s, v := testSigner(t)
	return SignWith(s, testOrigin), v
}
