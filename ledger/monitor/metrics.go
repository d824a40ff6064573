package monitor

import (
	"context"

	"github.com/healthledger/healthledger/ledger"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Metrics a Monitor reports through Config.MeterProvider (OpenTelemetry
// metric API, instrumentation scope ledger.MeterName):
//
//	healthledger.monitor.findings  counter  findings, attribute kind (a Kind)
//	healthledger.monitor.steps     counter  calls to Step, attribute result=ok|failed
//	healthledger.monitor.entries   counter  entries checked
//
// An alert on findings (any kind) and on a run of failed steps covers what
// a monitor is for: a log that misbehaves, or a read path that is down.
const (
	MetricFindings = "healthledger.monitor.findings"
	MetricSteps    = "healthledger.monitor.steps"
	MetricEntries  = "healthledger.monitor.entries"
)

type monitorMetrics struct {
	findings metric.Int64Counter
	steps    metric.Int64Counter
	entries  metric.Int64Counter
}

var (
	stepOK     = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "ok")))
	stepFailed = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "failed")))
)

// newMonitorMetrics creates the instruments. An instrument the provider
// cannot create is a no-op: metrics never stop a monitor.
func newMonitorMetrics(mp metric.MeterProvider) *monitorMetrics {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter(ledger.MeterName)
	counter := func(name, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithDescription(desc))
		if err != nil {
			c, _ = noop.Meter{}.Int64Counter("")
		}
		return c
	}
	return &monitorMetrics{
		findings: counter(MetricFindings, "monitor findings, by kind"),
		steps:    counter(MetricSteps, "monitor steps, by result"),
		entries:  counter(MetricEntries, "entries the monitor checked"),
	}
}

func (mm *monitorMetrics) step(fs []Finding, err error, checked uint64) {
	ctx := context.Background()
	for _, f := range fs {
		mm.findings.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", string(f.Kind)))))
	}
	if err != nil {
		mm.steps.Add(ctx, 1, stepFailed)
	} else {
		mm.steps.Add(ctx, 1, stepOK)
	}
	if checked > 0 {
		mm.entries.Add(ctx, int64(checked))
	}
}
