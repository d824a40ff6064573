package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/pebblestore"
)

// BenchmarkAppendGuard measures what the checkpoint guard costs: Pebble
// appends with the default guard (a FileGuard beside the store, one more
// fdatasync per batch before its receipts are released) against the same
// appends with a guard in memory, which keeps the ordering but writes
// nothing. Report the ratio from one run.
func BenchmarkAppendGuard(b *testing.B) {
	for _, guard := range []string{"file", "memory"} {
		for _, w := range writerCounts {
			b.Run(fmt.Sprintf("guard=%s/writers=%d", guard, w), func(b *testing.B) {
				ctx := context.Background()
				keys, err := newLogKeys()
				fatalIf(b, err)
				maker, err := newEntryMaker(leafSize)
				fatalIf(b, err)
				store, err := pebblestore.Open(ctx, pebblestore.Config{Dir: b.TempDir()})
				fatalIf(b, err)
				cfg := ledger.Config{Store: store, Signer: keys.signer, Origin: origin}
				if guard == "memory" {
					cfg.Guard = &ledger.MemoryGuard{}
				}
				l, err := ledger.Open(ctx, cfg)
				fatalIf(b, err)
				rig := &appendRig{store: store, log: l, maker: maker, sizes: newCheckpointSizes(w)}
				defer rig.close()
				b.SetBytes(leafSize)
				loadgen.Run(ctx, b, w, "entries/s", rig.op)
				b.ReportMetric(float64(b.N)/float64(rig.batches()), "entries/batch")
			})
		}
	}
}
