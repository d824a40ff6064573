package monitor_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger/monitor"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// counters is a MeterProvider that sums Int64Counter adds by metric name
// and attribute set.
type counters struct {
	noop.MeterProvider
	mu   sync.Mutex
	sums map[string]int64 // "name{k=v,...}" -> sum
}

func newCounters() *counters { return &counters{sums: map[string]int64{}} }

func (c *counters) get(key string) int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.sums[key] }

func (c *counters) Meter(string, ...metric.MeterOption) metric.Meter { return countersMeter{c: c} }

type countersMeter struct {
	noop.Meter
	c *counters
}

func (m countersMeter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return countersCounter{c: m.c, name: name}, nil
}

type countersCounter struct {
	noop.Int64Counter
	c    *counters
	name string
}

func (k countersCounter) Add(_ context.Context, v int64, opts ...metric.AddOption) {
	key := k.name
	if set := metric.NewAddConfig(opts).Attributes(); set.Len() > 0 {
		var kvs []string
		for it := set.Iter(); it.Next(); {
			kvs = append(kvs, string(it.Attribute().Key)+"="+it.Attribute().Value.Emit())
		}
		key += "{" + strings.Join(kvs, ",") + "}"
	}
	k.c.mu.Lock()
	k.c.sums[key] += v
	k.c.mu.Unlock()
}

func TestMeterProviderCountsStepsEntriesAndFindings(t *testing.T) {
	signer, logKey := newSigner(t)
	f := newFakeLog(t, signer)
	f.add(entries(t, 0, 10, t0)...)
	f.sign(t, t0)
	srv := serve(t, f)
	mp := newCounters()
	m := newMonitor(t, srv.URL, logKey, func(c *monitor.Config) { c.MeterProvider = mp })

	_, err := m.Step(ctx(t))
	require.NoError(t, err)
	require.Equal(t, int64(1), mp.get(monitor.MetricSteps+"{result=ok}"))
	require.Equal(t, int64(10), mp.get(monitor.MetricEntries))

	// A future-dated entry is a finding, counted by kind; the step is ok.
	f.add(entries(t, 10, 3, t0)...)
	f.add(entry(t, 13, t0.Add(time.Hour)))
	f.sign(t, t0)
	fs, err := m.Step(ctx(t))
	require.NoError(t, err)
	require.Equal(t, []monitor.Kind{monitor.FutureDated}, kinds(fs))
	require.Equal(t, int64(1), mp.get(monitor.MetricFindings+"{kind=future-dated}"))
	require.Equal(t, int64(2), mp.get(monitor.MetricSteps+"{result=ok}"))
	require.Equal(t, int64(14), mp.get(monitor.MetricEntries))

	// A read path that is down is a failed step, not a finding.
	srv.Close()
	_, err = m.Step(ctx(t))
	require.Error(t, err)
	require.Equal(t, int64(1), mp.get(monitor.MetricSteps+"{result=failed}"))
	require.Equal(t, int64(14), mp.get(monitor.MetricEntries))
}
