package merkle

import (
	"errors"
	"fmt"
)

// Errors of proof verification.
var (
	// ErrInvalidRange reports an index or size pair no proof exists for.
	ErrInvalidRange = errors.New("merkle: invalid index or size")
	// ErrInvalidProof reports a proof of the wrong shape or one that does
	// not lead to the expected root.
	ErrInvalidProof = errors.New("merkle: invalid proof")
)

// RootMismatchError reports a proof that is well formed but yields another
// root than the expected one. It wraps ErrInvalidProof.
type RootMismatchError struct {
	Expected, Computed Hash
}

// Error names both roots (tree hashes are public and carry no record data).
func (e *RootMismatchError) Error() string {
	return fmt.Sprintf("merkle: invalid proof: computed root %v, expected %v", e.Computed, e.Expected)
}

// Unwrap returns ErrInvalidProof.
func (e *RootMismatchError) Unwrap() error { return ErrInvalidProof }

// VerifyInclusion checks that leaf is at index in the tree of the given size
// and root, following RFC 9162 section 2.1.3.2. It does not allocate when
// the proof verifies.
func VerifyInclusion(leaf Hash, index, size uint64, proof []Hash, root Hash) error {
	if index >= size {
		return fmt.Errorf("%w: index %d not below size %d", ErrInvalidRange, index, size)
	}
	fn, sn, r := index, size-1, leaf
	for _, p := range proof {
		if sn == 0 {
			return fmt.Errorf("%w: %d hashes, too many for index %d in size %d", ErrInvalidProof, len(proof), index, size)
		}
		if fn&1 == 1 || fn == sn {
			r = HashChildren(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = HashChildren(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("%w: %d hashes, too few for index %d in size %d", ErrInvalidProof, len(proof), index, size)
	}
	if r != root {
		return &RootMismatchError{Expected: root, Computed: r}
	}
	return nil
}

// VerifyConsistency checks that the tree of size m and root rootM is a
// prefix of the tree of size n and root rootN, following RFC 9162 section
// 2.1.4.2. It does not allocate when the proof verifies.
func VerifyConsistency(m, n uint64, proof []Hash, rootM, rootN Hash) error {
	switch {
	case m > n:
		return fmt.Errorf("%w: consistency from size %d to smaller %d", ErrInvalidRange, m, n)
	case m == n:
		if len(proof) != 0 {
			return fmt.Errorf("%w: non-empty proof between equal sizes", ErrInvalidProof)
		}
		if rootM != rootN {
			return &RootMismatchError{Expected: rootM, Computed: rootN}
		}
		return nil
	case m == 0:
		if len(proof) != 0 {
			return fmt.Errorf("%w: non-empty proof from the empty tree", ErrInvalidProof)
		}
		return nil
	case len(proof) == 0:
		return fmt.Errorf("%w: empty proof from size %d to %d", ErrInvalidProof, m, n)
	}
	// When m is a power of two, the proof omits rootM as its first hash.
	seed, rest := rootM, proof
	if m&(m-1) != 0 {
		seed, rest = proof[0], proof[1:]
	}
	fn, sn := m-1, n-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := seed, seed
	for _, c := range rest {
		if sn == 0 {
			return fmt.Errorf("%w: %d hashes, too many for sizes %d and %d", ErrInvalidProof, len(proof), m, n)
		}
		if fn&1 == 1 || fn == sn {
			fr = HashChildren(c, fr)
			sr = HashChildren(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = HashChildren(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("%w: %d hashes, too few for sizes %d and %d", ErrInvalidProof, len(proof), m, n)
	}
	if fr != rootM {
		return &RootMismatchError{Expected: rootM, Computed: fr}
	}
	if sr != rootN {
		return &RootMismatchError{Expected: rootN, Computed: sr}
	}
	return nil
}
