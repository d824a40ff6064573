package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// checkRoot checks the store's root of the tree of size n against the
// reference.
func checkRoot(ctx context.Context, s ledger.Store, ref *refTree, n uint64) error {
	got, err := s.RootHash(ctx, n)
	if err != nil {
		return fmt.Errorf("RootHash(%d): %w", n, err)
	}
	if want := ref.root(n); got != want {
		return fmt.Errorf("RootHash(%d) = %v, reference %v", n, got, want)
	}
	return nil
}

// checkInclusion checks the store's inclusion proof of leaf i in the tree
// of size n: it must be the reference's proof and verify.
func checkInclusion(ctx context.Context, s ledger.Store, ref *refTree, i, n uint64) error {
	got, err := s.InclusionProof(ctx, i, n)
	if err != nil {
		return fmt.Errorf("InclusionProof(%d, %d): %w", i, n, err)
	}
	if want := ref.inclusion(i, n); !equalHashes(got, want) {
		return fmt.Errorf("InclusionProof(%d, %d) = %v, reference %v", i, n, got, want)
	}
	if err := merkle.VerifyInclusion(ref.leaves[i], i, n, got, ref.root(n)); err != nil {
		return fmt.Errorf("InclusionProof(%d, %d) does not verify: %w", i, n, err)
	}
	return nil
}

// checkConsistency checks the store's consistency proof from size m to n:
// it must be the reference's proof and verify.
func checkConsistency(ctx context.Context, s ledger.Store, ref *refTree, m, n uint64) error {
	got, err := s.ConsistencyProof(ctx, m, n)
	if err != nil {
		return fmt.Errorf("ConsistencyProof(%d, %d): %w", m, n, err)
	}
	if want := ref.consistency(m, n); !equalHashes(got, want) {
		return fmt.Errorf("ConsistencyProof(%d, %d) = %v, reference %v", m, n, got, want)
	}
	if err := merkle.VerifyConsistency(m, n, got, ref.root(m), ref.root(n)); err != nil {
		return fmt.Errorf("ConsistencyProof(%d, %d) does not verify: %w", m, n, err)
	}
	return nil
}

func equalHashes(a, b []merkle.Hash) bool {
	return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b))
}

// proofSizes returns the tree sizes the proof test covers: every size up to
// 300, every head, and samples random sizes up to n.
func proofSizes(r *rand.Rand, heads []ledger.TreeHead, n uint64, samples int) []uint64 {
	set := map[uint64]bool{n: true}
	for s := uint64(1); s <= min(n, 300); s++ {
		set[s] = true
	}
	for _, h := range heads {
		set[h.Size] = true
	}
	for range samples {
		set[1+r.Uint64N(n)] = true
	}
	out := make([]uint64, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func (w *world) rand() *rand.Rand { return rand.New(rand.NewPCG(w.opts.Seed, w.size())) }

func (w *world) testProofs(t *testing.T) {
	ctx := context.Background()
	n := w.size()
	r := w.rand()
	sizes := proofSizes(r, w.heads, n, w.opts.ProofSamples)
	t.Run("root", func(t *testing.T) {
		for _, s := range sizes {
			require.NoError(t, checkRoot(ctx, w.store, w.ref, s))
		}
	})
	t.Run("inclusion", func(t *testing.T) {
		for _, s := range sizes {
			for _, i := range []uint64{0, s / 2, s - 1, r.Uint64N(s)} {
				require.NoError(t, checkInclusion(ctx, w.store, w.ref, i, s))
			}
		}
		// Every leaf against the latest head, in the small-size range.
		for i := range min(n, 300) {
			require.NoError(t, checkInclusion(ctx, w.store, w.ref, i, n))
		}
	})
	t.Run("consistency", func(t *testing.T) {
		for _, a := range w.heads {
			for _, b := range w.heads {
				if a.Size <= b.Size {
					require.NoError(t, checkConsistency(ctx, w.store, w.ref, a.Size, b.Size))
				}
			}
		}
		for m := uint64(1); m <= min(n, 300); m++ {
			require.NoError(t, checkConsistency(ctx, w.store, w.ref, m, n))
			require.NoError(t, checkConsistency(ctx, w.store, w.ref, m, min(n, 300)))
		}
		for range w.opts.ProofSamples {
			a, b := 1+r.Uint64N(n), 1+r.Uint64N(n)
			require.NoError(t, checkConsistency(ctx, w.store, w.ref, min(a, b), max(a, b)))
		}
	})
}

func (w *world) testOutOfRange(t *testing.T) {
	ctx := context.Background()
	n := w.size()
	absent := makeLeaves(t, "absent", 0, 1)[0]
	tests := []struct {
		name string
		call func() error
	}{
		{"Leaf at size", func() error { _, err := w.store.Leaf(ctx, n); return err }},
		{"Leaf far beyond", func() error { _, err := w.store.Leaf(ctx, n+1000); return err }},
		{"Leaf at max uint64", func() error { _, err := w.store.Leaf(ctx, ^uint64(0)); return err }},
		{"IndexOf absent leaf", func() error { _, err := w.store.IndexOf(ctx, absent.Hash); return err }},
		{"InclusionProof index = size", func() error { _, err := w.store.InclusionProof(ctx, n, n); return err }},
		{"InclusionProof index > size", func() error { _, err := w.store.InclusionProof(ctx, 5, 3); return err }},
		{"InclusionProof size beyond log", func() error { _, err := w.store.InclusionProof(ctx, 0, n+1); return err }},
		{"InclusionProof size 0", func() error { _, err := w.store.InclusionProof(ctx, 0, 0); return err }},
		{"ConsistencyProof from 0", func() error { _, err := w.store.ConsistencyProof(ctx, 0, n); return err }},
		{"ConsistencyProof m > n", func() error { _, err := w.store.ConsistencyProof(ctx, 3, 2); return err }},
		{"ConsistencyProof n beyond log", func() error { _, err := w.store.ConsistencyProof(ctx, 1, n+1); return err }},
		{"RootHash beyond log", func() error { _, err := w.store.RootHash(ctx, n+1); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, tt.call(), ledger.ErrNotFound)
		})
	}
}

// subjectIndex returns, per subject, the indices of its leaves in order.
func (w *world) subjectIndex() map[ledger.SubjectTag][]uint64 {
	want := map[ledger.SubjectTag][]uint64{}
	for i, l := range w.leaves {
		want[l.Subject] = append(want[l.Subject], uint64(i))
	}
	return want
}

func (w *world) checkBySubject(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	want := w.subjectIndex()
	for subj, idx := range want {
		got, err := w.store.BySubject(ctx, subj, 0, len(idx)+10)
		require.NoError(t, err)
		require.Equal(t, idx, got, "every leaf of a subject, in order")
	}
}

func (w *world) testBySubject(t *testing.T) {
	ctx := context.Background()
	want := w.subjectIndex()
	subj := w.leaves[0].Subject
	idx := want[subj]
	require.Greater(t, len(idx), 10)
	mid := len(idx) / 2
	tests := []struct {
		name  string
		subj  ledger.SubjectTag
		start uint64
		limit int
		want  []uint64
	}{
		{"all", subj, 0, len(idx), idx},
		{"limit above count", subj, 0, len(idx) + 100, idx},
		{"limit", subj, 0, 5, idx[:5]},
		{"limit 1", subj, 0, 1, idx[:1]},
		{"start at an index of the subject", subj, idx[mid], 3, idx[mid : mid+3]},
		{"start between indices", subj, idx[mid] + 1, 3, idx[mid+1 : mid+4]},
		{"start at the last", subj, idx[len(idx)-1], 10, idx[len(idx)-1:]},
		{"start after the last", subj, idx[len(idx)-1] + 1, 10, nil},
		{"start beyond the log", subj, w.size() + 5, 10, nil},
		{"limit 0", subj, 0, 0, nil},
		{"unknown subject", ledger.DeriveSubjectTag("storetest", "nobody"), 0, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.store.BySubject(ctx, tt.subj, tt.start, tt.limit)
			require.NoError(t, err)
			if len(tt.want) == 0 {
				require.Empty(t, got)
				return
			}
			require.Equal(t, tt.want, got)
		})
	}
	t.Run("every subject", w.checkBySubject)
	t.Run("pages", func(t *testing.T) {
		for s, idx := range want {
			var all []uint64
			for start := uint64(0); len(all) <= len(idx); {
				page, err := w.store.BySubject(ctx, s, start, 7)
				require.NoError(t, err)
				require.LessOrEqual(t, len(page), 7)
				all = append(all, page...)
				if len(page) < 7 {
					break
				}
				start = page[len(page)-1] + 1
			}
			require.Equal(t, idx, all, "pages of 7 add up to the subject's leaves")
		}
	})
}

func (w *world) testReopen(t *testing.T) {
	ctx := context.Background()
	require.NoError(t, w.store.Close())
	w.store = w.h.Reopen(t, w.store)
	n := w.size()
	last := w.head()

	t.Run("checkpoint", func(t *testing.T) {
		cp, err := w.store.Checkpoint(ctx)
		require.NoError(t, err)
		if w.opts.ResignsOnReopen {
			head, err := w.openCheckpoint(cp)
			require.NoError(t, err)
			require.Equal(t, last, head, "the re-signed checkpoint is for the same tree")
			w.cps[last.Size] = cp
		} else {
			require.Equal(t, w.cps[last.Size], cp)
		}
		require.NoError(t, checkRoot(ctx, w.store, w.ref, n))
	})
	t.Run("leaves", func(t *testing.T) { w.checkLeaves(t, 0, n) })
	t.Run("subjects", w.checkBySubject)
	t.Run("tiles", w.checkTiles)
	t.Run("proofs", func(t *testing.T) {
		r := w.rand()
		for _, h := range w.heads {
			require.NoError(t, checkRoot(ctx, w.store, w.ref, h.Size))
			require.NoError(t, checkInclusion(ctx, w.store, w.ref, r.Uint64N(h.Size), h.Size))
			require.NoError(t, checkConsistency(ctx, w.store, w.ref, h.Size, n))
		}
	})
	t.Run("duplicates found", func(t *testing.T) {
		w.add(t, []ledger.Leaf{w.leaves[0], w.leaves[n-1], w.leaves[n/2]})
	})
	t.Run("appends continue the tree", func(t *testing.T) {
		w.add(t, w.next(t, 300))
		w.checkLeaves(t, n, w.size())
		for _, h := range w.heads {
			require.NoError(t, checkConsistency(ctx, w.store, w.ref, h.Size, w.size()))
		}
	})
}

// hugeArgs lists calls with arguments at the edges of their types (the
// largest uint64 and int, negative limits, starts past the log): each must
// return an error wrapping ledger.ErrNotFound, or for BySubject the
// documented page (possibly empty), and none may panic or overflow. n is
// the store's size; idx are the indices of subject subj, in order.
func hugeArgs(st ledger.Store, n uint64, subj ledger.SubjectTag, idx []uint64) []hugeArgCase {
	const maxU = math.MaxUint64
	ctx := context.Background()
	var cases []hugeArgCase
	notFound := func(name string, call func() error) {
		cases = append(cases, hugeArgCase{name: name, call: func() ([]uint64, error) { return nil, call() }, notFound: true})
	}
	bySubject := func(name string, start uint64, limit int, want []uint64) {
		cases = append(cases, hugeArgCase{name: name, want: want, call: func() ([]uint64, error) {
			return st.BySubject(ctx, subj, start, limit)
		}})
	}
	for _, i := range []uint64{maxU, maxU - 1, math.MaxInt64, math.MaxInt64 + 1, n + 1<<32} {
		notFound(fmt.Sprintf("Leaf(%d)", i), func() error { _, err := st.Leaf(ctx, i); return err })
		notFound(fmt.Sprintf("RootHash(%d)", i), func() error { _, err := st.RootHash(ctx, i); return err })
		notFound(fmt.Sprintf("InclusionProof(0, %d)", i), func() error { _, err := st.InclusionProof(ctx, 0, i); return err })
		notFound(fmt.Sprintf("InclusionProof(%d, %d)", i, i), func() error { _, err := st.InclusionProof(ctx, i, i); return err })
		notFound(fmt.Sprintf("InclusionProof(%d, %d)", i-1, i), func() error { _, err := st.InclusionProof(ctx, i-1, i); return err })
		notFound(fmt.Sprintf("InclusionProof(%d, n)", i), func() error { _, err := st.InclusionProof(ctx, i, n); return err })
		notFound(fmt.Sprintf("ConsistencyProof(1, %d)", i), func() error { _, err := st.ConsistencyProof(ctx, 1, i); return err })
		notFound(fmt.Sprintf("ConsistencyProof(%d, %d)", i, i), func() error { _, err := st.ConsistencyProof(ctx, i, i); return err })
		notFound(fmt.Sprintf("ConsistencyProof(%d, n)", i), func() error { _, err := st.ConsistencyProof(ctx, i, n); return err })
		notFound(fmt.Sprintf("ConsistencyProof(n, %d)", i), func() error { _, err := st.ConsistencyProof(ctx, n, i); return err })
		notFound(fmt.Sprintf("ConsistencyProof(0, %d)", i), func() error { _, err := st.ConsistencyProof(ctx, 0, i); return err })
		bySubject(fmt.Sprintf("BySubject from %d, limit max int", i), i, math.MaxInt, nil)
		bySubject(fmt.Sprintf("BySubject from %d, limit 10", i), i, 10, nil)
	}
	var tail, mid []uint64
	if len(idx) > 0 {
		tail, mid = idx[len(idx)-1:], idx[len(idx)/2:]
	}
	for _, limit := range []int{math.MaxInt, math.MaxInt - 1, math.MaxInt32, math.MaxInt32 + 1} {
		bySubject(fmt.Sprintf("BySubject from 0, limit %d", limit), 0, limit, idx)
		bySubject(fmt.Sprintf("BySubject from 1, limit %d", limit), 1, limit, without0(idx))
		if len(idx) > 0 {
			bySubject(fmt.Sprintf("BySubject from the middle, limit %d", limit), mid[0], limit, mid)
			bySubject(fmt.Sprintf("BySubject from the last, limit %d", limit), tail[0], limit, tail)
		}
		bySubject(fmt.Sprintf("BySubject from n, limit %d", limit), n, limit, nil)
	}
	for _, limit := range []int{-1, -1000, math.MinInt, math.MinInt + 1, math.MinInt32} {
		bySubject(fmt.Sprintf("BySubject from 0, limit %d", limit), 0, limit, nil)
		bySubject(fmt.Sprintf("BySubject from max uint64, limit %d", limit), maxU, limit, nil)
	}
	return cases
}

// without0 returns idx without a leading index 0.
func without0(idx []uint64) []uint64 {
	if len(idx) > 0 && idx[0] == 0 {
		return idx[1:]
	}
	return idx
}

// hugeArgCase is one call of hugeArgs: it must fail with ErrNotFound, or
// return want.
type hugeArgCase struct {
	name     string
	call     func() ([]uint64, error)
	notFound bool
	want     []uint64
}

// run runs the call, turning a panic into a test failure that names it.
func (c hugeArgCase) run(t *testing.T) {
	t.Helper()
	var (
		got []uint64
		err error
	)
	panicked := func() (p any) {
		defer func() { p = recover() }()
		got, err = c.call()
		return nil
	}()
	require.Nil(t, panicked, "%s panicked", c.name)
	if c.notFound {
		require.ErrorIs(t, err, ledger.ErrNotFound, c.name)
		return
	}
	require.NoError(t, err, c.name)
	if len(c.want) == 0 {
		require.Empty(t, got, c.name)
		return
	}
	require.Equal(t, c.want, got, c.name)
}

// testHugeArguments calls every read with arguments at the edges of their
// types, on the world's store.
func (w *world) testHugeArguments(t *testing.T) {
	subj := w.leaves[0].Subject
	for _, c := range hugeArgs(w.store, w.size(), subj, w.subjectIndex()[subj]) {
		t.Run(c.name, c.run)
	}
	for _, c := range hugeTileArgs(w.store, w.size()) {
		t.Run(c.name, c.run)
	}
}
