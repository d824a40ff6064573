package ledger_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/healthledger/healthledger/merkle"
)

// The two benchmarks in this file measure the limits the append targets
// are stated against (issue 12), in the same run as BenchmarkAppend:
//
//   - BenchmarkRawPebble: durable 1 KiB writes straight into Pebble, in
//     batches of rawBatch, one synced commit per batch, with the options
//     pebblestore uses. Pebble appends are compared with it (target: at
//     least 30%).
//   - BenchmarkHashLeaf: merkle.HashLeaf over 1 KiB leaves from GOMAXPROCS
//     goroutines, the SHA-256 work every append must do at least once.
//     Memory-store appends are compared with it (target: at least 45%).

// rawBatch is the number of writes per Pebble batch in BenchmarkRawPebble,
// the batches Pebble appends are compared with. rawLogBatch is about the
// size of the batches of BenchmarkAppend with 256 writers on Pebble, whose
// commit-ms compares with that of the log's batches.
const (
	rawBatch    = 256
	rawLogBatch = 128
)

// rawPebbleOptions returns the Pebble options pebblestore.Open uses (see
// ledger/pebblestore), without its event listener and logger. Keep the two
// in step: the ratio to this benchmark means something only if they match.
func rawPebbleOptions() *pebble.Options {
	opts := &pebble.Options{
		Cache:                       pebble.NewCache(64 << 20),
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		FormatMajorVersion:          pebble.FormatWALSyncChunks,
		Logger:                      quietPebble{},
	}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		opts.Levels[i].BlockSize = 32 << 10
	}
	return opts
}

// BenchmarkRawPebble writes b.N values of leafSize bytes under 9-byte
// big-endian sequential keys (a log's leaf keys) into a new Pebble
// database, rawBatch to a batch, each batch committed with pebble.Sync
// from one goroutine: the write path of a log with no tree, no index, no
// signature and no receipts. Metrics: entries/s, and p50-ms/p99-ms and
// commit-ms (the mean) of one batch commit.
func BenchmarkRawPebble(b *testing.B) {
	for _, batch := range []int{rawBatch, rawLogBatch} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			opts := rawPebbleOptions()
			defer opts.Cache.Unref()
			db, err := pebble.Open(b.TempDir(), opts)
			fatalIf(b, err)
			defer db.Close()
			b.SetBytes(leafSize)
			b.ResetTimer()
			start := time.Now()
			lat, err := writeRaw(db, b.N, batch)
			elapsed := time.Since(start)
			b.StopTimer()
			fatalIf(b, err)
			reportRate(b, elapsed, lat)
			// The batches' commits, back to back, are the whole run.
			b.ReportMetric(loadgen.Millis(elapsed/time.Duration(max(1, len(lat)))), metricCommit)
		})
	}
}

// writeRaw writes n values of leafSize bytes under rawKey(0..n-1) into db,
// batch to a Pebble batch, each committed with pebble.Sync, and returns
// the latency of each commit.
func writeRaw(db *pebble.DB, n, batch int) ([]time.Duration, error) {
	value := make([]byte, leafSize)
	for i := range value {
		value[i] = byte(i * 7)
	}
	lat := make([]time.Duration, 0, n/batch+1)
	for i := 0; i < n; {
		t0 := time.Now()
		bt := db.NewBatch()
		for k := 0; k < batch && i < n; k, i = k+1, i+1 {
			// Each value differs, as leaves do, so that the WAL and
			// tables do not compress better than a log's would.
			binary.BigEndian.PutUint64(value, uint64(i))
			if err := bt.Set(rawKey(uint64(i)), value, nil); err != nil {
				bt.Close()
				return nil, err
			}
		}
		if err := errors.Join(bt.Commit(pebble.Sync), bt.Close()); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}

// rawKey is 'e' || i (8 bytes big-endian), the shape of a log's leaf key.
func rawKey(i uint64) []byte {
	var key [9]byte
	key[0] = 'e'
	binary.BigEndian.PutUint64(key[1:], i)
	return key[:]
}

// BenchmarkHashLeaf hashes 1 KiB leaves with merkle.HashLeaf from
// GOMAXPROCS goroutines, each its own leaf, b.N hashes in all: the
// SHA-256 limit of appends on this machine. Metrics: hashes/s, and
// hashes/s/core, that rate over GOMAXPROCS (issue 12 states the hashing
// limit per core: "0.88M/s per core", with 400k/s as 45% of it).
func BenchmarkHashLeaf(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		sink atomic.Uint32
	)
	b.SetBytes(leafSize)
	b.ResetTimer()
	start := time.Now()
	for p := range procs {
		wg.Go(func() {
			leaf := make([]byte, leafSize)
			leaf[0] = byte(p)
			var acc byte
			for next.Add(1) <= int64(b.N) {
				binary.BigEndian.PutUint64(leaf[1:], uint64(acc))
				h := merkle.HashLeaf(leaf)
				acc ^= h[0]
			}
			sink.Add(uint32(acc))
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "hashes/s")
	b.ReportMetric(rate/float64(procs), "hashes/s/core")
}

// reportRate reports b.N entries over elapsed as entries/s, and the
// nearest-rank p50 and p99 of the batch commit latencies lat.
func reportRate(b *testing.B, elapsed time.Duration, lat []time.Duration) {
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "entries/s")
	slices.Sort(lat)
	b.ReportMetric(loadgen.Millis(loadgen.Percentile(lat, 0.50)), loadgen.MetricP50)
	b.ReportMetric(loadgen.Millis(loadgen.Percentile(lat, 0.99)), loadgen.MetricP99)
}

// quietPebble is a pebble.Logger that drops Pebble's informational and
// error messages (they would break the benchmark's result lines) and
// panics on a fatal one, as Pebble's default logger exits.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
