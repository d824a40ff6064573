package trillianstore

import (
	"context"
	"slices"
	"sync"

	"github.com/healthledger/healthledger/ledger"
)

// subjectIndex maps subject tags to leaf indices. Trillian has no secondary
// index, so each Store builds this one in memory by reading the log in
// order (GetLeavesByRange) up to the latest signed size, the first time it
// is needed and incrementally after that. The tag travels in each leaf's
// ExtraData, which Trillian stores next to the leaf but outside the Merkle
// tree; a caller that does not trust the Trillian operator checks each
// returned entry's subject after reading it.
type subjectIndex struct {
	// mu guards next and bySubject, and serializes catch-up reads.
	mu        sync.Mutex
	next      uint64 // leaves [0, next) are indexed
	bySubject map[ledger.SubjectTag][]uint64
}

// BySubject returns up to limit indices of leaves with the given subject tag,
// in increasing order, starting at index start.
func (s *Store) BySubject(ctx context.Context, subject ledger.SubjectTag, start uint64, limit int) ([]uint64, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if limit <= 0 {
		return []uint64{}, nil
	}
	head, _, err := s.signed(ctx)
	if err != nil {
		return nil, err
	}
	x := &s.subjects
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := s.catchUp(ctx, head.Size); err != nil {
		return nil, err
	}
	all := x.bySubject[subject]
	i, _ := slices.BinarySearch(all, start)
	out := []uint64{}
	for _, idx := range all[i:] {
		if idx >= head.Size || len(out) == limit {
			break
		}
		out = append(out, idx)
	}
	return out, nil
}

// catchUp indexes leaves [next, size). The caller holds s.subjects.mu.
func (s *Store) catchUp(ctx context.Context, size uint64) error {
	x := &s.subjects
	if x.bySubject == nil {
		x.bySubject = make(map[ledger.SubjectTag][]uint64)
	}
	for x.next < size {
		n := int(min(size-x.next, uint64(s.cfg.BatchSize)))
		leaves, err := s.leavesByRange(ctx, x.next, n)
		if err != nil {
			return err
		}
		for i, l := range leaves {
			var tag ledger.SubjectTag
			if len(l.ExtraData) != len(tag) {
				// Not written by this package: no subject to index.
				continue
			}
			copy(tag[:], l.ExtraData)
			x.bySubject[tag] = append(x.bySubject[tag], x.next+uint64(i))
		}
		x.next += uint64(n)
	}
	return nil
}
