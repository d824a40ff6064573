package trillianstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/trillian"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"google.golang.org/grpc/codes"
)

// addQueued adds a batch to a LOG tree: one QueueLeaf per distinct leaf,
// fanned out, with the leaf identity hash set to the RFC 6962 leaf hash so
// that Trillian deduplicates exactly; then it waits for the sequencer and
// finds the leaves' indices in the leaves integrated since (see
// awaitQueued).
func (s *Store) addQueued(ctx context.Context, b *batch) (ledger.TreeHead, error) {
	// The mirror's size before queueing: every leaf Trillian accepts now
	// is sequenced at this index or later.
	from, err := s.mirrorStart(ctx)
	if err != nil {
		return ledger.TreeHead{}, err
	}
	err = s.fanOut(ctx, len(b.uniq), func(ctx context.Context, k int) error {
		l := b.leaf(k)
		var resp *trillian.QueueLeafResponse
		err := s.call(ctx, "QueueLeaf", func(ctx context.Context) (err error) {
			resp, err = s.log.QueueLeaf(ctx, &trillian.QueueLeafRequest{
				LogId: s.cfg.TreeID,
				Leaf: &trillian.LogLeaf{
					LeafValue:        l.Data,
					LeafIdentityHash: l.Hash[:],
					ExtraData:        l.Subject[:],
				},
			})
			return err
		})
		if err != nil {
			return err
		}
		switch code := codes.Code(resp.GetQueuedLeaf().GetStatus().GetCode()); code {
		case codes.OK:
		case codes.AlreadyExists:
			b.existed[k] = true
		default:
			return fmt.Errorf("%w: QueueLeaf status %v", ErrRejected, code)
		}
		return nil
	})
	if err != nil {
		return ledger.TreeHead{}, err
	}
	// A leaf that existed may be anywhere below from (one RPC each; rare),
	// or still waiting to be sequenced, like the new ones.
	var todo, existed []int
	for k := range b.uniq {
		if b.existed[k] {
			existed = append(existed, k)
		} else {
			todo = append(todo, k)
		}
	}
	notFound, err := s.lookupAll(ctx, b, existed, from)
	if err != nil {
		return ledger.TreeHead{}, err
	}
	return s.awaitQueued(ctx, b, mergeSorted(todo, notFound), from)
}

// awaitGrowth polls Trillian once: if the tree grew beyond size, it
// returns the new head, checked by extending the mirror with the new
// leaves (which must give its root) or, failing that, with a consistency
// proof (observe); otherwise a head of size (with no root). A head seen
// beyond size already (by another call) is returned as it is.
//
// The poll is one GetLeavesByRange from size on: Trillian answers it with
// its latest root and the leaves integrated beyond size (up to BatchSize,
// read in the same transaction as the root), so a poll that sees the tree
// grow has read the new leaves too, and the mirror checks them against
// that root without a second round trip (adoptKnown). When it cannot (the
// mirror does not end at size and at the newest head seen, or more than
// BatchSize leaves are new, or they do not give the root), the leaves are
// dropped and the head is checked the slower way (adoptRead, observe).
func (s *Store) awaitGrowth(ctx context.Context, size uint64) (ledger.TreeHead, error) {
	s.mu.Lock()
	seen := s.seen
	s.mu.Unlock()
	if seen.Size > size {
		return seen, nil
	}
	root, leaves, err := s.pollLeaves(ctx, size)
	if err != nil || root.Size <= size {
		return ledger.TreeHead{Size: size}, err
	}
	if hashes, ok := grownLeaves(leaves, size, root.Size); ok && s.adoptKnown(root, size, hashes) {
		return root, nil
	}
	if ok, err := s.adoptRead(ctx, root); ok || err != nil {
		return root, err
	}
	return s.observe(ctx)
}

// pollLeaves asks Trillian for the leaves from index size on, with its
// latest root (not checked yet). A log server that refuses a range
// starting at its tree size (OutOfRange, as older Trillian storage
// layers do) is polled for its root alone instead, from then on.
func (s *Store) pollLeaves(ctx context.Context, size uint64) (ledger.TreeHead, []*trillian.LogLeaf, error) {
	if s.rootPolls.Load() {
		root, _, err := s.fetchRoot(ctx, 0)
		return root, nil, err
	}
	var resp *trillian.GetLeavesByRangeResponse
	err := s.call(ctx, "GetLeavesByRange", func(ctx context.Context) (err error) {
		resp, err = s.log.GetLeavesByRange(ctx, &trillian.GetLeavesByRangeRequest{
			LogId: s.cfg.TreeID, StartIndex: int64(size), Count: int64(s.cfg.BatchSize),
		})
		return err
	})
	if rpcErr := (*RPCError)(nil); errors.As(err, &rpcErr) && rpcErr.Code == codes.OutOfRange {
		s.rootPolls.Store(true)
		root, _, err := s.fetchRoot(ctx, 0)
		return root, nil, err
	}
	if err != nil {
		return ledger.TreeHead{}, nil, err
	}
	root, err := parseRoot(resp.GetSignedLogRoot())
	if err != nil {
		return ledger.TreeHead{}, nil, err
	}
	return root, resp.GetLeaves(), nil
}

// grownLeaves returns the Merkle leaf hashes of leaves, which a poll read
// from index size on, if they are exactly the leaves [size, newSize), each
// at its index and hashing to its Merkle leaf hash. It returns false
// otherwise (some missing, or not what they claim to be); the caller then
// reads them again and checks them against the root.
func grownLeaves(leaves []*trillian.LogLeaf, size, newSize uint64) ([]merkle.Hash, bool) {
	if uint64(len(leaves)) < newSize-size {
		return nil, false
	}
	hashes := make([]merkle.Hash, newSize-size)
	for i := range hashes {
		l := leaves[i]
		h := merkle.HashLeaf(l.LeafValue)
		if l.LeafIndex != int64(size)+int64(i) || !bytes.Equal(h[:], l.MerkleLeafHash) {
			return nil, false
		}
		hashes[i] = h
	}
	return hashes, true
}

// mirrorStart returns the size of the store's mirror, starting the mirror
// at the newest head seen if it has not started.
func (s *Store) mirrorStart(ctx context.Context) (uint64, error) {
	if edge, at := s.mirror.snapshot(); edge != nil {
		return at.Size, nil
	}
	head, err := s.observe(ctx)
	if err != nil {
		return 0, err
	}
	if err := s.mirrorTo(ctx, head); err != nil {
		return 0, err
	}
	_, at := s.mirror.snapshot()
	return at.Size, nil
}

// awaitQueued polls Trillian until every distinct leaf in todo is in the
// tree. Each time the tree grew, the mirror reads the new leaves (one
// GetLeavesByRange per BatchSize leaves, checked against the new root) and
// the leaves of todo are looked for among them, from index from on: the
// first occurrence is the leaf's index (Trillian deduplicates queued
// leaves, so there is one). It returns the newest head seen.
func (s *Store) awaitQueued(ctx context.Context, b *batch, todo []int, from uint64) (ledger.TreeHead, error) {
	want := make(map[merkle.Hash]int, len(todo))
	for _, k := range todo {
		want[b.leaf(k).Hash] = k
	}
	if len(want) == 0 {
		return s.observe(ctx)
	}
	deadline := time.Now().Add(s.cfg.IntegrationTimeout)
	scanned := from
	for {
		head, err := s.awaitGrowth(ctx, scanned)
		if err != nil {
			return ledger.TreeHead{}, err
		}
		if head.Size > scanned {
			r, err := s.tilesAt(ctx, head.Size)
			if err != nil {
				return ledger.TreeHead{}, err
			}
			hashes, err := r.leafHashes(scanned, head.Size)
			if err != nil {
				return ledger.TreeHead{}, err
			}
			for i, h := range hashes {
				if k, ok := want[h]; ok {
					b.index[k] = scanned + uint64(i)
					delete(want, h)
				}
			}
			scanned = head.Size
		}
		if len(want) == 0 {
			return head, nil
		}
		if time.Now().After(deadline) {
			return ledger.TreeHead{}, fmt.Errorf("%w: %d of the batch's leaves after %v",
				ErrIntegrationTimeout, len(want), s.cfg.IntegrationTimeout)
		}
		if err := s.sleep(ctx, s.cfg.PollInterval); err != nil {
			return ledger.TreeHead{}, err
		}
	}
}
