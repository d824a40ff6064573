package identity

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// DefaultCacheOperations is the number of verified operations a Resolver
// remembers when Config.CacheOperations is zero.
const DefaultCacheOperations = 1 << 16

// verifiedLeaf is an identity entry whose inclusion in the trusted tree was
// verified, decoded once.
type verifiedLeaf struct {
	hash merkle.Hash
	op   *Operation // nil if the entry is not a valid operation of did
	opH  OpHash
	did  string
	err  error
}

// opCache remembers what a Resolver verified so that it is never verified
// twice. Everything in it is a pure function of immutable data, and it is
// only ever used under a trusted tree that grows by verified consistency
// proofs:
//
//   - leaves[i] is the leaf at index i, verified included in a tree that
//     the trusted tree extends; leaves never change once included.
//   - signers[h] is the priority of the rotation key that signed the
//     operation with hash h, among the rotation keys of the state named by
//     its prev hash (its own, for a genesis). Both are fixed by h.
//
// All fields are guarded by mu.
type opCache struct {
	mu         sync.Mutex
	max        int
	trusted    ledger.Checkpoint // tree all cached leaves are included in
	checkpoint []byte            // signed note last verified for trusted
	leaves     map[uint64]verifiedLeaf
	signers    map[OpHash]int
}

func newOpCache(max int) *opCache {
	if max < 0 {
		return nil
	}
	if max == 0 {
		max = DefaultCacheOperations
	}
	return &opCache{max: max, leaves: map[uint64]verifiedLeaf{}, signers: map[OpHash]int{}}
}

// signer returns the cached signer priority of the operation with hash h.
func (c *opCache) signer(h OpHash) (int, bool) {
	if c == nil {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.signers[h]
	return i, ok
}

func (c *opCache) putSigner(h OpHash, i int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.signers) >= c.max {
		clear(c.signers)
	}
	c.signers[h] = i
}

func (c *opCache) leaf(index uint64, cp ledger.Checkpoint) (verifiedLeaf, bool) {
	if c == nil {
		return verifiedLeaf{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trusted != cp {
		return verifiedLeaf{}, false
	}
	v, ok := c.leaves[index]
	return v, ok
}

func (c *opCache) putLeaf(index uint64, cp ledger.Checkpoint, v verifiedLeaf) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trusted != cp {
		return
	}
	if len(c.leaves) >= c.max {
		clear(c.leaves)
	}
	c.leaves[index] = v
}

// advance moves the trusted tree to cp. If cp does not extend the trusted
// tree by a verified consistency proof, the cached leaves are dropped (the
// signer results stay: they do not depend on the tree).
func (c *opCache) advance(ctx context.Context, l Ledger, signed []byte, cp ledger.Checkpoint) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	old := c.trusted
	c.mu.Unlock()
	if old == cp {
		return nil
	}
	keep := false
	if old.Size > 0 && old.Size < cp.Size {
		if cl, ok := l.(interface {
			ConsistencyProof(ctx context.Context, m, n uint64) ([]merkle.Hash, error)
		}); ok {
			proof, err := cl.ConsistencyProof(ctx, old.Size, cp.Size)
			if err != nil {
				return fmt.Errorf("identity: consistency proof: %w", err)
			}
			if err := merkle.VerifyConsistency(old.Size, cp.Size, proof, old.Root, cp.Root); err != nil {
				return fmt.Errorf("%w: checkpoint is not consistent with an earlier one: %w", ErrNotIncluded, err)
			}
			keep = true
		}
	} else if old.Size == cp.Size && old.Size > 0 {
		return fmt.Errorf("%w: two checkpoints of size %d with different roots", ErrNotIncluded, cp.Size)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trusted != old {
		return nil // another resolution moved it meanwhile; leave it
	}
	if !keep {
		clear(c.leaves)
	}
	c.trusted, c.checkpoint = cp, bytes.Clone(signed)
	return nil
}

// knownCheckpoint returns the trusted checkpoint if signed is the exact
// note it was verified from.
func (c *opCache) knownCheckpoint(signed []byte) (ledger.Checkpoint, bool) {
	if c == nil {
		return ledger.Checkpoint{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checkpoint != nil && bytes.Equal(c.checkpoint, signed) {
		return c.trusted, true
	}
	return ledger.Checkpoint{}, false
}

// preverify verifies the signatures of ops in parallel, against the
// rotation keys of the operation each names as prev (found among ops), and
// records the results in the cache. Replay then finds them there; an
// operation whose prev is not among ops is verified during replay.
func (c *opCache) preverify(ops []verifiedLeaf) {
	if c == nil || len(ops) < 8 {
		return
	}
	byHash := make(map[OpHash]*Operation, len(ops))
	for _, v := range ops {
		if v.op != nil {
			byHash[v.opH] = v.op
		}
	}
	work := make(chan verifiedLeaf)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range work {
				keys := v.op.State.RotationKeys
				if v.op.Type != OpCreate {
					prev, ok := byHash[v.op.Prev]
					if !ok {
						continue
					}
					keys = prev.State.RotationKeys
				}
				if i, err := v.op.signerIndex(keys); err == nil {
					c.putSigner(v.opH, i)
				}
			}
		}()
	}
	for _, v := range ops {
		if v.op == nil {
			continue
		}
		if _, ok := c.signer(v.opH); !ok {
			work <- v
		}
	}
	close(work)
	wg.Wait()
}
