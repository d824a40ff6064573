package trillianstore

import (
	"context"
	"math/bits"

	"github.com/google/trillian"
	"github.com/healthledger/healthledger/merkle"
)

// rangeTree computes RFC 6962 inclusion proofs for the leaves [start, size)
// of a tree without asking Trillian for each: it knows those leaves' hashes
// and the compact range of [0, start), the root hashes of the perfect
// subtrees that the binary decomposition of start splits [0, start) into.
// A PREORDERED_LOG batch is such a range, so its proofs cost one RPC
// instead of one per leaf. (RFC 9162, section 2.1.3.1, PATH.)
type rangeTree struct {
	start  uint64
	blocks map[[2]uint64]merkle.Hash // compact range of [0, start), by [lo, hi)
	leaves []merkle.Hash             // leaves[i] is the hash of leaf start+i
	memo   map[[2]uint64]merkle.Hash // hashes of ranges that end after start
}

// compactRange returns the compact range of [0, size) from the hash of leaf
// size-1 and its inclusion proof in the tree of size size. For the last leaf
// every proof hash is a left sibling: first the siblings inside the
// smallest perfect subtree, then the other subtrees from small to large.
func compactRange(size uint64, last merkle.Hash, proof []merkle.Hash) (map[[2]uint64]merkle.Hash, bool) {
	low := bits.TrailingZeros64(size) // the smallest subtree has 2^low leaves
	if len(proof) != low+bits.OnesCount64(size)-1 {
		return nil, false
	}
	h := last
	for _, p := range proof[:low] {
		h = merkle.HashChildren(p, h)
	}
	blocks := make(map[[2]uint64]merkle.Hash)
	hi := size
	rest := proof[low:]
	for lvl := low; hi > 0; lvl++ {
		if size&(1<<lvl) == 0 {
			continue
		}
		lo := hi - 1<<lvl
		if lvl != low {
			h, rest = rest[0], rest[1:]
		}
		blocks[[2]uint64{lo, hi}] = h
		hi = lo
	}
	return blocks, true
}

// hash returns the root hash of leaves [lo, hi), or false if it needs a
// part of [0, start) that is not one of the known subtrees.
func (t *rangeTree) hash(lo, hi uint64) (merkle.Hash, bool) {
	if hi <= t.start {
		h, ok := t.blocks[[2]uint64{lo, hi}]
		return h, ok
	}
	if hi-lo == 1 {
		return t.leaves[lo-t.start], true
	}
	if h, ok := t.memo[[2]uint64{lo, hi}]; ok {
		return h, true
	}
	k := splitPoint(hi - lo)
	l, ok1 := t.hash(lo, lo+k)
	r, ok2 := t.hash(lo+k, hi)
	if !ok1 || !ok2 {
		return merkle.Hash{}, false
	}
	h := merkle.HashChildren(l, r)
	t.memo[[2]uint64{lo, hi}] = h
	return h, true
}

// proof returns the inclusion proof of leaf m in the tree of leaves [lo, hi).
func (t *rangeTree) proof(m, lo, hi uint64) ([]merkle.Hash, bool) {
	if hi-lo == 1 {
		return []merkle.Hash{}, true
	}
	k := splitPoint(hi - lo)
	var p []merkle.Hash
	var sib merkle.Hash
	var ok1, ok2 bool
	if m < lo+k {
		p, ok1 = t.proof(m, lo, lo+k)
		sib, ok2 = t.hash(lo+k, hi)
	} else {
		p, ok1 = t.proof(m, lo+k, hi)
		sib, ok2 = t.hash(lo, lo+k)
	}
	return append(p, sib), ok1 && ok2
}

// splitPoint returns the largest power of two smaller than n (n > 1).
func splitPoint(n uint64) uint64 { return 1 << (bits.Len64(n-1) - 1) }

// localProofs fills in, for the distinct leaves of b that were added at
// [start, size) in this order (indices start+j for todo[j]), their proofs
// in the tree of size size, using one GetEntryAndProof RPC for the
// compact range of [0, start). It leaves the proofs unset (to be fetched
// one by one) if anything does not fit; finish verifies all of them.
func (s *Store) localProofs(ctx context.Context, b *batch, added []int, start, size uint64) {
	if len(added) == 0 || start+uint64(len(added)) != size {
		return
	}
	t := &rangeTree{start: start, memo: make(map[[2]uint64]merkle.Hash), leaves: make([]merkle.Hash, len(added))}
	for j, k := range added {
		if b.index[k] != start+uint64(j) {
			return
		}
		t.leaves[j] = b.leaf(k).Hash
	}
	if start > 0 {
		var resp *trillian.GetEntryAndProofResponse
		err := s.call(ctx, "GetEntryAndProof", func(ctx context.Context) (err error) {
			resp, err = s.log.GetEntryAndProof(ctx, &trillian.GetEntryAndProofRequest{
				LogId: s.cfg.TreeID, LeafIndex: int64(start - 1), TreeSize: int64(start),
			})
			return err
		})
		if err != nil || resp.GetLeaf() == nil || len(resp.GetLeaf().MerkleLeafHash) != merkle.HashSize {
			return
		}
		proof, err := toHashes(resp.GetProof().GetHashes())
		if err != nil {
			return
		}
		var last merkle.Hash
		copy(last[:], resp.Leaf.MerkleLeafHash)
		var ok bool
		if t.blocks, ok = compactRange(start, last, proof); !ok {
			return
		}
	}
	proofs := make([][]merkle.Hash, len(added))
	for j := range added {
		p, ok := t.proof(start+uint64(j), 0, size)
		if !ok {
			return
		}
		proofs[j] = p
	}
	for j, k := range added {
		b.proofs[k], b.proofAt[k] = proofs[j], size
	}
}
