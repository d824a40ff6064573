package merkle

import (
	"fmt"
	"math/bits"
)

// InclusionProofs returns the RFC 9162 inclusion proofs of the count
// leaves [first, first+count) in the tree of the given size: proofs[i] is
// what InclusionProof(first+i, size, r) returns. It is meant for a batch
// of leaves just appended, whose proofs share most of their nodes: it reads
// the perfect nodes of each proof with one ReadHashes call and hashes each
// partial (ephemeral) subtree on the tree's right edge once for the whole
// batch, not once per proof.
//
// The proofs share one backing array, allocated once; each has its own
// capacity, so appending to one never changes another. A count of zero
// returns no proofs; a range that is not within [0, size) fails with an
// error wrapping ErrInvalidRange.
func InclusionProofs(first, count, size uint64, r HashReader) ([][]Hash, error) {
	if count == 0 {
		return nil, nil
	}
	if first >= size || count > size-first {
		return nil, fmt.Errorf("%w: leaves [%d, +%d) not below size %d", ErrInvalidRange, first, count, size)
	}
	height := bits.Len64(size - 1) // the longest proof in a tree of this size
	proofs := make([][]Hash, count)
	backing := make([]Hash, 0, int(count)*height)
	p := proofPlanner{size: size, eph: map[uint64]Hash{}}
	for i := range proofs {
		proof, err := p.prove(first+uint64(i), r, backing[len(backing):len(backing)])
		if err != nil {
			return nil, err
		}
		backing = backing[:len(backing)+len(proof)]
		proofs[i] = proof[:len(proof):len(proof)]
	}
	return proofs, nil
}

// proofPlanner builds the inclusion proofs of leaves of one tree, keeping
// its scratch space and the hashes of the ephemeral subtrees it computed
// between proofs.
type proofPlanner struct {
	size uint64
	// eph maps the first leaf a of a range [a, size) that is not a perfect
	// subtree to the range's Merkle tree hash.
	eph map[uint64]Hash
	// ids and hashes are scratch space for one ReadHashes call.
	ids    []NodeID
	hashes []Hash
}

// prove appends the inclusion proof of leaf m to dst and returns it.
//
// It follows RFC 9162's PATH(m, D[0:n]) from the root down: while the
// range [lo, n) holding m is not perfect, m is either right of the split
// at lo+k (k the largest power of two below n-lo), and the perfect left
// half is a proof node, or left of it, and the right part [lo+k, n) is
// one: its hash is the ephemeral node, computed from the perfect nodes
// covering it. Below that, within a perfect subtree, the proof holds the
// sibling of m's ancestor at each level. The proof lists nodes from the
// leaf up, so the left halves, found first, come last.
func (p *proofPlanner) prove(m uint64, r HashReader, dst []Hash) ([]Hash, error) {
	p.ids = p.ids[:0]
	var (
		lefts    int    // number of left halves, at the start of ids
		ephStart uint64 // first leaf of the right part, if hasEph
		hasEph   bool
		lo, hi   = uint64(0), p.size
	)
	for hi-lo > 1 {
		k := uint64(1) << (bits.Len64(hi-lo-1) - 1)
		if m < lo+k {
			ephStart, hasEph = lo+k, true
			hi = lo + k
			break
		}
		p.ids = append(p.ids, NewNodeID(uint(bits.TrailingZeros64(k)), lo/k))
		lefts++
		lo += k
	}
	// [lo, hi) is now a perfect subtree holding m: the siblings of m's
	// ancestors below its root.
	for level := 0; uint64(1)<<level < hi-lo; level++ {
		p.ids = append(p.ids, NewNodeID(uint(level), (m>>level)^1))
	}
	// The perfect nodes covering the right part, unless its hash is known.
	ephFirst, ephKnown := len(p.ids), false
	var ephHash Hash
	if hasEph {
		if ephHash, ephKnown = p.eph[ephStart]; !ephKnown {
			p.ids = appendRange(p.ids, ephStart, p.size)
		}
	}
	p.hashes = append(p.hashes[:0], make([]Hash, len(p.ids))...)
	if err := r.ReadHashes(p.ids, p.hashes); err != nil {
		return nil, err
	}
	dst = append(dst, p.hashes[lefts:ephFirst]...)
	if hasEph {
		if !ephKnown {
			ephHash = foldRight(p.hashes[ephFirst:])
			p.eph[ephStart] = ephHash
		}
		dst = append(dst, ephHash)
	}
	for j := lefts - 1; j >= 0; j-- {
		dst = append(dst, p.hashes[j])
	}
	return dst, nil
}

// appendRange appends the perfect nodes covering the leaves [a, b), left
// to right, for an a aligned to the largest power of two not above b-a
// (true of every right part prove meets).
func appendRange(ids []NodeID, a, b uint64) []NodeID {
	for n := b - a; n > 0; {
		level := bits.Len64(n) - 1
		ids = append(ids, NewNodeID(uint(level), a>>level))
		a += 1 << level
		n -= 1 << level
	}
	return ids
}

// foldRight returns the Merkle tree hash of the range covered by the
// perfect nodes hashes (left to right, decreasing in size): the rightmost
// two are hashed together first.
func foldRight(hashes []Hash) Hash {
	h := hashes[len(hashes)-1]
	for j := len(hashes) - 2; j >= 0; j-- {
		h = HashChildren(hashes[j], h)
	}
	return h
}
