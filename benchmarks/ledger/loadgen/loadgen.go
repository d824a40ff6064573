// Package loadgen drives the operations of a Go benchmark from many
// concurrent callers and reports throughput and per-call latency
// percentiles with [testing.B.ReportMetric].
//
// It is shared by the ledger and Tessera benchmarks so that both are
// measured by exactly the same harness: the same work distribution, the same
// clock reads around each call and the same percentile definition.
package loadgen

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Op performs one operation of a benchmark. seq is unique across all calls
// of one [Run] (it is the operation's number in [0, b.N)) so that an Op can
// derive a distinct entry from it; worker is the calling goroutine's number
// in [0, writers). An Op MUST be safe for concurrent use by writers
// goroutines.
type Op func(ctx context.Context, worker int, seq uint64) error

// Metric names reported by [Run], besides the throughput unit it is given.
const (
	MetricP50 = "p50-ms"
	MetricP99 = "p99-ms"
)

// Run calls op b.N times from writers goroutines (see [Measure]) and
// reports:
//
//   - unit (for example "entries/s"): b.N divided by the wall-clock time of
//     the whole run;
//   - "p50-ms" and "p99-ms": the nearest-rank 50th and 99th percentiles of
//     the latency of the individual op calls, in milliseconds.
//
// The benchmark timer covers only the concurrent phase: Run resets it before
// starting the goroutines and stops it when the last call returned. An error
// from op fails the benchmark.
func Run(ctx context.Context, b *testing.B, writers int, unit string, op Op) {
	b.Helper()
	b.ResetTimer()
	res, err := Measure(ctx, b.N, writers, op)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.PerSecond(), unit)
	b.ReportMetric(Millis(res.Percentile(0.50)), MetricP50)
	b.ReportMetric(Millis(res.Percentile(0.99)), MetricP99)
}

// Result is what [Measure] observed.
type Result struct {
	// Elapsed is the wall-clock time from starting the first call to the
	// return of the last one.
	Elapsed time.Duration
	// Latencies holds the duration of every call, in increasing order.
	Latencies []time.Duration
}

// PerSecond returns the number of calls per second of wall-clock time.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// Percentile returns the nearest-rank p-quantile of the call latencies.
func (r Result) Percentile(p float64) time.Duration { return Percentile(r.Latencies, p) }

// Measure calls op n times from writers goroutines (at least one). Each
// goroutine takes the next operation number from a shared counter, so fast
// goroutines do more calls than slow ones, as clients of a server would. The
// latency of each call is measured around the op call alone. The first error
// returned by op stops the remaining calls and is returned.
func Measure(ctx context.Context, n, writers int, op Op) (Result, error) {
	writers = max(1, writers)
	var (
		next      atomic.Uint64 // next operation number to hand out
		failed    atomic.Bool
		firstErr  error
		errOnce   sync.Once
		wg        sync.WaitGroup
		latencies = make([][]time.Duration, writers) // latencies[w] is written only by worker w
	)
	start := time.Now()
	for w := range writers {
		latencies[w] = make([]time.Duration, 0, n/writers+1)
		wg.Go(func() {
			for !failed.Load() {
				seq := next.Add(1) - 1
				if seq >= uint64(n) {
					return
				}
				t0 := time.Now()
				err := op(ctx, w, seq)
				latencies[w] = append(latencies[w], time.Since(t0))
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("operation %d: %w", seq, err) })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(start), Latencies: make([]time.Duration, 0, n)}
	if firstErr != nil {
		return res, firstErr
	}
	for _, l := range latencies {
		res.Latencies = append(res.Latencies, l...)
	}
	slices.Sort(res.Latencies)
	return res, nil
}

// Percentile returns the nearest-rank p-quantile (0 < p <= 1) of sorted, a
// slice in increasing order: the smallest value such that at least p of the
// values are at most it. It returns 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// Millis converts d to fractional milliseconds.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
