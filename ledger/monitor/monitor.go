package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/healthledger/healthledger/merkle"
	"go.opentelemetry.io/otel/metric"
)

// Config configures a [Monitor]. Origin, LogKey and URL are required; the
// zero value of every other field means its documented default.
type Config struct {
	// URL is the base URL of the log's read path (C2SP tlog-tiles).
	URL string
	// Origin is the log's checkpoint origin.
	Origin string
	// LogKey is the log's note verifier key.
	LogKey string
	// Witnesses are cosigner verifier keys whose cosignatures the monitor
	// records (see Status.Witnessed). They are not required for a
	// checkpoint to be checked: a checkpoint that none of them cosigned is
	// reported as a NotWitnessed finding instead. Default: none.
	Witnesses []string
	// MaxClockSkew is the log's allowed clock skew (its
	// ledger.Config.MaxClockSkew). Default ledger.DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// EveryCheckpoint says that the monitor sees every checkpoint the log
	// signs (it polls faster than the log checkpoints, or is fed by the
	// log itself), so the first checkpoint it sees that includes an entry
	// is the one that first included it. Entries are then checked in both
	// directions against that checkpoint's signed time, as
	// ledger.Verifier.VerifyIntegrationTime does. Default false: an entry
	// is checked against the first checkpoint seen that includes it for
	// future dates, and against the last checkpoint seen that does not
	// include it for back dates (sound whatever the monitor missed, but
	// blind to back-dating within the gap between the two).
	EveryCheckpoint bool
	// HTTPClient makes the requests. Default: one with client.DefaultTimeout.
	HTTPClient *http.Client
	// Progress, if set, is called after each entry bundle with the number
	// of entries checked and the size being checked to.
	Progress func(checked, size uint64)
	// Metrics, if set, counts the findings by kind. Default: none.
	Metrics Metrics
	// MeterProvider receives the monitor's OpenTelemetry metrics
	// (MetricFindings, MetricSteps, MetricEntries). Default: none.
	MeterProvider metric.MeterProvider
	// Logger receives debug logs (paths and sizes). Nil is silent.
	Logger *slog.Logger
}

// Metrics receives what a monitor finds. Implementations MUST be safe for
// concurrent use.
type Metrics interface {
	// Finding is called once per finding.
	Finding(kind Kind)
}

// Monitor follows one log over its read path and re-derives everything it
// serves: see the package documentation. Step is safe for concurrent use
// (calls are serialized).
type Monitor struct {
	cfg       Config
	base      string
	http      *http.Client
	logger    *slog.Logger
	v         *ledger.Verifier
	client    *client.Client
	metrics   *monitorMetrics
	witnesses []*ledger.CosignatureVerifier
	skew      time.Duration

	// mu serializes Step and guards the fields below.
	mu sync.Mutex
	// tree is the tree recomputed from the entries checked so far, which
	// matched the signed root of last.
	tree *merkle.Appender
	// last is the last checkpoint checked, lastTime its signed time.
	last     []byte
	lastTime time.Time
	// witnessed maps a witness key name to the largest size it cosigned.
	witnessed map[string]uint64
}

// New returns a Monitor for cfg. It does no I/O.
func New(cfg Config) (*Monitor, error) {
	if cfg.URL == "" || cfg.Origin == "" || cfg.LogKey == "" {
		return nil, fmt.Errorf("%w: monitor: Config.URL, Origin and LogKey are required", ledger.ErrInvalidConfig)
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = ledger.DefaultMaxClockSkew
	}
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: cfg.Origin, LogKey: cfg.LogKey, MaxClockSkew: cfg.MaxClockSkew})
	if err != nil {
		return nil, err
	}
	m := &Monitor{cfg: cfg, base: cfg.URL, http: cfg.HTTPClient, logger: cfg.Logger, v: v, skew: cfg.MaxClockSkew, witnessed: map[string]uint64{}}
	if !strings.HasSuffix(m.base, "/") {
		m.base += "/"
	}
	if m.http == nil {
		m.http = &http.Client{Timeout: client.DefaultTimeout}
	}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	for _, k := range cfg.Witnesses {
		w, err := ledger.NewCosignatureVerifier(k)
		if err != nil {
			return nil, err
		}
		m.witnesses = append(m.witnesses, w)
	}
	m.client, err = client.New(client.Config{URL: m.base, Verifier: v, HTTPClient: m.http, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	m.tree, _ = merkle.NewAppender(0, nil)
	m.metrics = newMonitorMetrics(cfg.MeterProvider)
	return m, nil
}

// Status is what a Monitor has checked so far.
type Status struct {
	// Size is the number of entries checked.
	Size uint64
	// Checkpoint is the last signed checkpoint checked, nil if none.
	Checkpoint []byte
	// Time is its signed time.
	Time time.Time
	// Witnessed maps each configured witness (by key name) that cosigned a
	// checked checkpoint to the largest size it cosigned.
	Witnessed map[string]uint64
}

// Status returns what the monitor has checked so far.
func (m *Monitor) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Status{Size: m.tree.Size(), Checkpoint: m.last, Time: m.lastTime, Witnessed: maps.Clone(m.witnessed)}
}

// Step fetches the log's checkpoint, proves it consistent with the last
// one (through package ledger/client and the Verifier), and checks every
// entry added since: it recomputes the tree and every tile from the entry
// bundles and compares them with the signed root and the served tiles,
// checks entry times and erasure records, and records witness
// cosignatures. It returns what it found.
//
// A fork is fatal: Step returns its Fork finding and the
// *ledger.InconsistencyError. An I/O error or a checkpoint that does not
// verify is returned as an error; nothing is checked then, and the next
// Step starts again from the same place. Other findings do not stop the
// monitor: Step returns them with a nil error.
func (m *Monitor) Step(ctx context.Context) ([]Finding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	before := m.tree.Size()
	fs, err := m.step(ctx)
	m.metrics.step(fs, err, m.tree.Size()-before)
	if m.cfg.Metrics != nil {
		for _, f := range fs {
			m.cfg.Metrics.Finding(f.Kind)
		}
	}
	return fs, err
}

func (m *Monitor) step(ctx context.Context) ([]Finding, error) {
	cp, err := m.client.Update(ctx)
	var ie *ledger.InconsistencyError
	switch {
	case errors.As(err, &ie):
		return []Finding{forkFinding(ie)}, err
	case errors.Is(err, ledger.ErrInvalidProof):
		return m.checkWithoutTiles(ctx, err)
	case err != nil:
		return nil, err
	}
	if cp.Size <= m.tree.Size() {
		return nil, nil
	}
	r, err := m.check(ctx, m.v.Trusted(), cp)
	if err != nil {
		return r.findings, err
	}
	return r.findings, nil
}

// checkWithoutTiles handles a new checkpoint whose consistency the served
// tiles did not prove (updateErr): the checkpoint is checked from the
// entry bundles, and if the recomputed tree extends the trusted one to the
// signed root, the monitor advances along its own consistency proof.
func (m *Monitor) checkWithoutTiles(ctx context.Context, updateErr error) ([]Finding, error) {
	signed, err := m.fetch(ctx, "checkpoint", ledger.MaxCheckpointSize)
	if err != nil {
		return nil, errors.Join(updateErr, err)
	}
	cp, err := m.v.VerifyCheckpoint(signed)
	if err != nil {
		return nil, errors.Join(updateErr, err)
	}
	fs := []Finding{{Kind: ReadPathInvalid, Size: cp.Size, Checkpoint: signed, Detail: updateErr.Error()}}
	trusted, _ := m.v.TrustedCheckpoint()
	if cp.Size <= m.tree.Size() || trusted.Size != m.tree.Size() {
		return fs, nil
	}
	r, err := m.check(ctx, signed, cp)
	fs = append(fs, r.findings...)
	if err != nil || !r.matched {
		return fs, err
	}
	if err := m.v.Advance(signed, r.proof); err != nil {
		var ie *ledger.InconsistencyError
		if errors.As(err, &ie) {
			fs = append(fs, forkFinding(ie))
		}
		return fs, err
	}
	return fs, nil
}

func forkFinding(ie *ledger.InconsistencyError) Finding {
	c, _ := ledger.ParseSignedCheckpoint(ie.Candidate)
	return Finding{Kind: Fork, Size: c.Size, Checkpoint: ie.Candidate, Other: ie.Trusted, Proof: ie.Proof, Detail: ie.Error()}
}

// fetch GETs path below the base URL, reading at most limit bytes.
func (m *Monitor) fetch(ctx context.Context, path string, limit int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("monitor: GET %s: %w", path, ledger.ErrNotFound)
		}
		return nil, &client.HTTPError{Path: path, Status: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("monitor: GET %s: %w", path, err)
	}
	if len(body) > limit {
		return nil, fmt.Errorf("monitor: GET %s: %w: longer than %d bytes", path, ledger.ErrMalformed, limit)
	}
	m.logger.Debug("monitor: fetched", "path", path, "bytes", len(body))
	return body, nil
}
