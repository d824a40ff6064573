package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// verifySamples is the number of distinct receipts the verification
// benchmarks cycle through.
const verifySamples = 1024

// verifyFixture holds receipts of the shared 2^20-entry memory log against
// two signed checkpoints: of the full tree (size) and of size-1.
type verifyFixture struct {
	verifierKey string
	root        merkle.Hash // root of the full tree
	leafHashes  []merkle.Hash
	full        []*ledger.Receipt // receipts against the full-tree checkpoint
	previous    []*ledger.Receipt // the same entries against the size-1 checkpoint
}

// newVerifyFixture takes verifySamples receipts of scattered entries of p.
func newVerifyFixture(ctx context.Context, p *proofLog, samples int) (*verifyFixture, error) {
	fullCP, err := p.log.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	root, err := p.store.RootHash(ctx, p.size)
	if err != nil {
		return nil, err
	}
	prevSize := p.size - 1
	prevRoot, err := p.store.RootHash(ctx, prevSize)
	if err != nil {
		return nil, err
	}
	prevCP, err := ledger.SignCheckpoint(p.keys.signer, ledger.Checkpoint{Origin: origin, Size: prevSize, Root: prevRoot})
	if err != nil {
		return nil, err
	}
	f := &verifyFixture{verifierKey: p.keys.verifier, root: root}
	for i := range samples {
		idx := spread(uint64(i), prevSize)
		leaf, err := p.log.Leaf(ctx, idx)
		if err != nil {
			return nil, err
		}
		proof, err := p.log.InclusionProof(ctx, idx, p.size)
		if err != nil {
			return nil, err
		}
		prevProof, err := p.log.InclusionProof(ctx, idx, prevSize)
		if err != nil {
			return nil, err
		}
		f.leafHashes = append(f.leafHashes, merkle.HashLeaf(leaf))
		f.full = append(f.full, &ledger.Receipt{Index: idx, Leaf: leaf, Proof: proof, Checkpoint: fullCP})
		f.previous = append(f.previous, &ledger.Receipt{Index: idx, Leaf: leaf, Proof: prevProof, Checkpoint: prevCP})
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
// checkpoint=alternating consecutive receipts carry two different
// checkpoints, so every call verifies an Ed25519 note signature.
func BenchmarkVerifyReceipt(b *testing.B) {
	for _, mode := range []string{"same", "alternating"} {
		b.Run(fmt.Sprintf("checkpoint=%s", mode), func(b *testing.B) {
			f := sharedVerifyFixture(b)
			v, err := f.newVerifier()
			fatalIf(b, err)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := f.full[i%len(f.full)]
				if mode == "alternating" && i%2 == 1 {
					r = f.previous[i%len(f.previous)]
				}
				if _, err := v.VerifyReceipt(r); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}
