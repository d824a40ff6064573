package ledger

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// MeterName is the instrumentation scope of the metrics of this package
// and of the read-path and witness handlers.
const MeterName = "github.com/healthledger/healthledger/ledger"

// Metrics a Log reports through Config.MeterProvider (OpenTelemetry metric
// API; with Prometheus exporters, dots become underscores and units
// suffixes):
//
//	healthledger.append.duration      histogram, s    Append calls that returned a receipt, from call to receipt
//	healthledger.batch.size           histogram       entries per committed batch
//	healthledger.queue.depth          gauge           appends waiting when a batch starts
//	healthledger.pushbacks            counter         appends refused with ErrPushback
//	healthledger.checkpoint.age       gauge, s        time since the latest checkpoint's signed time (observed at collection)
//	healthledger.witness.cosignatures counter         witness answers per checkpoint, attribute result=ok|failed
//	healthledger.batch.commit.duration  histogram, s  the store's Add of one batch that committed: deduplication, tree, checkpoint signature, durable write
//	healthledger.batch.publish.duration histogram, s  from a batch's commit to its receipts' release: waiting for the publisher, the checkpoint guard's write, witness cosignatures, inclusion proofs
//
// The last two split a batch's share of healthledger.append.duration: an
// append also waits for its batch to start. A slow disk shows in the
// commit; a slow guard or slow witnesses in the publish. Only batches
// that committed, and that were released with receipts, are recorded.
const (
	MetricAppendDuration  = "healthledger.append.duration"
	MetricBatchSize       = "healthledger.batch.size"
	MetricQueueDepth      = "healthledger.queue.depth"
	MetricPushbacks       = "healthledger.pushbacks"
	MetricCheckpointAge   = "healthledger.checkpoint.age"
	MetricCosignatures    = "healthledger.witness.cosignatures"
	MetricCommitDuration  = "healthledger.batch.commit.duration"
	MetricPublishDuration = "healthledger.batch.publish.duration"
)

// logMetrics holds a Log's instruments; with no MeterProvider they are
// no-ops.
type logMetrics struct {
	appendDuration  metric.Float64Histogram
	batchSize       metric.Int64Histogram
	queueDepth      metric.Int64Gauge
	pushbacks       metric.Int64Counter
	cosignatures    metric.Int64Counter
	commitDuration  metric.Float64Histogram
	publishDuration metric.Float64Histogram
}

var (
	resultOK     = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "ok")))
	resultFailed = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "failed")))
)

// newLogMetrics creates the instruments of l. An instrument the provider
// cannot create is replaced by a no-op: metrics never stop a log.
func newLogMetrics(mp metric.MeterProvider, l *Log) *logMetrics {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter(MeterName)
	nm := noop.Meter{}
	lm := &logMetrics{}
	var err error
	if lm.appendDuration, err = m.Float64Histogram(MetricAppendDuration, metric.WithUnit("s"),
		metric.WithDescription("Append latency, from call to receipt")); err != nil {
		lm.appendDuration, _ = nm.Float64Histogram("")
	}
	if lm.batchSize, err = m.Int64Histogram(MetricBatchSize, metric.WithDescription("entries per committed batch")); err != nil {
		lm.batchSize, _ = nm.Int64Histogram("")
	}
	if lm.queueDepth, err = m.Int64Gauge(MetricQueueDepth, metric.WithDescription("appends waiting when a batch starts")); err != nil {
		lm.queueDepth, _ = nm.Int64Gauge("")
	}
	if lm.pushbacks, err = m.Int64Counter(MetricPushbacks, metric.WithDescription("appends refused with ErrPushback")); err != nil {
		lm.pushbacks, _ = nm.Int64Counter("")
	}
	if lm.commitDuration, err = m.Float64Histogram(MetricCommitDuration, metric.WithUnit("s"),
		metric.WithDescription("the store's Add of one committed batch")); err != nil {
		lm.commitDuration, _ = nm.Float64Histogram("")
	}
	if lm.publishDuration, err = m.Float64Histogram(MetricPublishDuration, metric.WithUnit("s"),
		metric.WithDescription("from a batch's commit to its receipts' release")); err != nil {
		lm.publishDuration, _ = nm.Float64Histogram("")
	}
	if lm.cosignatures, err = m.Int64Counter(MetricCosignatures, metric.WithDescription("witness answers, by result")); err != nil {
		lm.cosignatures, _ = nm.Int64Counter("")
	}
	m.Float64ObservableGauge(MetricCheckpointAge, metric.WithUnit("s"),
		metric.WithDescription("time since the latest checkpoint's signed time"),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			l.mu.Lock()
			at := l.signedAt
			l.mu.Unlock()
			if !at.IsZero() {
				o.Observe(l.cfg.Now().Sub(at).Seconds())
			}
			return nil
		}))
	return lm
}

// cosigned records one round of witness answers.
func (m *logMetrics) cosigned(ok, failed int) {
	if m == nil {
		return
	}
	m.cosignatures.Add(context.Background(), int64(ok), resultOK)
	m.cosignatures.Add(context.Background(), int64(failed), resultFailed)
}

func (m *logMetrics) appended(start time.Time) {
	m.appendDuration.Record(context.Background(), time.Since(start).Seconds())
}
