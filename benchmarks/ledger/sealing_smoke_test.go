package ledger_test

import (
	"context"
	"testing"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/stretchr/testify/require"
)

// Smoke test of BenchmarkAppendSealing: its body on a small input, timing nothing.

func TestAppendSealingSmoke(t *testing.T) {
	for _, kind := range storeKinds {
		for _, mode := range dataModes {
			t.Run(kind+"/"+mode, func(t *testing.T) {
				ctx := context.Background()
				rig, m, err := newSealingRig(ctx, kind, mode, t.TempDir(), 16)
				require.NoError(t, err)
				defer rig.close()
				_, err = loadgen.Measure(ctx, 200, 16, rig.op)
				require.NoError(t, err)
				for _, i := range []uint64{0, 1, 199} {
					e, err := rig.log.Entry(ctx, i)
					require.NoError(t, err)
					var data []byte
					switch mode {
					case "body":
						require.Nil(t, e.Payload)
						data = e.Body
					case "clear":
						require.Empty(t, e.Body)
						data = e.Payload.Data
					case "sealed":
						require.Empty(t, e.Body)
						require.NotEqual(t, m.data, e.Payload.Data[:min(len(e.Payload.Data), dataSize)], "sealed")
						data, err = m.vault.Open(ctx, e.Subject, sealedAD(e), e.Payload.Data)
						require.NoError(t, err)
					}
					require.Equal(t, m.data, data, "entry %d carries the 1 KiB of data", i)
				}
			})
		}
	}
}
