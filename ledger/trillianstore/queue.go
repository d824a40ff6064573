package trillianstore

import (
	"context"
	"fmt"

	"github.com/google/trillian"
	"github.com/healthledger/healthledger/ledger"
	"google.golang.org/grpc/codes"
)

// addQueued adds a batch to a LOG tree: one QueueLeaf per distinct leaf,
// fanned out, with the leaf identity hash set to the RFC 6962 leaf hash so
// that Trillian deduplicates exactly; then it waits for the sequencer.
func (s *Store) addQueued(ctx context.Context, b *batch) (ledger.TreeHead, error) {
	err := s.fanOut(ctx, len(b.uniq), func(ctx context.Context, k int) error {
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
	todo := make([]int, len(b.uniq))
	for k := range todo {
		todo[k] = k
	}
	return s.awaitIntegration(ctx, b, todo)
}
