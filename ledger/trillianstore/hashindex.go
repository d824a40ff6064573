package trillianstore

import (
	"context"
	"encoding/binary"

	"github.com/healthledger/healthledger/merkle"
)

// hashIndex is the PREORDERED_LOG writer's filter for deduplication: the
// first 8 bytes of the leaf hash of every leaf in [0, next). A leaf whose
// prefix is absent is certainly not in that range; one whose prefix is
// present is looked up in Trillian (GetInclusionProofByHash), so the
// deduplication stays exact while a batch of new leaves costs no lookup
// RPC at all. It is built by reading the log (GetLeavesByRange, BatchSize
// leaves per RPC) at the writer's first Add and kept up to date after
// each; it holds about 40 bytes per entry. Guarded by Store.addMu.
type hashIndex struct {
	next     uint64
	prefixes map[uint64]struct{}
}

func prefixOf(h merkle.Hash) uint64 { return binary.BigEndian.Uint64(h[:8]) }

// catchUpHashes adds the leaves [next, size) to the hash index. The caller
// holds s.addMu.
func (s *Store) catchUpHashes(ctx context.Context, size uint64) error {
	x := &s.hashes
	if x.prefixes == nil {
		x.prefixes = make(map[uint64]struct{})
	}
	for x.next < size {
		n := int(min(size-x.next, uint64(s.cfg.BatchSize)))
		leaves, err := s.leavesByRange(ctx, x.next, n)
		if err != nil {
			return err
		}
		for _, l := range leaves {
			x.prefixes[binary.BigEndian.Uint64(l.MerkleLeafHash[:8])] = struct{}{}
		}
		x.next += uint64(n)
	}
	return nil
}

// maybePresent returns the distinct leaves of todo whose hash prefix is in
// the index (candidates for a lookup), and the others.
func (s *Store) maybePresent(b *batch, todo []int) (maybe, absent []int) {
	for _, k := range todo {
		if _, ok := s.hashes.prefixes[prefixOf(b.leaf(k).Hash)]; ok {
			maybe = append(maybe, k)
		} else {
			absent = append(absent, k)
		}
	}
	return maybe, absent
}
