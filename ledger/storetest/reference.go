package storetest

import (
	"math/bits"

	"github.com/healthledger/healthledger/merkle"
)

// refTree is a naive RFC 6962 Merkle tree (section 2.1 of RFC 6962, section
// 2.1.1 to 2.1.4 of RFC 9162): MTH, PATH and SUBPROOF written recursively
// over ranges of leaf hashes, exactly as the RFC defines them. It shares no
// code with the stores under test or with package merkle's proof code; only
// merkle.HashChildren and merkle.EmptyRoot are used, and those are checked
// against published vectors in this package's tests.
//
// Subtree hashes are memoized by range. A range [lo, hi) hashes the same in
// every tree that contains it, so trees of many sizes over one growing leaf
// list share them; leaves are only ever appended, never changed.
type refTree struct {
	leaves []merkle.Hash
	memo   map[[2]uint64]merkle.Hash
}

func newRefTree() *refTree {
	return &refTree{memo: make(map[[2]uint64]merkle.Hash)}
}

// add appends leaf hashes.
func (r *refTree) add(h ...merkle.Hash) { r.leaves = append(r.leaves, h...) }

// size returns the number of leaves.
func (r *refTree) size() uint64 { return uint64(len(r.leaves)) }

// split returns k, the largest power of two strictly smaller than n (n > 1).
func split(n uint64) uint64 { return 1 << (bits.Len64(n-1) - 1) }

// mth returns MTH(D[lo:hi]).
func (r *refTree) mth(lo, hi uint64) merkle.Hash {
	switch hi - lo {
	case 0:
		return merkle.EmptyRoot()
	case 1:
		return r.leaves[lo]
	}
	key := [2]uint64{lo, hi}
	if h, ok := r.memo[key]; ok {
		return h
	}
	k := split(hi - lo)
	h := merkle.HashChildren(r.mth(lo, lo+k), r.mth(lo+k, hi))
	r.memo[key] = h
	return h
}

// root returns the root of the tree of the first n leaves.
func (r *refTree) root(n uint64) merkle.Hash { return r.mth(0, n) }

// inclusion returns PATH(m, D[0:n]).
func (r *refTree) inclusion(m, n uint64) []merkle.Hash { return r.path(m, 0, n) }

// path returns PATH(m, D[lo:hi]), m relative to lo.
func (r *refTree) path(m, lo, hi uint64) []merkle.Hash {
	n := hi - lo
	if n <= 1 {
		return nil
	}
	k := split(n)
	if m < k {
		return append(r.path(m, lo, lo+k), r.mth(lo+k, hi))
	}
	return append(r.path(m-k, lo+k, hi), r.mth(lo, lo+k))
}

// consistency returns PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true).
func (r *refTree) consistency(m, n uint64) []merkle.Hash {
	if m == 0 || m == n {
		return nil
	}
	return r.subproof(m, 0, n, true)
}

// subproof returns SUBPROOF(m, D[lo:hi], b).
func (r *refTree) subproof(m, lo, hi uint64, b bool) []merkle.Hash {
	n := hi - lo
	if m == n {
		if b {
			return nil
		}
		return []merkle.Hash{r.mth(lo, hi)}
	}
	k := split(n)
	if m <= k {
		return append(r.subproof(m, lo, lo+k, b), r.mth(lo+k, hi))
	}
	return append(r.subproof(m-k, lo+k, hi, false), r.mth(lo, lo+k))
}
