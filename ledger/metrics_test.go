package ledger_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// recorder is a MeterProvider that keeps the last value (gauges), the sum
// (counters) and the count of records (histograms) per metric name.
type recorder struct {
	noop.MeterProvider
	mu      sync.Mutex
	sums    map[string]float64
	counts  map[string]int
	gauges  map[string]float64
	observe []func()
}

func newRecorder() *recorder {
	return &recorder{sums: map[string]float64{}, counts: map[string]int{}, gauges: map[string]float64{}}
}

func (r *recorder) add(name string, v float64) {
	r.mu.Lock()
	r.sums[name] += v
	r.counts[name]++
	r.mu.Unlock()
}
func (r *recorder) gauge(name string, v float64) { r.mu.Lock(); r.gauges[name] = v; r.mu.Unlock() }
func (r *recorder) collect() {
	r.mu.Lock()
	obs := r.observe
	r.mu.Unlock()
	for _, o := range obs {
		o()
	}
}
func (r *recorder) sum(name string) float64 { r.mu.Lock(); defer r.mu.Unlock(); return r.sums[name] }
func (r *recorder) count(name string) int   { r.mu.Lock(); defer r.mu.Unlock(); return r.counts[name] }
func (r *recorder) last(name string) (float64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.gauges[name]
	return v, ok
}

func (r *recorder) Meter(string, ...metric.MeterOption) metric.Meter { return recMeter{r: r} }

type recMeter struct {
	noop.Meter
	r *recorder
}

type recInt struct {
	noop.Int64Counter
	noop.Int64Histogram
	noop.Int64Gauge
	r     *recorder
	name  string
	gauge bool
}

func (c recInt) Enabled(context.Context) bool { return true }

func (c recInt) Add(_ context.Context, v int64, _ ...metric.AddOption) { c.r.add(c.name, float64(v)) }
func (c recInt) Record(_ context.Context, v int64, _ ...metric.RecordOption) {
	if c.gauge {
		c.r.gauge(c.name, float64(v))
		return
	}
	c.r.add(c.name, float64(v))
}

type recFloat struct {
	noop.Float64Histogram
	r    *recorder
	name string
}

func (c recFloat) Record(_ context.Context, v float64, _ ...metric.RecordOption) { c.r.add(c.name, v) }

func (m recMeter) Int64Counter(n string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return recInt{r: m.r, name: n}, nil
}
func (m recMeter) Int64Histogram(n string, _ ...metric.Int64HistogramOption) (metric.Int64Histogram, error) {
	return recInt{r: m.r, name: n}, nil
}
func (m recMeter) Int64Gauge(n string, _ ...metric.Int64GaugeOption) (metric.Int64Gauge, error) {
	return recInt{r: m.r, name: n, gauge: true}, nil
}
func (m recMeter) Float64Histogram(n string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return recFloat{r: m.r, name: n}, nil
}

type recObserver struct {
	noop.Float64Observer
	r    *recorder
	name string
}

func (o recObserver) Observe(v float64, _ ...metric.ObserveOption) { o.r.gauge(o.name, v) }

func (m recMeter) Float64ObservableGauge(n string, opts ...metric.Float64ObservableGaugeOption) (metric.Float64ObservableGauge, error) {
	cfg := metric.NewFloat64ObservableGaugeConfig(opts...)
	m.r.mu.Lock()
	for _, cb := range cfg.Callbacks() {
		m.r.observe = append(m.r.observe, func() { cb(context.Background(), recObserver{r: m.r, name: n}) })
	}
	m.r.mu.Unlock()
	return noop.Float64ObservableGauge{}, nil
}

// The Log reports appends, batches, queue depth, pushbacks, checkpoint
// age and witness answers when they happen.
func TestLogMetrics(t *testing.T) {
	const origin = "metrics.healthledger.example/test"
	ctx := context.Background()
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	wskey, wvkey, err := ledger.GenerateCosignerKey("witness.metrics.example")
	require.NoError(t, err)
	cs, err := ledger.NewCosigner(wskey)
	require.NoError(t, err)
	w, err := ledger.NewWitness(ledger.WitnessConfig{Cosigner: cs, Logs: []ledger.WitnessedLog{{Origin: origin, LogKey: vkey}}})
	require.NoError(t, err)
	now := time.Now()
	var clock sync.Mutex
	rec := newRecorder()
	l, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin, MeterProvider: rec,
		MaxPending: 1, Witnesses: []ledger.LogWitness{{Key: wvkey, Cosigner: ledger.NewLocalCosigner(w)}},
		Now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now }})
	require.NoError(t, err)
	defer l.Close()

	rec.collect()
	_, ok := rec.last(ledger.MetricCheckpointAge)
	require.False(t, ok, "no checkpoint yet, no age")
	for i := range 3 {
		_, err := l.Append(ctx, &ledger.Entry{Kind: ledger.KindRecordAnchored, Writer: "did:key:z6MkMetrics", Time: now, Digest: ledger.Digest{byte(i + 1)}})
		require.NoError(t, err)
	}
	require.Equal(t, 3, rec.count(ledger.MetricAppendDuration))
	require.Equal(t, 3.0, rec.sum(ledger.MetricBatchSize))
	require.Equal(t, 3.0, rec.sum(ledger.MetricCosignatures), "one witness answer per batch")
	depth, ok := rec.last(ledger.MetricQueueDepth)
	require.True(t, ok)
	require.Equal(t, 1.0, depth)

	clock.Lock()
	now = now.Add(90 * time.Second)
	clock.Unlock()
	rec.collect()
	age, ok := rec.last(ledger.MetricCheckpointAge)
	require.True(t, ok)
	require.InDelta(t, 90, age, 1)

	// With a queue of one, concurrent appends push back.
	var wg sync.WaitGroup
	var pushed sync.Map
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.Append(ctx, &ledger.Entry{Kind: ledger.KindRecordAnchored, Writer: "did:key:z6MkMetrics", Time: now, Digest: ledger.Digest{byte(i), 9}})
			if errors.Is(err, ledger.ErrPushback) {
				pushed.Store(i, true)
			}
		}()
	}
	wg.Wait()
	n := 0
	pushed.Range(func(any, any) bool { n++; return true })
	require.Equal(t, float64(n), rec.sum(ledger.MetricPushbacks))
}

// slowStore is a Store whose Add takes at least delay, and fails after it
// while fail is set.
type slowStore struct {
	ledger.Store
	delay time.Duration
	fail  atomic.Bool
}

var errStoreDown = errors.New("store down")

func (s *slowStore) Add(ctx context.Context, leaves []ledger.Leaf, sign ledger.SignFunc) (ledger.AddResult, error) {
	time.Sleep(s.delay)
	if s.fail.Load() {
		return ledger.AddResult{}, errStoreDown
	}
	return s.Store.Add(ctx, leaves, sign)
}

// slowGuard is a MemoryGuard whose Swap takes at least delay, and fails
// after it while fail is set.
type slowGuard struct {
	ledger.MemoryGuard
	delay time.Duration
	fail  atomic.Bool
}

func (g *slowGuard) Swap(ctx context.Context, old, next []byte) error {
	time.Sleep(g.delay)
	if g.fail.Load() {
		return errGuardDown
	}
	return g.MemoryGuard.Swap(ctx, old, next)
}

// The commit and publish durations time their own stage of a batch, not
// the other's, and only batches that committed and were released.
func TestBatchStageDurations(t *testing.T) {
	const (
		batches = 3
		commit  = 40 * time.Millisecond
		publish = 100 * time.Millisecond
	)
	ctx := context.Background()
	rec := newRecorder()
	st := &slowStore{Store: memstore.New(), delay: commit}
	g := &slowGuard{delay: publish}
	k := newLogKeys(t)
	l, err := ledger.Open(ctx, ledger.Config{Store: st, Signer: k.signer, Origin: testOrigin, Guard: g, Now: testNow, MeterProvider: rec})
	require.NoError(t, err)
	defer l.Close()
	for i := range batches {
		_, err := l.Append(ctx, testEntry(i)) // one at a time: a batch each
		require.NoError(t, err)
	}
	require.Equal(t, batches, rec.count(ledger.MetricCommitDuration))
	require.Equal(t, batches, rec.count(ledger.MetricPublishDuration))
	// Each stage took at least its own delay, and the margin below the
	// other delay leaves room for a slow machine's late wake-ups.
	committed, published := rec.sum(ledger.MetricCommitDuration), rec.sum(ledger.MetricPublishDuration)
	require.GreaterOrEqual(t, committed, batches*commit.Seconds())
	require.Less(t, committed, batches*publish.Seconds(), "the commit duration includes the guard's write")
	require.GreaterOrEqual(t, published, batches*publish.Seconds())
	require.Less(t, published, batches*(publish+commit).Seconds(), "the publish duration includes the store's Add")

	// A batch the store refuses records neither.
	st.fail.Store(true)
	_, err = l.Append(ctx, testEntry(batches))
	require.ErrorIs(t, err, errStoreDown)
	require.Equal(t, batches, rec.count(ledger.MetricCommitDuration))
	require.Equal(t, batches, rec.count(ledger.MetricPublishDuration))

	// A batch committed but withheld by the guard records its commit only.
	st.fail.Store(false)
	g.fail.Store(true)
	_, err = l.Append(ctx, testEntry(batches+1))
	require.ErrorIs(t, err, errGuardDown)
	require.Equal(t, batches+1, rec.count(ledger.MetricCommitDuration))
	require.Equal(t, batches, rec.count(ledger.MetricPublishDuration))
}
