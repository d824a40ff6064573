package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// promProvider is an OpenTelemetry MeterProvider that keeps counters in
// memory and writes them in the Prometheus text format at /metrics. It
// implements what the handlers serve uses (Int64Counter); every other
// instrument is a no-op. It exists so that the root module does not take
// the OpenTelemetry SDK and Prometheus client as dependencies for one
// command: a process that embeds the ledger plugs in the otel SDK and its
// Prometheus exporter instead.
type promProvider struct {
	noop.MeterProvider
	mu     sync.Mutex
	values map[string]map[string]int64 // metric name -> label set -> value
	help   map[string]string
}

func newPromProvider() *promProvider {
	return &promProvider{values: map[string]map[string]int64{}, help: map[string]string{}}
}

func (p *promProvider) Meter(string, ...metric.MeterOption) metric.Meter { return promMeter{p: p} }

type promMeter struct {
	noop.Meter
	p *promProvider
}

func (m promMeter) Int64Counter(name string, opts ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	n := promName(name) + "_total"
	m.p.mu.Lock()
	if _, ok := m.p.values[n]; !ok {
		m.p.values[n] = map[string]int64{}
		m.p.help[n] = metric.NewInt64CounterConfig(opts...).Description()
	}
	m.p.mu.Unlock()
	return promCounter{p: m.p, name: n}, nil
}

type promCounter struct {
	noop.Int64Counter
	p    *promProvider
	name string
}

func (c promCounter) Enabled(context.Context) bool { return true }

func (c promCounter) Add(_ context.Context, v int64, opts ...metric.AddOption) {
	set := metric.NewAddConfig(opts).Attributes()
	var labels []string
	for it := set.Iter(); it.Next(); {
		kv := it.Attribute()
		labels = append(labels, fmt.Sprintf("%s=%q", promName(string(kv.Key)), kv.Value.Emit()))
	}
	key := strings.Join(labels, ",")
	c.p.mu.Lock()
	c.p.values[c.name][key] += v
	c.p.mu.Unlock()
}

// promName turns an OpenTelemetry name into a Prometheus one.
func promName(s string) string { return strings.NewReplacer(".", "_", "-", "_").Replace(s) }

// ServeHTTP writes every counter in the Prometheus text format 0.0.4.
func (p *promProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	p.write(w)
}

func (p *promProvider) write(w io.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range p.values {
			if !yield(n) {
				return
			}
		}
	}) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", name, p.help[name], name)
		vals := p.values[name]
		for _, labels := range slices.Sorted(func(yield func(string) bool) {
			for l := range vals {
				if !yield(l) {
					return
				}
			}
		}) {
			if labels == "" {
				fmt.Fprintf(w, "%s %d\n", name, vals[labels])
			} else {
				fmt.Fprintf(w, "%s{%s} %d\n", name, labels, vals[labels])
			}
		}
	}
}
