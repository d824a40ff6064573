package ledger_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Metrics of the stages of a batch (see ledger.MetricCommitDuration and
// ledger.MetricPublishDuration), mean milliseconds per batch: the store's
// Add, and from its return to the receipts' release (the checkpoint
// guard's write, witnesses, proofs).
const (
	metricCommit  = "commit-ms"
	metricPublish = "publish-ms"
)

// stageTimer is a MeterProvider that sums the commit and publish
// durations a Log records and ignores every other metric, with atomics
// only, so that timing the stages adds no lock to an append.
type stageTimer struct {
	noop.MeterProvider
	commit, publish stageSum
}

// stageSum is the count and total of one stage's durations.
type stageSum struct{ ns, n atomic.Int64 }

// meanMillis returns the mean duration in milliseconds, 0 if none.
func (s *stageSum) meanMillis() float64 {
	n := s.n.Load()
	if n == 0 {
		return 0
	}
	return float64(s.ns.Load()) / float64(n) / float64(time.Millisecond)
}

// report reports the mean commit and publish durations on b.
func (t *stageTimer) report(b *testing.B) {
	if t == nil {
		return
	}
	b.ReportMetric(t.commit.meanMillis(), metricCommit)
	b.ReportMetric(t.publish.meanMillis(), metricPublish)
}

func (t *stageTimer) Meter(string, ...metric.MeterOption) metric.Meter { return stageMeter{t: t} }

type stageMeter struct {
	noop.Meter
	t *stageTimer
}

func (m stageMeter) Float64Histogram(name string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	switch name {
	case ledger.MetricCommitDuration:
		return stageHistogram{s: &m.t.commit}, nil
	case ledger.MetricPublishDuration:
		return stageHistogram{s: &m.t.publish}, nil
	}
	return noop.Float64Histogram{}, nil
}

type stageHistogram struct {
	noop.Float64Histogram
	s *stageSum
}

func (h stageHistogram) Enabled(context.Context) bool { return true }

func (h stageHistogram) Record(_ context.Context, seconds float64, _ ...metric.RecordOption) {
	h.s.ns.Add(int64(seconds * float64(time.Second)))
	h.s.n.Add(1)
}
