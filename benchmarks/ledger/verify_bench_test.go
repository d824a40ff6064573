package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// verifySamples is the number of distinct receipts the verification
// benchmarks cycle through.
const verifySamples = 1024

// distinctCheckpoints is the number of checkpoints the receipts of
// checkpoint=distinct rotate through: more than any verifier cache of
// recently verified checkpoints is expected to hold (ledger.Verifier keeps 8).
const distinctCheckpoints = 64

// verifyFixture holds receipts of scattered entries of the shared
// 2^20-entry memory log.
type verifyFixture struct {
	verifierKey string
	root        merkle.Hash // root of the full tree
	leafHashes  []merkle.Hash
	// full are receipts against the checkpoint of the full tree.
	full []*ledger.Receipt
	// distinct are receipts of the same entries against checkpoints of
	// sizes 2^20 - (i mod distinctCheckpoints): consecutive receipts carry
	// different checkpoints.
	distinct []*ledger.Receipt
}

// newVerifyFixture takes receipts of samples scattered entries of p.
func newVerifyFixture(ctx context.Context, p *proofLog, samples int) (*verifyFixture, error) {
	fullCP, err := p.log.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	root, err := p.store.RootHash(ctx, p.size)
	if err != nil {
		return nil, err
	}
	checkpoints := make(map[uint64][]byte, distinctCheckpoints)
	checkpointOf := func(size uint64) ([]byte, error) {
		if cp, ok := checkpoints[size]; ok {
			return cp, nil
		}
		r, err := p.store.RootHash(ctx, size)
		if err != nil {
			return nil, err
		}
		cp, err := ledger.SignCheckpoint(p.keys.signer, ledger.Checkpoint{Origin: origin, Size: size, Root: r}, time.Now())
		checkpoints[size] = cp
		return cp, err
	}
	f := &verifyFixture{verifierKey: p.keys.verifier, root: root}
	for i := range samples {
		idx := spread(uint64(i), p.size-distinctCheckpoints)
		leaf, err := p.log.Leaf(ctx, idx)
		if err != nil {
			return nil, err
		}
		proof, err := p.log.InclusionProof(ctx, idx, p.size)
		if err != nil {
			return nil, err
		}
		size := p.size - uint64(i%distinctCheckpoints)
		cp, err := checkpointOf(size)
		if err != nil {
			return nil, err
		}
		sizeProof, err := p.log.InclusionProof(ctx, idx, size)
		if err != nil {
			return nil, err
		}
		f.leafHashes = append(f.leafHashes, merkle.HashLeaf(leaf))
		f.full = append(f.full, &ledger.Receipt{Index: idx, Leaf: leaf, Proof: proof, Checkpoint: fullCP})
		f.distinct = append(f.distinct, &ledger.Receipt{Index: idx, Leaf: leaf, Proof: sizeProof, Checkpoint: cp})
	}
	return f, nil
}

// newVerifier returns a client-side verifier of the fixture's log.
func (f *verifyFixture) newVerifier() (*ledger.Verifier, error) {
	return ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: f.verifierKey})
}

var (
	verifyOnce    sync.Once
	sharedFixture *verifyFixture
	errFixture    error
)

// sharedVerifyFixture returns receipts of the shared memory log, taking
// them on first use (outside the benchmark timer).
func sharedVerifyFixture(b *testing.B) *verifyFixture {
	b.Helper()
	p := sharedProofLog(b, "mem")
	verifyOnce.Do(func() {
		b.StopTimer()
		defer b.StartTimer()
		sharedFixture, errFixture = newVerifyFixture(context.Background(), p, verifySamples)
	})
	if errFixture != nil {
		b.Fatalf("taking receipts: %v", errFixture)
	}
	return sharedFixture
}

// BenchmarkVerifyInclusion measures merkle.VerifyInclusion, the core proof
// check of a receipt: a leaf hash, a 20-hash proof and a root of a tree of
// 2^20 leaves.
func BenchmarkVerifyInclusion(b *testing.B) {
	f := sharedVerifyFixture(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := f.full[i%len(f.full)]
		if err := merkle.VerifyInclusion(f.leafHashes[i%len(f.full)], r.Index, proofLogSize, r.Proof, f.root); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkVerifyReceipt measures Verifier.VerifyReceipt on receipts of a
// 2^20-entry log: checkpoint signature, inclusion proof and entry decoding.
// With checkpoint=same every receipt carries the same checkpoint, whose
// signature the verifier checks once and then recognises (the common case
// of a client checking many receipts of one checkpoint); with
// checkpoint=distinct consecutive receipts rotate through 64 checkpoints,
// more than the verifier remembers, so every call verifies an Ed25519 note
// signature.
func BenchmarkVerifyReceipt(b *testing.B) {
	for _, mode := range []string{"same", "distinct"} {
		b.Run(fmt.Sprintf("checkpoint=%s", mode), func(b *testing.B) {
			f := sharedVerifyFixture(b)
			receipts := f.full
			if mode == "distinct" {
				receipts = f.distinct
			}
			v, err := f.newVerifier()
			fatalIf(b, err)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := v.VerifyReceipt(receipts[i%len(receipts)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}
