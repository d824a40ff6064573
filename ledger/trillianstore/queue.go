package trillianstore

import (
	"context"
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

// awaitGrowth polls Trillian's root once: if the tree grew beyond size, it
// returns the new head, checked either by reading the new leaves into the
// mirror (adoptRead) or, failing that, with a consistency proof
// (observe); otherwise a head of size (with no root). A head seen beyond
// size already (by another call) is returned as it is.
func (s *Store) awaitGrowth(ctx context.Context, size uint64) (ledger.TreeHead, error) {
	s.mu.Lock()
	seen := s.seen
	s.mu.Unlock()
	if seen.Size > size {
		return seen, nil
	}
	root, _, err := s.fetchRoot(ctx, 0)
	if err != nil || root.Size <= size {
		return ledger.TreeHead{Size: size}, err
	}
	if ok, err := s.adoptRead(ctx, root); ok || err != nil {
		return root, err
	}
	return s.observe(ctx)
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
