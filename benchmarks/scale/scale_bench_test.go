package scale_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/pebblestore"
	"github.com/healthledger/healthledger/merkle"
)

// The run is asked for by a flag or, so that `go test ./...` with several
// packages can pass it, an environment variable. Zero (the default) skips
// every benchmark here.
var (
	flagEntries = flag.Uint64("scale.entries", envUint("HEALTHLEDGER_SCALE_ENTRIES"),
		"grow one Pebble log to this many entries, measuring each decade (0: skip; env HEALTHLEDGER_SCALE_ENTRIES)")
	flagDir = flag.String("scale.dir", os.Getenv("HEALTHLEDGER_SCALE_DIR"),
		"directory for the scale log, kept after the run (default: a temporary one, deleted; env HEALTHLEDGER_SCALE_DIR)")
	flagOpen = flag.String("scale.open", os.Getenv("HEALTHLEDGER_SCALE_OPEN"),
		"BenchmarkScaleOpen opens the Pebble log in this directory, grown before by BenchmarkScale (env HEALTHLEDGER_SCALE_OPEN)")
)

func envUint(name string) uint64 {
	v, err := strconv.ParseFloat(os.Getenv(name), 64) // accepts 1e7
	if err != nil || v < 0 || v > math.MaxInt64 {
		return 0
	}
	return uint64(v)
}

// Workload constants, documented in benchmarks/README.md ("Scale").
const (
	// leafSize is the exact size of every entry's encoding (the Merkle
	// leaf): smaller than the 1 KiB of the append benchmarks so that 10M
	// entries fit in a few GB of disk.
	leafSize = 256
	// writers is the number of concurrent Log.Append callers.
	writers = 256
	// subjects is the number of distinct subject tags entries cycle through.
	subjects = 4096
	// firstSize is the smallest size measured.
	firstSize = 1000
	// lookups is the number of inclusion proofs and of dedup lookups timed
	// at each size.
	lookups = 10000
	origin  = "bench.healthledger.example/scale"
	writer  = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
)

// Metric units, parsed by cmd/benchreport.
const (
	metricRate      = "entries/s"      // appends/s over the last tenth of the decade
	metricGrowRate  = "grow-entries/s" // appends/s over the whole decade
	metricRSS       = "rss-MB"         // resident set after Open and the lookups
	metricHeap      = "heap-MB"        // Go heap in use after a GC, same moment
	metricDisk      = "disk-B/entry"   // bytes of every file in the directory / size
	metricOpen      = "open-ms"        // pebblestore.Open of the closed log
	metricLogOpen   = "log-open-ms"    // ledger.Open over the opened store
	metricProof     = "proof-us"       // one inclusion proof at the current size
	metricPrecheck  = "precheck-us"    // dedup lookup of a hash not in the log, before the reopen
	metricIndexMiss = "index-miss-us"  // the same lookup in Pebble's hash index alone
	metricGrowSecs  = "grow-s"         // wall time of the decade's growth
	metricTotalSecs = "elapsed-s"      // wall time since the run started
)

// scaleSizes returns the sizes measured on the way to target: the powers of
// ten from firstSize, then target itself if it is not one.
func scaleSizes(target uint64) []uint64 {
	var sizes []uint64
	for n := uint64(firstSize); n <= target; n *= 10 {
		sizes = append(sizes, n)
		if n > math.MaxUint64/10 {
			break
		}
	}
	if len(sizes) == 0 || sizes[len(sizes)-1] != target {
		sizes = append(sizes, target)
	}
	return sizes
}

// BenchmarkScale grows one Pebble log with 256-byte entries, appended by 256 concurrent Log.Append callers (each with its receipt,
// fsynced, deduplicated exactly), to -scale.entries, and reports at each
// decade of its size the metrics above. Every size is one sub-benchmark,
// BenchmarkScale/pebble/size=N; they share the log, so they run in order
// and only once (run with -benchtime 1x -count 1; a repeated call reports
// the figures of the first).
func BenchmarkScale(b *testing.B) {
	target := *flagEntries
	if target == 0 {
		b.Skip("set -scale.entries or HEALTHLEDGER_SCALE_ENTRIES to run (see benchmarks/README.md, Scale)")
	}
	dir := *flagDir
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "log")
	} else {
		// The log's checkpoint guard is kept beside the directory.
		for _, p := range []string{dir, dir + ".checkpoint"} {
			if _, err := os.Stat(p); err == nil {
				b.Fatalf("%s exists; the scale run grows a new log", p)
			}
		}
	}
	run, err := newScaleRun(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	defer run.close()
	b.Logf("scale run: %d entries of %d bytes in %s, %d writers", target, leafSize, dir, writers)
	for _, size := range scaleSizes(target) {
		var m map[string]float64
		b.Run(fmt.Sprintf("pebble/size=%d", size), func(b *testing.B) {
			if m == nil {
				if m, err = run.measure(size, b.Logf); err != nil {
					b.Fatal(err)
				}
			}
			for unit, v := range m {
				b.ReportMetric(v, unit)
			}
			b.ReportMetric(0, "ns/op") // the figures are the metrics above
		})
		if m == nil {
			return // the sub-benchmark failed
		}
	}
}

// BenchmarkScaleOpen opens the log that BenchmarkScale left in -scale.open
// (with -scale.dir) and reports open-ms (pebblestore.Open, then Close, per
// op), and rss-MB and heap-MB with the store open: the figures of the last
// size of BenchmarkScale, repeatable with -count to compare builds.
func BenchmarkScaleOpen(b *testing.B) {
	dir := *flagOpen
	if dir == "" {
		b.Skip("set -scale.open or HEALTHLEDGER_SCALE_OPEN to a directory grown by BenchmarkScale")
	}
	ctx := context.Background()
	var total time.Duration
	for range b.N {
		t0 := time.Now()
		st, err := pebblestore.Open(ctx, pebblestore.Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		b.StopTimer()
		miss, err := indexMissTime(ctx, st)
		if err != nil {
			b.Fatal(err)
		}
		rss, heap := memory()
		size := st.Head().Size
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		b.ReportMetric(rss, metricRSS)
		b.ReportMetric(heap, metricHeap)
		b.ReportMetric(float64(size), "entries")
		b.ReportMetric(miss, metricIndexMiss)
	}
	b.ReportMetric(float64(total)/float64(time.Millisecond)/float64(b.N), metricOpen)
}

// scaleRun is the growing log and what appends to it.
type scaleRun struct {
	dir    string
	signer *ledger.Signer
	store  *pebblestore.Store
	log    *ledger.Log
	maker  *entryMaker
	start  time.Time
}

func newScaleRun(ctx context.Context, dir string) (*scaleRun, error) {
	skey, _, err := ledger.GenerateKey(origin)
	if err != nil {
		return nil, err
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	maker, err := newEntryMaker()
	if err != nil {
		return nil, err
	}
	r := &scaleRun{dir: dir, signer: signer, maker: maker, start: time.Now()}
	if _, _, err := r.open(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// open opens the store and the log over it, returning how long each took.
func (r *scaleRun) open(ctx context.Context) (storeTime, logTime time.Duration, err error) {
	t0 := time.Now()
	st, err := pebblestore.Open(ctx, pebblestore.Config{Dir: r.dir})
	if err != nil {
		return 0, 0, fmt.Errorf("opening store: %w", err)
	}
	t1 := time.Now()
	l, err := ledger.Open(ctx, ledger.Config{Store: st, Signer: r.signer, Origin: origin})
	if err != nil {
		st.Close()
		return 0, 0, fmt.Errorf("opening log: %w", err)
	}
	r.store, r.log = st, l
	return t1.Sub(t0), time.Since(t1), nil
}

func (r *scaleRun) close() error {
	if r.log == nil {
		return nil
	}
	errLog := r.log.Close()
	errStore := r.store.Close()
	r.log, r.store = nil, nil
	if errLog != nil {
		return errLog
	}
	return errStore
}

// measure grows the log to size and returns the metrics at that size.
// logf receives a one-line summary.
func (r *scaleRun) measure(size uint64, logf func(string, ...any)) (map[string]float64, error) {
	ctx := context.Background()
	from := r.store.Head().Size
	if from >= size {
		return nil, fmt.Errorf("log already has %d entries, not below %d", from, size)
	}
	m := map[string]float64{}
	// The growth: everything but the last tenth, then the last tenth,
	// whose rate and latencies are the figures at this size.
	window := max(1, (size-from)/10)
	t0 := time.Now()
	if _, err := r.grow(ctx, from, size-window); err != nil {
		return nil, err
	}
	res, err := r.grow(ctx, size-window, size)
	if err != nil {
		return nil, err
	}
	grow := time.Since(t0)
	m[metricRate] = res.PerSecond()
	m[loadgen.MetricP50] = loadgen.Millis(res.Percentile(0.50))
	m[loadgen.MetricP99] = loadgen.Millis(res.Percentile(0.99))
	m[metricGrowRate] = float64(size-from) / grow.Seconds()
	m[metricGrowSecs] = grow.Seconds()
	// The dedup lookup as appends meet it: the store open since the
	// previous size, its dedup filter filled.
	if m[metricPrecheck], err = precheckTime(ctx, r.store); err != nil {
		return nil, err
	}
	if m[metricIndexMiss], err = indexMissTime(ctx, r.store); err != nil {
		return nil, err
	}

	if err := r.close(); err != nil {
		return nil, err
	}
	disk, err := dirBytes(r.dir)
	if err != nil {
		return nil, err
	}
	m[metricDisk] = float64(disk) / float64(size)
	openStore, openLog, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	m[metricOpen] = float64(openStore) / float64(time.Millisecond)
	m[metricLogOpen] = float64(openLog) / float64(time.Millisecond)
	if got := r.store.Head().Size; got != size {
		return nil, fmt.Errorf("reopened log has %d entries, want %d", got, size)
	}
	if m[metricProof], err = r.proofTime(ctx, size); err != nil {
		return nil, err
	}
	m[metricRSS], m[metricHeap] = memory()
	m[metricTotalSecs] = time.Since(r.start).Seconds()
	logf("size %d: %.0f entries/s (grow %.0f/s, %.1f s), p99 %.1f ms, open %.1f ms, rss %.0f MB, heap %.0f MB, disk %.0f B/entry",
		size, m[metricRate], m[metricGrowRate], m[metricGrowSecs], m[loadgen.MetricP99], m[metricOpen], m[metricRSS], m[metricHeap], m[metricDisk])
	return m, nil
}

// grow appends entries [from, to) from writers goroutines.
func (r *scaleRun) grow(ctx context.Context, from, to uint64) (loadgen.Result, error) {
	return loadgen.Measure(ctx, int(to-from), writers, func(ctx context.Context, _ int, seq uint64) error {
		seq += from
		rc, err := r.log.Append(ctx, r.maker.entry(seq))
		if err != nil {
			return err
		}
		if rc.Existed || len(rc.Leaf) != leafSize || rc.Index >= to {
			return fmt.Errorf("entry %d: unexpected receipt (existed %v, %d-byte leaf, index %d)", seq, rc.Existed, len(rc.Leaf), rc.Index)
		}
		return nil
	})
}

// proofTime returns the mean time of one inclusion proof for a scattered
// index at size, from one goroutine (the tile cache is cold after Open).
func (r *scaleRun) proofTime(ctx context.Context, size uint64) (float64, error) {
	t0 := time.Now()
	for i := range uint64(lookups) {
		idx := (i * 0x9e3779b97f4a7c15) % size
		if _, err := r.log.InclusionProof(ctx, idx, size); err != nil {
			return 0, fmt.Errorf("proof of %d at %d: %w", idx, size, err)
		}
	}
	return float64(time.Since(t0)) / float64(time.Microsecond) / lookups, nil
}

// precheckTime returns the mean time of the dedup lookup an Append makes
// (ledger.Prechecker.Precheck) for a leaf hash that is not in the log,
// the common case, from one goroutine, while nothing is appended.
func precheckTime(ctx context.Context, st ledger.Store) (float64, error) {
	pc, ok := st.(ledger.Prechecker)
	if !ok {
		return 0, fmt.Errorf("the Pebble store is not a ledger.Prechecker")
	}
	hashes := randomHashes()
	t0 := time.Now()
	for _, h := range hashes {
		if _, found, _, err := pc.Precheck(ctx, h); err != nil || found {
			return 0, fmt.Errorf("precheck of a random hash: found %v, %v", found, err)
		}
	}
	return float64(time.Since(t0)) / float64(time.Microsecond) / lookups, nil
}

// indexMissTime returns the mean time of Store.IndexOf for a leaf hash
// not in the log, which reads Pebble's hash index without the dedup
// filter: what each dedup lookup would cost without it.
func indexMissTime(ctx context.Context, st ledger.Store) (float64, error) {
	hashes := randomHashes()
	t0 := time.Now()
	for _, h := range hashes {
		if _, err := st.IndexOf(ctx, h); !errors.Is(err, ledger.ErrNotFound) {
			return 0, fmt.Errorf("index lookup of a random hash: %v", err)
		}
	}
	return float64(time.Since(t0)) / float64(time.Microsecond) / lookups, nil
}

func randomHashes() []merkle.Hash {
	hashes := make([]merkle.Hash, lookups)
	for i := range hashes {
		rand.Read(hashes[i][:])
	}
	return hashes
}

// memory returns the process's resident set (VmRSS) and the Go heap in use
// after a GC, in MB (10^6 bytes). Memory the Go heap freed (the harness's
// latency records of the growth, for example) is returned to the system
// first, so that RSS is what the process holds. RSS is 0 where /proc is
// missing.
func memory() (rss, heap float64) {
	debug.FreeOSMemory() // runs a GC
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap = float64(ms.HeapInuse) / 1e6
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, heap
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1e3 / 1e6, heap
		}
	}
	return 0, heap
}

// dirBytes returns the total size of the regular files under dir.
func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// entryMaker makes distinct entries whose encoding is exactly leafSize
// bytes, dated now (the log refuses entries far from its clock, and a
// 10M-entry run takes minutes).
type entryMaker struct {
	tag      [16]byte
	subjects []ledger.SubjectTag
	body     []byte // shared by all entries, never modified
	sig      []byte // shared by all entries, never modified
}

func newEntryMaker() (*entryMaker, error) {
	m := &entryMaker{subjects: make([]ledger.SubjectTag, subjects), sig: make([]byte, 64)}
	if _, err := rand.Read(m.tag[:]); err != nil {
		return nil, err
	}
	for i := range m.subjects {
		m.subjects[i] = ledger.DeriveSubjectTag("bench-patient", strconv.Itoa(i))
	}
	for i := range m.sig {
		m.sig[i] = byte(mrand.IntN(256))
	}
	for bodySize := range leafSize {
		m.body = make([]byte, bodySize)
		data, err := m.entry(0).MarshalBinary()
		if err != nil {
			return nil, err
		}
		if len(data) == leafSize {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no body size encodes to a %d-byte leaf", leafSize)
}

// entry returns the seq-th entry.
func (m *entryMaker) entry(seq uint64) *ledger.Entry {
	e := &ledger.Entry{
		Kind:      ledger.KindRecordAnchored,
		Subject:   m.subjects[seq%subjects],
		Writer:    writer,
		Time:      time.Now().UTC(),
		Body:      m.body,
		Signature: m.sig,
	}
	copy(e.Digest[:], m.tag[:])
	binary.BigEndian.PutUint64(e.Digest[len(m.tag):], seq)
	return e
}
