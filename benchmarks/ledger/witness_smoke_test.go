package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
)

// Smoke test of BenchmarkAppendWitnessed: its body on a small input, timing nothing.

func TestAppendWitnessedSmoke(t *testing.T) {
	for _, kind := range storeKinds {
		for _, n := range witnessCounts {
			t.Run(fmt.Sprintf("%s/witnesses=%d", kind, n), func(t *testing.T) {
				ctx := context.Background()
				rig, wits, err := newWitnessedRig(ctx, kind, t.TempDir(), 16, n)
				require.NoError(t, err)
				defer rig.close()
				require.Len(t, wits, n)
				for _, w := range wits {
					require.Contains(t, w.srv.URL, "http://127.0.0.1:", "witnesses listen on loopback only")
				}
				_, err = loadgen.Measure(ctx, 100, 16, rig.op)
				require.NoError(t, err)
				keys := make([]string, n)
				for i, w := range wits {
					keys[i] = w.key
				}
				v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: rig.keys.verifier, Witnesses: keys, WitnessThreshold: n})
				require.NoError(t, err)
				rc, err := rig.log.Receipt(ctx, 42)
				require.NoError(t, err)
				_, err = v.VerifyReceipt(rc)
				require.NoError(t, err, "receipts verify with all %d witnesses required", n)
				require.Error(t, checkCosignatureLines(rc.Checkpoint, n+1))
			})
		}
	}
}
