package tessera_test

import (
	"context"
	"testing"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/stretchr/testify/require"
)

// TestAppendSmoke runs the body of every append benchmark on a few entries
// and checks that each mode reaches its completion point.
func TestAppendSmoke(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		writers   int
		published bool
	}{
		{"durable/1", 40, 1, false},
		{"durable/16", 40, 16, false},
		// Each published append waits for the next checkpoint (100 ms).
		{"published/1", 3, 1, true},
		{"published/16", 40, 16, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lg, err := openLog(ctx, t.TempDir(), tt.writers)
			require.NoError(t, err)
			res, err := loadgen.Measure(ctx, tt.n, tt.writers, lg.addOp(tt.published))
			require.NoError(t, err)
			require.Len(t, res.Latencies, tt.n)
			require.NoError(t, lg.shutdown(ctx))
		})
	}
}

func TestEntryDataIsDistinctAndSized(t *testing.T) {
	tag := [8]byte{1, 2, 3}
	a, b := entryData(tag, 1), entryData(tag, 2)
	require.Len(t, a, entrySize)
	require.NotEqual(t, a, b)
	require.Equal(t, a[16:], b[16:])
}
