package tileserver

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/healthledger/healthledger/ledger"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// MetricResponses counts the handler's responses (Config.MeterProvider),
// with attributes kind (checkpoint, tile, entries, payload, other) and
// status (the HTTP status code): "tiles served" is kind=tile,status=200.
const MetricResponses = "healthledger.tileserver.responses"

func newResponses(mp metric.MeterProvider) metric.Int64Counter {
	if mp != nil {
		if c, err := mp.Meter(ledger.MeterName).Int64Counter(MetricResponses, metric.WithDescription("read-path responses by kind and status")); err == nil {
			return c
		}
	}
	c, _ := noop.Meter{}.Int64Counter("")
	return c
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func requestKind(path string) string {
	switch {
	case path == "/checkpoint":
		return "checkpoint"
	case strings.HasPrefix(path, "/tile/entries/"):
		return "entries"
	case strings.HasPrefix(path, "/tile/"):
		return "tile"
	case strings.HasPrefix(path, "/payload/"):
		return "payload"
	}
	return "other"
}

func (h *Handler) count(r *http.Request, status int) {
	if status == 0 {
		status = http.StatusOK
	}
	h.responses.Add(r.Context(), 1, metric.WithAttributeSet(attribute.NewSet(
		attribute.String("kind", requestKind(r.URL.Path)), attribute.String("status", strconv.Itoa(status)))))
}
