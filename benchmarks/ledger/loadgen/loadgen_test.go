package loadgen_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"single", ms(7), 0.99, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3, 4, 5), 0.5, 3 * time.Millisecond},
		{"median of even is lower", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p99 of 100", ms(upTo(100)...), 0.99, 99 * time.Millisecond},
		{"p99 of 1000 is rank 990", ms(upTo(1000)...), 0.99, 990 * time.Millisecond},
		{"p100 is max", ms(1, 2, 9), 1, 9 * time.Millisecond},
		{"tiny p is min", ms(4, 5, 6), 0.0001, 4 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, loadgen.Percentile(tt.sorted, tt.p))
		})
	}
}

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func upTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestMeasureCallsEveryOperationOnce(t *testing.T) {
	tests := []struct {
		name       string
		n, writers int
	}{
		{"one writer", 50, 1},
		{"zero writers means one", 5, 0},
		{"more writers than calls", 3, 256},
		{"many writers", 2000, 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu   sync.Mutex
				seen = map[uint64]int{}
			)
			res, err := loadgen.Measure(context.Background(), tt.n, tt.writers, func(_ context.Context, w int, s uint64) error {
				if w < 0 || w >= max(1, tt.writers) {
					return errors.New("worker out of range")
				}
				mu.Lock()
				seen[s]++
				mu.Unlock()
				return nil
			})
			require.NoError(t, err)
			require.Len(t, seen, tt.n)
			for s, c := range seen {
				require.Less(t, s, uint64(tt.n))
				require.Equal(t, 1, c, "operation %d", s)
			}
			require.Len(t, res.Latencies, tt.n)
			require.IsNonDecreasing(t, res.Latencies)
			require.Positive(t, res.PerSecond())
		})
	}
}

func TestMeasureLatencies(t *testing.T) {
	res, err := loadgen.Measure(context.Background(), 20, 4, func(context.Context, int, uint64) error {
		time.Sleep(2 * time.Millisecond)
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, res.Percentile(0.5), 2*time.Millisecond)
	// 20 sleeps of 2 ms on 4 workers take at least 10 ms of wall-clock time.
	require.GreaterOrEqual(t, res.Elapsed, 10*time.Millisecond)
	require.LessOrEqual(t, res.PerSecond(), 2000.0)
}

func TestMeasureStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	var (
		mu    sync.Mutex
		calls int
	)
	_, err := loadgen.Measure(context.Background(), 10000, 2, func(_ context.Context, _ int, s uint64) error {
		mu.Lock()
		calls++
		mu.Unlock()
		if s == 3 {
			return boom
		}
		time.Sleep(100 * time.Microsecond)
		return nil
	})
	require.ErrorIs(t, err, boom)
	require.Less(t, calls, 10000)
}

func TestRunReportsMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a one-second benchmark")
	}
	res := testing.Benchmark(func(b *testing.B) {
		loadgen.Run(context.Background(), b, 8, "ops/s", func(context.Context, int, uint64) error {
			time.Sleep(time.Millisecond)
			return nil
		})
	})
	require.Positive(t, res.N)
	for _, m := range []string{"ops/s", loadgen.MetricP50, loadgen.MetricP99} {
		require.Contains(t, res.Extra, m)
	}
	require.GreaterOrEqual(t, res.Extra[loadgen.MetricP50], 1.0)
	require.LessOrEqual(t, res.Extra[loadgen.MetricP50], res.Extra[loadgen.MetricP99])
}
