package trillianstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/trillian"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"google.golang.org/grpc/codes"
)

// identityDomain separates the leaf identity hashes of PREORDERED_LOG
// leaves from every other hash in healthledger.
const identityDomain = "healthledger/trillianstore/preordered-identity/v1\x00"

// preorderedRounds bounds how often one Add re-sends leaves whose indices
// turned out to be taken (by leaves of an earlier, interrupted Add).
const preorderedRounds = 4

// preorderedIdentity is the leaf identity hash of leafHash at index in a
// PREORDERED_LOG tree: SHA-256(identityDomain || uint64be(index) || leafHash).
// Binding the index makes a re-sent batch idempotent (the same leaf at the
// same index is a duplicate) while a leaf sent at a new index never collides
// with a copy of itself that is waiting at an old one, which would leave a
// hole that Trillian's sequencer cannot integrate past.
func preorderedIdentity(index uint64, leafHash merkle.Hash) []byte {
	h := sha256.New()
	h.Write([]byte(identityDomain))
	h.Write(binary.BigEndian.AppendUint64(nil, index))
	h.Write(leafHash[:])
	return h.Sum(nil)
}

// addPreordered adds a batch to a PREORDERED_LOG tree. Each round looks the
// pending leaves up by hash (exact dedup against the integrated tree; only
// those that the hash index cannot rule out cost an RPC), gives
// the rest the next indices, sends them with AddSequencedLeaves in chunks,
// waits until Trillian integrates them, and reads the range back to see
// which indices hold this batch's leaves. An index can be taken only by an
// earlier Add that failed after Trillian accepted its leaves; such leaves
// are found by hash in the next round. The caller holds s.addMu.
func (s *Store) addPreordered(ctx context.Context, b *batch) (ledger.TreeHead, error) {
	todo := make([]int, len(b.uniq))
	for k := range todo {
		todo[k] = k
	}
	clean := s.clean
	s.clean = false
	for round := 0; ; round++ {
		head, err := s.preorderedStart(ctx, round == 0 && clean)
		if err != nil {
			return ledger.TreeHead{}, err
		}
		if err := s.catchUpHashes(ctx, head.Size); err != nil {
			return ledger.TreeHead{}, err
		}
		maybe, absent := s.maybePresent(b, todo)
		notFound, err := s.lookupAll(ctx, b, maybe, head.Size)
		if err != nil {
			return ledger.TreeHead{}, err
		}
		markExisted(b, maybe, notFound)
		todo = mergeSorted(notFound, absent)
		if len(todo) == 0 {
			s.clean = true
			return head, nil
		}
		if round == preorderedRounds {
			return ledger.TreeHead{}, fmt.Errorf("%w: indices kept being taken after %d rounds; is another writer using this PREORDERED_LOG tree?",
				ErrTreeMismatch, round)
		}
		start := head.Size
		t0 := time.Now()
		sent, allOK, err := s.sequence(ctx, b, todo, start)
		s.frontier = max(s.frontier, start+uint64(sent))
		if err != nil {
			return ledger.TreeHead{}, err
		}
		t1 := time.Now()
		head, known, err := s.awaitBatch(ctx, b, todo, start, allOK)
		if err != nil {
			return ledger.TreeHead{}, err
		}
		s.cfg.Logger.Debug("trillianstore: preordered batch", "leaves", sent,
			"sequence", t1.Sub(t0), "integrate", time.Since(t1), "conflicts", !allOK)
		rest, err := s.claim(ctx, b, todo, start, head, allOK, known)
		if err != nil {
			return ledger.TreeHead{}, err
		}
		if len(rest) == 0 {
			s.clean = true
			return head, nil
		}
		todo = rest
	}
}

// preorderedStart returns the head new indices start after: Trillian's
// latest, or, when the last Add succeeded (trust), the newest head seen
// if it is not behind the frontier, which saves an RPC per batch. A tree
// that grew meanwhile (only leaves of an earlier, failed Add can do that,
// with one writer) makes AddSequencedLeaves report the indices taken, and
// the next round asks Trillian. The mirror is started at the head if it
// has not started yet.
func (s *Store) preorderedStart(ctx context.Context, trust bool) (ledger.TreeHead, error) {
	s.mu.Lock()
	head, have := s.seen, s.haveSeen
	s.mu.Unlock()
	if !trust || !have || head.Size < s.frontier {
		var err error
		if head, err = s.awaitSize(ctx, s.frontier); err != nil {
			return ledger.TreeHead{}, err
		}
	}
	if edge, _ := s.mirror.snapshot(); edge == nil {
		if err := s.mirrorTo(ctx, head); err != nil {
			return ledger.TreeHead{}, err
		}
	}
	return head, nil
}

// claim records the indices [start, start+len(todo)) for the leaves of todo
// and returns those that did not get theirs. If awaitBatch checked them
// (known), they are at their indices. If Trillian accepted every leaf
// (allOK) and head is the tree of exactly those leaves after the mirror's,
// the mirror is extended with their hashes, which checks them against
// head's root without reading them back. If that check fails, or some
// index was taken, the range is read back to see which indices hold this
// batch's leaves (finish then verifies every proof against head's root).
func (s *Store) claim(ctx context.Context, b *batch, todo []int, start uint64, head ledger.TreeHead, allOK, known bool) ([]int, error) {
	var rest []int
	if allOK && !known && start+uint64(len(todo)) == head.Size {
		hashes := make([]merkle.Hash, len(todo))
		for j, k := range todo {
			hashes[j] = b.leaf(k).Hash
		}
		allOK = s.mirrorKnown(head, start, hashes)
	}
	if allOK {
		for j, k := range todo {
			b.index[k], b.existed[k] = start+uint64(j), false
		}
	} else {
		leaves, err := s.leavesByRange(ctx, start, len(todo))
		if err != nil {
			return nil, err
		}
		for j, k := range todo {
			h := b.leaf(k).Hash
			if !bytes.Equal(leaves[j].MerkleLeafHash, h[:]) {
				rest = append(rest, k)
				continue
			}
			b.index[k], b.existed[k] = start+uint64(j), false
		}
	}
	if len(rest) == 0 && s.hashes.next == start && s.hashes.prefixes != nil {
		// The index is current up to start: extend it without a read.
		for _, k := range todo {
			s.hashes.prefixes[prefixOf(b.leaf(k).Hash)] = struct{}{}
		}
		s.hashes.next = start + uint64(len(todo))
	}
	return rest, nil
}

// mergeSorted merges two increasing lists of distinct leaves.
func mergeSorted(a, b []int) []int {
	out := make([]int, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// markExisted sets Existed for the leaves of before that lookupAll found
// (those not in after): they were in the log before this Add sent them.
func markExisted(b *batch, before, after []int) {
	j := 0
	for _, k := range before {
		if j < len(after) && after[j] == k {
			j++
			continue
		}
		b.existed[k] = true
	}
}

// sequence sends the leaves of todo at indices start, start+1, ... with
// AddSequencedLeaves, BatchSize leaves per RPC, in order, stopping at the
// first failure. It returns how many leaves Trillian acknowledged; they are
// a prefix of todo. A per-leaf ALREADY_EXISTS or FAILED_PRECONDITION status
// means the index was already taken (by this leaf or another one); the
// caller reads the range back to tell which.
func (s *Store) sequence(ctx context.Context, b *batch, todo []int, start uint64) (sent int, allOK bool, err error) {
	allOK = true
	for sent < len(todo) {
		n := min(s.cfg.BatchSize, len(todo)-sent)
		req := &trillian.AddSequencedLeavesRequest{LogId: s.cfg.TreeID, Leaves: make([]*trillian.LogLeaf, n)}
		for j := range n {
			l, idx := b.leaf(todo[sent+j]), start+uint64(sent+j)
			req.Leaves[j] = &trillian.LogLeaf{
				LeafValue:        l.Data,
				LeafIdentityHash: preorderedIdentity(idx, l.Hash),
				ExtraData:        l.Subject[:],
				LeafIndex:        int64(idx),
			}
		}
		var resp *trillian.AddSequencedLeavesResponse
		err := s.call(ctx, "AddSequencedLeaves", func(ctx context.Context) (err error) {
			resp, err = s.log.AddSequencedLeaves(ctx, req)
			return err
		})
		if err != nil {
			return sent, false, err
		}
		if len(resp.Results) != n {
			return sent, false, corruptf("AddSequencedLeaves returned %d results for %d leaves", len(resp.Results), n)
		}
		for _, r := range resp.Results {
			switch code := codes.Code(r.GetStatus().GetCode()); code {
			case codes.OK:
			case codes.AlreadyExists, codes.FailedPrecondition:
				allOK = false
			default:
				return sent, false, fmt.Errorf("%w: AddSequencedLeaves status %v", ErrRejected, code)
			}
		}
		sent += n
	}
	return sent, allOK, nil
}

// awaitBatch waits until Trillian has integrated the leaves of todo that
// sequence sent at [start, start+len(todo)). When Trillian accepted all
// of them (allOK), it polls the root alone and, once the tree has exactly
// those leaves after the mirror's, extends the mirror with their hashes
// and adopts the root as the newest head seen if the result is that root
// (known): the mirror's root being the newest head seen, this proves the
// new root consistent with it, without the consistency proof that the log
// server would build from its database. Otherwise it observes the head
// with its proof (awaitSize) and the caller reads the range back.
func (s *Store) awaitBatch(ctx context.Context, b *batch, todo []int, start uint64, allOK bool) (ledger.TreeHead, bool, error) {
	size := start + uint64(len(todo))
	if allOK {
		root, err := s.awaitRoot(ctx, size)
		if err != nil {
			return ledger.TreeHead{}, false, err
		}
		hashes := make([]merkle.Hash, len(todo))
		for j, k := range todo {
			hashes[j] = b.leaf(k).Hash
		}
		if root.Size == size && s.adoptKnown(root, start, hashes) {
			return root, true, nil
		}
	}
	head, err := s.awaitSize(ctx, size)
	return head, false, err
}

// awaitRoot polls Trillian's root alone until its tree has at least size
// leaves, and returns it unchecked.
func (s *Store) awaitRoot(ctx context.Context, size uint64) (ledger.TreeHead, error) {
	deadline := time.Now().Add(s.cfg.IntegrationTimeout)
	for {
		head, _, err := s.fetchRoot(ctx, 0)
		if err != nil || head.Size >= size {
			return head, err
		}
		if time.Now().After(deadline) {
			return ledger.TreeHead{}, fmt.Errorf("%w: waiting for tree size %d after %v",
				ErrIntegrationTimeout, size, s.cfg.IntegrationTimeout)
		}
		if err := s.sleep(ctx, s.cfg.PollInterval); err != nil {
			return ledger.TreeHead{}, err
		}
	}
}

// awaitSize polls Trillian until its tree has at least size leaves. The
// polls ask for the root alone (see grown); the consistency proof is
// fetched once, for the head that reaches size.
func (s *Store) awaitSize(ctx context.Context, size uint64) (ledger.TreeHead, error) {
	deadline := time.Now().Add(s.cfg.IntegrationTimeout)
	for {
		grown, err := s.grown(ctx, size)
		if err != nil {
			return ledger.TreeHead{}, err
		}
		if grown {
			head, err := s.observe(ctx)
			if err != nil || head.Size >= size {
				return head, err
			}
		}
		if time.Now().After(deadline) {
			return ledger.TreeHead{}, fmt.Errorf("%w: waiting for tree size %d after %v",
				ErrIntegrationTimeout, size, s.cfg.IntegrationTimeout)
		}
		if err := s.sleep(ctx, s.cfg.PollInterval); err != nil {
			return ledger.TreeHead{}, err
		}
	}
}
