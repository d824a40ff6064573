package trillianstore

import (
	"bytes"
	"context"
	"errors"

	"github.com/google/trillian"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Checkpoint returns the signed checkpoint of Trillian's latest root,
// signing it first if it is newer than the last one signed (see
// Config.Sign). It returns ErrEmptyLog for an empty tree.
func (s *Store) Checkpoint(ctx context.Context) ([]byte, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	head, cp, err := s.signed(ctx)
	if err != nil {
		return nil, err
	}
	if head.Size == 0 || cp == nil {
		return nil, ledger.ErrEmptyLog
	}
	return bytes.Clone(cp), nil
}

// Leaf returns the leaf at index, read from Trillian and checked against
// the Merkle leaf hash Trillian stored for it.
func (s *Store) Leaf(ctx context.Context, index uint64) ([]byte, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	head, err := s.bound(ctx, index+1)
	if err != nil {
		return nil, err
	}
	if index >= head.Size {
		return nil, notFoundf("leaf %d not below tree size %d", index, head.Size)
	}
	leaves, err := s.leavesByRange(ctx, index, 1)
	if err != nil {
		return nil, err
	}
	return leaves[0].LeafValue, nil
}

// leavesByRange returns exactly count leaves starting at start, checking
// that each is at its index and that its value hashes to its Merkle leaf
// hash. The range must be below a size Trillian has integrated.
func (s *Store) leavesByRange(ctx context.Context, start uint64, count int) ([]*trillian.LogLeaf, error) {
	out := make([]*trillian.LogLeaf, 0, count)
	for len(out) < count {
		next := start + uint64(len(out))
		want := min(count-len(out), s.cfg.BatchSize)
		var resp *trillian.GetLeavesByRangeResponse
		err := s.call(ctx, "GetLeavesByRange", func(ctx context.Context) (err error) {
			resp, err = s.log.GetLeavesByRange(ctx, &trillian.GetLeavesByRangeRequest{
				LogId: s.cfg.TreeID, StartIndex: int64(next), Count: int64(want),
			})
			if err == nil && len(resp.Leaves) == 0 {
				// A replica that has not caught up yet: retry.
				err = status.Error(codes.Unavailable, "no leaves returned for an integrated range")
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		for i, l := range resp.Leaves[:min(len(resp.Leaves), want)] {
			idx := next + uint64(i)
			h := merkle.HashLeaf(l.LeafValue)
			if l.LeafIndex != int64(idx) || !bytes.Equal(h[:], l.MerkleLeafHash) {
				return nil, corruptf("leaf %d does not match its index or Merkle leaf hash", idx)
			}
			out = append(out, l)
		}
	}
	return out, nil
}

// IndexOf returns the smallest index of a leaf with the given leaf hash in
// the tree of the latest signed head.
func (s *Store) IndexOf(ctx context.Context, leafHash merkle.Hash) (uint64, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	head, _, err := s.signed(ctx)
	if err != nil {
		return 0, err
	}
	idx, _, found, err := s.lookup(ctx, leafHash, head.Size)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, notFoundf("no leaf with hash %s", leafHash)
	}
	return idx, nil
}

// lookup finds the smallest index of leafHash in the tree of the given size
// and its inclusion proof there; found is false if it is not in that tree.
func (s *Store) lookup(ctx context.Context, leafHash merkle.Hash, size uint64) (uint64, []merkle.Hash, bool, error) {
	if size == 0 {
		return 0, nil, false, nil
	}
	var resp *trillian.GetInclusionProofByHashResponse
	err := s.call(ctx, "GetInclusionProofByHash", func(ctx context.Context) (err error) {
		resp, err = s.log.GetInclusionProofByHash(ctx, &trillian.GetInclusionProofByHashRequest{
			LogId: s.cfg.TreeID, LeafHash: leafHash[:], TreeSize: int64(size), OrderBySequence: true,
		})
		return err
	})
	if isCode(err, codes.NotFound) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, err
	}
	var best *trillian.Proof
	for _, p := range resp.Proof {
		if p.LeafIndex >= 0 && uint64(p.LeafIndex) < size && (best == nil || p.LeafIndex < best.LeafIndex) {
			best = p
		}
	}
	if best == nil {
		return 0, nil, false, nil
	}
	hashes, err := toHashes(best.Hashes)
	if err != nil {
		return 0, nil, false, err
	}
	return uint64(best.LeafIndex), hashes, true, nil
}

// isCode reports whether err is an *RPCError with the given gRPC code.
func isCode(err error, code codes.Code) bool {
	var rpcErr *RPCError
	return errors.As(err, &rpcErr) && rpcErr.Code == code
}

// InclusionProof returns the proof that leaf index is in the tree of size,
// computed from the store's mirror of the tree (see mirror.go) and
// verified against the root of size before it is returned.
func (s *Store) InclusionProof(ctx context.Context, index, size uint64) ([]merkle.Hash, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	head, err := s.bound(ctx, size)
	if err != nil {
		return nil, err
	}
	if index >= size || size > head.Size {
		return nil, notFoundf("no inclusion proof of %d in size %d (tree size %d)", index, size, head.Size)
	}
	r, err := s.tilesAt(ctx, size)
	if err != nil {
		return nil, err
	}
	root, err := r.root(size)
	if err != nil {
		return nil, err
	}
	leaf, err := r.leafHashes(index, index+1)
	if err != nil {
		return nil, err
	}
	return r.proof(index, size, root, leaf[0])
}

// inclusionProof fetches an inclusion proof from Trillian.
func (s *Store) inclusionProof(ctx context.Context, index, size uint64) ([]merkle.Hash, error) {
	var resp *trillian.GetInclusionProofResponse
	err := s.call(ctx, "GetInclusionProof", func(ctx context.Context) (err error) {
		resp, err = s.log.GetInclusionProof(ctx, &trillian.GetInclusionProofRequest{
			LogId: s.cfg.TreeID, LeafIndex: int64(index), TreeSize: int64(size),
		})
		if err == nil && resp.Proof == nil {
			err = status.Error(codes.Unavailable, "tree size not yet known to this replica")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return toHashes(resp.Proof.Hashes)
}

// ConsistencyProof returns the proof that the tree of size m is a prefix of
// the tree of size n, for 0 < m <= n <= the latest signed size, computed
// from the store's mirror of the tree and verified before it is returned.
func (s *Store) ConsistencyProof(ctx context.Context, m, n uint64) ([]merkle.Hash, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	head, err := s.bound(ctx, n)
	if err != nil {
		return nil, err
	}
	if m == 0 || m > n || n > head.Size {
		return nil, notFoundf("no consistency proof from %d to %d (tree size %d)", m, n, head.Size)
	}
	r, err := s.tilesAt(ctx, n)
	if err != nil {
		return nil, err
	}
	p, err := merkle.ConsistencyProof(m, n, merkle.TileHashReader{Tiles: r})
	if err != nil {
		return nil, r.failure("consistency proof", err)
	}
	rootM, err := r.root(m)
	if err != nil {
		return nil, err
	}
	rootN, err := r.root(n)
	if err != nil {
		return nil, err
	}
	if err := merkle.VerifyConsistency(m, n, p, rootM, rootN); err != nil {
		return nil, corruptf("consistency proof from %d to %d: %v", m, n, err)
	}
	return p, nil
}

// RootHash returns the root of the tree of the given size, computed from
// the store's mirror of the tree, whose tiles are checked against
// Trillian's roots (see mirror.go).
func (s *Store) RootHash(ctx context.Context, size uint64) (merkle.Hash, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return merkle.Hash{}, err
	}
	defer done()
	head, err := s.bound(ctx, size)
	if err != nil {
		return merkle.Hash{}, err
	}
	switch {
	case size > head.Size:
		return merkle.Hash{}, notFoundf("no root for size %d (tree size %d)", size, head.Size)
	case size == 0:
		return merkle.EmptyRoot(), nil
	case size == head.Size:
		return head.Root, nil
	}
	r, err := s.tilesAt(ctx, size)
	if err != nil {
		return merkle.Hash{}, err
	}
	return r.root(size)
}

// toHashes converts Trillian's proof hashes, rejecting any of the wrong size.
func toHashes(in [][]byte) ([]merkle.Hash, error) {
	out := make([]merkle.Hash, len(in))
	for i, h := range in {
		if len(h) != merkle.HashSize {
			return nil, corruptf("proof hash of %d bytes", len(h))
		}
		copy(out[i][:], h)
	}
	return out, nil
}
