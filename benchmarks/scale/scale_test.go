package scale_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/stretchr/testify/require"
)

func TestScaleSizes(t *testing.T) {
	for _, tc := range []struct {
		target uint64
		want   []uint64
	}{
		{1000, []uint64{1000}},
		{500, []uint64{500}},
		{25000, []uint64{1000, 10000, 25000}},
		{10_000_000, []uint64{1e3, 1e4, 1e5, 1e6, 1e7}},
		{100_000_000, []uint64{1e3, 1e4, 1e5, 1e6, 1e7, 1e8}},
	} {
		t.Run(fmt.Sprint(tc.target), func(t *testing.T) {
			require.Equal(t, tc.want, scaleSizes(tc.target))
		})
	}
}

// TestScaleSmoke runs the benchmark's body on a tiny log: two sizes, a
// reopen at each, every metric reported.
func TestScaleSmoke(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	run, err := newScaleRun(t.Context(), dir)
	require.NoError(t, err)
	defer run.close()
	for _, size := range []uint64{300, 1000} {
		m, err := run.measure(size, t.Logf)
		require.NoError(t, err)
		for _, unit := range []string{metricRate, loadgen.MetricP50, loadgen.MetricP99, metricGrowRate, metricRSS,
			metricHeap, metricDisk, metricOpen, metricLogOpen, metricProof, metricPrecheck, metricIndexMiss, metricGrowSecs, metricTotalSecs} {
			require.Contains(t, m, unit)
		}
		require.Positive(t, m[metricRate])
		require.Positive(t, m[metricDisk])
		require.Positive(t, m[metricProof])
		require.Equal(t, size, run.store.Head().Size)
	}
	_, err = run.measure(1000, t.Logf)
	require.Error(t, err, "a size the log already has")
}
