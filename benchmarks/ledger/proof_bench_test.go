package ledger_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
)

// BenchmarkInclusionProof measures Log.InclusionProof for scattered
// indices against the full tree of a 2^20-entry log, from GOMAXPROCS
// concurrent readers. The log is built once per process.
func BenchmarkInclusionProof(b *testing.B) {
	for _, kind := range storeKinds {
		b.Run(fmt.Sprintf("store=%s/size=1M", kind), func(b *testing.B) {
			p := sharedProofLog(b, kind)
			b.ReportAllocs()
			loadgen.Run(context.Background(), b, runtime.GOMAXPROCS(0), "proofs/s", p.proofOp)
		})
	}
}

// proofOp generates the proof of a scattered index at the log's full size.
func (p *proofLog) proofOp(ctx context.Context, _ int, seq uint64) error {
	proof, err := p.log.InclusionProof(ctx, spread(seq, p.size), p.size)
	if err != nil {
		return err
	}
	if want := proofLen(p.size); len(proof) != want {
		return fmt.Errorf("proof of %d hashes, want %d", len(proof), want)
	}
	return nil
}

// proofLen returns the length of an inclusion proof in a tree of size
// 2^k: k hashes.
func proofLen(size uint64) int {
	n := 0
	for s := size; s > 1; s >>= 1 {
		n++
	}
	return n
}
