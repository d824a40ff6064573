package tileserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"go.opentelemetry.io/otel/metric"
)

// Log is the part of a ledger a Handler serves. *ledger.Log implements it.
// Implementations MUST be safe for concurrent use, and MUST return errors
// wrapping ledger.ErrNotFound for tiles and bundles the tree does not have
// (see ledger.Store's Tile and EntryBundle for the contract).
type Log interface {
	// Checkpoint returns the latest signed checkpoint note to publish,
	// with its witness cosignatures, or ErrEmptyLog.
	Checkpoint(ctx context.Context) ([]byte, error)
	// Tile returns the C2SP content of a hash tile of the given width.
	Tile(ctx context.Context, level uint8, index uint64, width int) ([]byte, error)
	// EntryBundle returns the C2SP entry bundle of the given width.
	EntryBundle(ctx context.Context, index uint64, width int) ([]byte, error)
}

// DefaultPartialMaxAge is the default Config.PartialMaxAge.
const DefaultPartialMaxAge = time.Minute

// Config configures a [Handler]. The zero value of every optional field
// means its documented default.
type Config struct {
	// Log is what the handler serves. Required.
	Log Log
	// PartialMaxAge is the max-age of partial tiles and entry bundles,
	// which a log may stop serving once the full tile exists. Default
	// DefaultPartialMaxAge. Full tiles are cached for a year, immutable;
	// the checkpoint is never cached (no-store).
	PartialMaxAge time.Duration
	// Payloads, if set, serves entries' payloads kept beside the tree at
	// /payload/<index> (*ledger.Log implements PayloadSource). Payloads are
	// typically sealed, but they are about people and erasable: serve them
	// only behind the deployment's access control. Default: nil, and
	// /payload/ is 404.
	Payloads PayloadSource
	// Logger receives the errors of failed requests (never entry
	// contents). Nil is silent.
	Logger *slog.Logger
	// MeterProvider receives the handler's metrics (MetricResponses).
	// Nil: none; no global provider is used.
	MeterProvider metric.MeterProvider
}

// PayloadSource reads the payload kept beside a leaf: the salt and the
// data, as ledger.Log.Payload returns them, an error wrapping
// ledger.ErrNotFound, or a *ledger.ErasedError.
type PayloadSource interface {
	Payload(ctx context.Context, index uint64) ([]byte, error)
}

// Handler serves a log's read path in the C2SP tlog-tiles layout. It is
// safe for concurrent use.
type Handler struct {
	log          Log
	payloads     PayloadSource
	partialCache string
	logger       *slog.Logger
	responses    metric.Int64Counter
	counting     bool
}

// New returns a Handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Log == nil {
		return nil, fmt.Errorf("%w: tileserver: Config.Log is nil", ledger.ErrInvalidConfig)
	}
	if cfg.PartialMaxAge <= 0 {
		cfg.PartialMaxAge = DefaultPartialMaxAge
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		log:          cfg.Log,
		payloads:     cfg.Payloads,
		partialCache: "public, max-age=" + strconv.Itoa(int(cfg.PartialMaxAge/time.Second)),
		logger:       logger,
		responses:    newResponses(cfg.MeterProvider),
		counting:     cfg.MeterProvider != nil,
	}, nil
}

// Cache-Control values.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNoStore   = "no-store"
)

// ServeHTTP serves GET and HEAD requests for /checkpoint, /tile/<L>/<N>
// and /tile/entries/<N> (with an optional .p/<W> suffix). Mount it at the
// root of the log's URL prefix (use http.StripPrefix for a sub-path).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.counting {
		sw := &statusWriter{ResponseWriter: w}
		defer func() { h.count(r, sw.status) }()
		w = sw
	}
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// A path that needed percent-escapes is not a canonical name.
	if r.URL.RawPath != "" {
		http.Error(w, "non-canonical path", http.StatusBadRequest)
		return
	}
	switch p := r.URL.Path; {
	case p == "/checkpoint":
		hdr.Set("Access-Control-Allow-Origin", "*")
		h.serveCheckpoint(w, r)
	case strings.HasPrefix(p, "/payload/") && h.payloads != nil:
		h.servePayload(w, r, p[len("/payload/"):])
	case strings.HasPrefix(p, "/tile/"):
		hdr.Set("Access-Control-Allow-Origin", "*")
		req, ok := parseTilePath(p[len("/tile/"):])
		if !ok {
			http.Error(w, "malformed tile path", http.StatusBadRequest)
			return
		}
		h.serveTile(w, r, req)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) serveCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := h.log.Checkpoint(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", cacheNoStore)
	hdr.Set("Content-Length", strconv.Itoa(len(cp)))
	w.Write(cp)
}

func (h *Handler) serveTile(w http.ResponseWriter, r *http.Request, req tileRequest) {
	var (
		data []byte
		err  error
	)
	if req.entries {
		data, err = h.log.EntryBundle(r.Context(), req.index, req.width)
	} else {
		data, err = h.log.Tile(r.Context(), req.level, req.index, req.width)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	if req.width == merkle.TileWidth {
		hdr.Set("Cache-Control", cacheImmutable)
	} else {
		hdr.Set("Cache-Control", h.partialCache)
	}
	hdr.Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// servePayload serves the payload of the entry at the decimal index s.
// Payloads are never cached (no-store): an erasure must take effect at
// once. An erased payload is 410 Gone with the index of the erasure entry
// in the X-Erased-By header, which a client checks against the log.
func (h *Handler) servePayload(w http.ResponseWriter, r *http.Request, s string) {
	index, rest, ok := parseDecimal(s, 20)
	if !ok || rest != "" {
		http.Error(w, "malformed payload path", http.StatusBadRequest)
		return
	}
	data, err := h.payloads.Payload(r.Context(), index)
	var erased *ledger.ErasedError
	if errors.As(err, &erased) {
		w.Header().Set("Cache-Control", cacheNoStore)
		w.Header().Set("X-Erased-By", strconv.FormatUint(erased.ErasedBy, 10))
		http.Error(w, "erased", http.StatusGone)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Cache-Control", cacheNoStore)
	hdr.Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// fail maps an error to a status. Only the status text is sent: error
// messages stay in the log.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Cache-Control", cacheNoStore)
	switch {
	case errors.Is(err, ledger.ErrNotFound), errors.Is(err, ledger.ErrEmptyLog):
		http.Error(w, "not found", http.StatusNotFound)
	case errors.Is(err, ledger.ErrClosed), errors.Is(err, ledger.ErrPushback):
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
	default:
		h.logger.Error("tileserver: request failed", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}
