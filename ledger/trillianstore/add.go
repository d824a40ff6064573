package trillianstore

import (
	"context"
	"fmt"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// batch is the work of one Add: the distinct leaves in first-seen order and,
// for each input leaf, which distinct leaf it is.
type batch struct {
	leaves  []ledger.Leaf
	uniq    []int // uniq[k] is the input position of distinct leaf k
	which   []int // which[i] is the distinct leaf of input leaf i
	index   []uint64
	existed []bool
	proofs  [][]merkle.Hash
}

func newBatch(leaves []ledger.Leaf) *batch {
	b := &batch{leaves: leaves, which: make([]int, len(leaves))}
	first := make(map[merkle.Hash]int, len(leaves))
	for i, l := range leaves {
		k, ok := first[l.Hash]
		if !ok {
			k = len(b.uniq)
			first[l.Hash] = k
			b.uniq = append(b.uniq, i)
		}
		b.which[i] = k
	}
	n := len(b.uniq)
	b.index, b.existed = make([]uint64, n), make([]bool, n)
	b.proofs = make([][]merkle.Hash, n)
	return b
}

// leaf returns distinct leaf k.
func (b *batch) leaf(k int) *ledger.Leaf { return &b.leaves[b.uniq[k]] }

// Add integrates leaves into the Trillian tree, waits until Trillian has
// sequenced and integrated all of them, fetches and verifies their inclusion
// proofs against one tree head, and signs that head with sign.
//
// Trillian writes leaves before their tree head exists, so Add cannot be
// all-or-nothing the way the native stores are: when Add returns an error
// (a timeout, Close, a failing sign), some of the leaves may still become
// part of the log. They are never duplicated: a retried Add of the same
// leaves reports them as existing (Existed true) with their index.
//
// In ModePreordered the new leaves get consecutive indices in the given
// order. In ModeLog, Trillian's sequencer chooses the order of the leaves of
// one batch (and interleaves other frontends' leaves); each leaf's index is
// in the result.
func (s *Store) Add(ctx context.Context, leaves []ledger.Leaf, sign ledger.SignFunc) (ledger.AddResult, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return ledger.AddResult{}, err
	}
	defer done()
	if sign == nil {
		return ledger.AddResult{}, fmt.Errorf("%w: nil SignFunc", ErrConfig)
	}
	for i := range leaves {
		if merkle.HashLeaf(leaves[i].Data) != leaves[i].Hash {
			return ledger.AddResult{}, fmt.Errorf("%w: leaf %d: Hash is not the leaf hash of Data", ledger.ErrInvalidEntry, i)
		}
	}
	if err := s.putPayloads(ctx, leaves); err != nil {
		return ledger.AddResult{}, err
	}
	s.addMu.Lock()
	defer s.addMu.Unlock()
	b := newBatch(leaves)
	var head ledger.TreeHead
	if s.cfg.Mode == ModePreordered {
		head, err = s.addPreordered(ctx, b)
	} else {
		head, err = s.addQueued(ctx, b)
	}
	if err != nil {
		return ledger.AddResult{}, err
	}
	return s.finish(ctx, b, head, sign)
}

// finish computes every proof against head from the store's mirror of the
// tree (extended to head first, which checks the leaves against head's
// root), verifies each against head's root and the batch's own leaf hash,
// signs head and builds the result.
func (s *Store) finish(ctx context.Context, b *batch, head ledger.TreeHead, sign ledger.SignFunc) (ledger.AddResult, error) {
	start := time.Now()
	defer func() {
		s.cfg.Logger.Debug("trillianstore: proofs and signature", "leaves", len(b.uniq), "took", time.Since(start))
	}()
	if err := s.mirrorTo(ctx, head); err != nil {
		return ledger.AddResult{}, err
	}
	r, err := s.tilesAt(ctx, head.Size)
	if err != nil {
		return ledger.AddResult{}, err
	}
	for k := range b.uniq {
		if b.proofs[k], err = r.proof(b.index[k], head.Size, head.Root, b.leaf(k).Hash); err != nil {
			return ledger.AddResult{}, err
		}
	}
	// A batch that added nothing returns the checkpoint already signed for
	// this head, as the Store contract asks (signing again would give the
	// same head a new signed time).
	s.mu.Lock()
	held, note := s.head, s.checkpoint
	s.mu.Unlock()
	if note == nil || held != head {
		if note, err = sign(head); err != nil {
			return ledger.AddResult{}, fmt.Errorf("trillianstore: signing tree head: %w", err)
		}
	}
	s.remember(head, note, sign)
	res := ledger.AddResult{
		Indices:    make([]uint64, len(b.leaves)),
		Existed:    make([]bool, len(b.leaves)),
		Proofs:     make([][]merkle.Hash, len(b.leaves)),
		Head:       head,
		Checkpoint: note,
	}
	for i, k := range b.which {
		res.Indices[i] = b.index[k]
		// A repeat of an earlier leaf of the same batch exists by then.
		res.Existed[i] = b.existed[k] || b.uniq[k] != i
		res.Proofs[i] = append([]merkle.Hash(nil), b.proofs[k]...)
	}
	return res, nil
}

// lookupAll looks up the distinct leaves in todo in the tree of the given
// size, records the index of those found, and returns the rest.
func (s *Store) lookupAll(ctx context.Context, b *batch, todo []int, size uint64) ([]int, error) {
	found := make([]bool, len(todo))
	err := s.fanOut(ctx, len(todo), func(ctx context.Context, j int) error {
		k := todo[j]
		idx, _, ok, err := s.lookup(ctx, b.leaf(k).Hash, size)
		if ok {
			b.index[k], found[j] = idx, true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var rest []int
	for j, k := range todo {
		if !found[j] {
			rest = append(rest, k)
		}
	}
	return rest, nil
}
