package witness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// MetricRequests counts add-checkpoint answers (HandlerConfig.MeterProvider)
// with the attribute status (the HTTP status code): status=200 are
// cosignatures made, others refusals.
const MetricRequests = "healthledger.witness.requests"

// DefaultReadTimeout is the default HandlerConfig.ReadTimeout.
const DefaultReadTimeout = 10 * time.Second

// SizeContentType is the Content-Type of a 409 response: the witness's
// latest size in decimal and a newline.
const SizeContentType = "text/x.tlog.size"

// HandlerConfig configures a [Handler].
type HandlerConfig struct {
	// Witness checks and cosigns checkpoints. Required.
	Witness *ledger.Witness
	// ReadTimeout bounds reading one request body. Default
	// DefaultReadTimeout. (Set http.Server's timeouts too.)
	ReadTimeout time.Duration
	// Logger receives one line per refused request (never its content).
	// Nil is silent.
	Logger *slog.Logger
	// MeterProvider receives the handler's metrics (MetricRequests). Nil:
	// none; no global provider is used.
	MeterProvider metric.MeterProvider
}

// Handler serves a ledger.Witness over the C2SP tlog-witness protocol at
// POST /add-checkpoint (relative to where it is mounted: use
// http.StripPrefix for a submission prefix other than "/"). It is safe for
// concurrent use.
type Handler struct {
	witness *ledger.Witness
	timeout time.Duration
	logger  *slog.Logger
	mux     *http.ServeMux
	// requests counts answers by status.
	requests metric.Int64Counter
}

// NewHandler returns a Handler for cfg.Witness.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.Witness == nil {
		return nil, fmt.Errorf("%w: HandlerConfig.Witness is nil", ledger.ErrInvalidConfig)
	}
	if cfg.ReadTimeout < 0 {
		return nil, fmt.Errorf("%w: negative HandlerConfig.ReadTimeout", ledger.ErrInvalidConfig)
	}
	h := &Handler{witness: cfg.Witness, timeout: cfg.ReadTimeout, logger: cfg.Logger, mux: http.NewServeMux()}
	if h.timeout == 0 {
		h.timeout = DefaultReadTimeout
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	h.requests, _ = noop.Meter{}.Int64Counter("")
	if cfg.MeterProvider != nil {
		if c, err := cfg.MeterProvider.Meter(ledger.MeterName).Int64Counter(MetricRequests, metric.WithDescription("add-checkpoint answers by status")); err == nil {
			h.requests = c
		}
	}
	h.mux.HandleFunc("POST /add-checkpoint", h.addCheckpoint)
	return h, nil
}

// ServeHTTP serves POST /add-checkpoint; other paths are 404, other
// methods 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) addCheckpoint(w http.ResponseWriter, r *http.Request) {
	// Not every ResponseWriter supports deadlines (httptest's does not);
	// the http.Server's own timeouts still apply then.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.timeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(MaxRequestSize)))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuse(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		h.refuse(w, http.StatusBadRequest, "could not read the request body")
		return
	}
	req, err := ParseRequest(body)
	if err != nil {
		h.refuse(w, http.StatusBadRequest, err.Error())
		return
	}
	cp, err := ledger.ParseSignedCheckpoint(req.Checkpoint)
	if err != nil {
		h.refuse(w, http.StatusBadRequest, "the checkpoint is malformed")
		return
	}
	if req.OldSize > cp.Size {
		h.refuse(w, http.StatusBadRequest, "old size is above the checkpoint size")
		return
	}
	line, err := h.witness.AddCheckpoint(req.OldSize, req.Proof, req.Checkpoint)
	if err != nil {
		h.fail(w, err, cp)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(line)
	h.count(r, http.StatusOK)
}

func (h *Handler) count(r *http.Request, status int) {
	h.requests.Add(r.Context(), 1, metric.WithAttributeSet(attribute.NewSet(attribute.String("status", strconv.Itoa(status)))))
}

// fail maps a Witness error to the tlog-witness status code.
func (h *Handler) fail(w http.ResponseWriter, err error, cp ledger.Checkpoint) {
	var conflict *ledger.WitnessConflictError
	var fork *ledger.InconsistencyError
	switch {
	case errors.As(err, &conflict):
		h.conflict(w, conflict.Latest)
	case errors.As(err, &fork) && sameSize(fork):
		// Same size, another root: 409 with the size, as the
		// specification says.
		h.conflict(w, cp.Size)
	case errors.Is(err, ledger.ErrUnknownLog):
		h.refuse(w, http.StatusNotFound, "unknown log")
	case errors.Is(err, ledger.ErrBadSignature):
		h.refuse(w, http.StatusForbidden, "the checkpoint carries no valid signature by the log's key")
	case errors.Is(err, ledger.ErrInvalidProof):
		h.refuse(w, http.StatusUnprocessableEntity, "the consistency proof does not verify")
	case errors.Is(err, ledger.ErrMalformed), errors.Is(err, ledger.ErrTooLarge), errors.Is(err, ledger.ErrStaleCheckpoint):
		h.refuse(w, http.StatusBadRequest, "malformed request")
	default:
		h.logger.Error("witness: add-checkpoint failed", "error", err)
		h.refuse(w, http.StatusInternalServerError, "the witness could not cosign")
	}
}

// sameSize reports whether an inconsistency is between two checkpoints
// of the same size.
func sameSize(e *ledger.InconsistencyError) bool {
	t, err1 := ledger.ParseSignedCheckpoint(e.Trusted)
	c, err2 := ledger.ParseSignedCheckpoint(e.Candidate)
	return err1 == nil && err2 == nil && t.Size == c.Size
}

func (h *Handler) conflict(w http.ResponseWriter, size uint64) {
	h.logger.Info("witness: add-checkpoint conflict", "latest", size)
	h.requests.Add(context.Background(), 1, metric.WithAttributeSet(attribute.NewSet(attribute.String("status", "409"))))
	w.Header().Set("Content-Type", SizeContentType)
	w.WriteHeader(http.StatusConflict)
	_, _ = io.WriteString(w, strconv.FormatUint(size, 10)+"\n")
}

func (h *Handler) refuse(w http.ResponseWriter, code int, msg string) {
	h.logger.Info("witness: add-checkpoint refused", "status", code, "reason", msg)
	h.requests.Add(context.Background(), 1, metric.WithAttributeSet(attribute.NewSet(attribute.String("status", strconv.Itoa(code)))))
	http.Error(w, msg, code)
}
