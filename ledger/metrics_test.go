package ledger_test

import (
	"context"
	"errors"
	"sync"
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
