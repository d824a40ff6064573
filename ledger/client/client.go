package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// CheckpointVerifier decides which checkpoints the Client trusts and keeps
// the latest one. *ledger.Verifier implements it for healthledger logs
// (log key, signed time, witness policy); [NewNoteVerifier] for plain
// C2SP tlog-checkpoint logs. Implementations MUST be safe for concurrent
// use, and Advance MUST refuse a checkpoint that proof does not prove
// consistent with the trusted one.
type CheckpointVerifier interface {
	// VerifyCheckpoint verifies a signed checkpoint without trusting it.
	VerifyCheckpoint(signed []byte) (ledger.Checkpoint, error)
	// Advance verifies signed and makes it the trusted checkpoint if proof
	// is a consistency proof from the trusted one (empty if none).
	Advance(signed []byte, proof []merkle.Hash) error
	// Trusted returns the trusted signed checkpoint, nil if none.
	Trusted() []byte
	// TrustedCheckpoint returns the trusted checkpoint's body.
	TrustedCheckpoint() (ledger.Checkpoint, bool)
}

// Defaults of Config.
const (
	DefaultTileCacheSize = 4096
	DefaultTimeout       = 30 * time.Second
)

// Config configures a [Client]. The zero value of every optional field
// means its documented default.
type Config struct {
	// URL is the base URL of the log's read path: the checkpoint is at
	// URL + "checkpoint" and tiles under URL + "tile/". A missing final
	// slash is added. Required.
	URL string
	// Verifier verifies checkpoints and keeps the trusted one. Required.
	Verifier CheckpointVerifier
	// HTTPClient makes the requests. Default: a client with a
	// DefaultTimeout timeout.
	HTTPClient *http.Client
	// TileCacheSize is the number of full tiles kept (about 16 KiB each
	// with their interior). Default DefaultTileCacheSize.
	TileCacheSize int
	// RefreshInterval is how long Checkpoint serves the trusted
	// checkpoint before fetching a new one. Zero fetches on every call.
	RefreshInterval time.Duration
	// Payloads makes Entry fetch the payloads of entries that commit to
	// one (encoding version 2) from the server's /payload/<index> (a
	// tileserver configured with Payloads) and check each against its
	// commitment. Default false: such entries are returned without their
	// Payload, as read from the leaf alone.
	Payloads bool
	// Logger receives debug logs (URLs and sizes, never entry contents).
	// Nil is silent.
	Logger *slog.Logger
}

// Client follows a remote log over its C2SP tlog-tiles read path and
// serves verified reads. It implements identity.Ledger and the read
// methods of consent.Log. It is safe for concurrent use.
type Client struct {
	base     string
	http     *http.Client
	v        CheckpointVerifier
	logger   *slog.Logger
	refresh  time.Duration
	payloads bool

	full *tileCache // verified full tiles; its own lock

	// mu guards the fields below.
	mu sync.Mutex
	// edge holds the verified partial tiles of the tree of size edgeSize
	// (the trusted size when they were read).
	edge     map[merkle.TileID]*merkle.Tile
	edgeSize uint64
	// fetched is when the checkpoint was last fetched.
	fetched time.Time

	// updateMu serializes Update, so one consistency proof runs at a time.
	updateMu sync.Mutex

	subjects subjectIndex // its own lock
}

// New returns a Client for cfg. It does no I/O.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" || cfg.Verifier == nil {
		return nil, fmt.Errorf("%w: client: Config.URL and Config.Verifier are required", ledger.ErrInvalidConfig)
	}
	if !strings.HasSuffix(cfg.URL, "/") {
		cfg.URL += "/"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.TileCacheSize <= 0 {
		cfg.TileCacheSize = DefaultTileCacheSize
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{
		base: cfg.URL, http: cfg.HTTPClient, v: cfg.Verifier, logger: logger,
		refresh: cfg.RefreshInterval, full: newTileCache(cfg.TileCacheSize), payloads: cfg.Payloads,
	}, nil
}

// ErrReadOnly reports a write (Append) to a Client.
var ErrReadOnly = errors.New("client: the remote log is read-only")

// Update fetches the log's checkpoint, verifies it (signature, witnesses:
// whatever the Verifier requires), proves from the tiles that it is
// consistent with the trusted checkpoint, and makes it the trusted one.
// It returns the trusted checkpoint. A checkpoint the server shows that is
// older than the trusted one is ignored (the trusted one is returned); a
// fork fails with the Verifier's *ledger.InconsistencyError.
func (c *Client) Update(ctx context.Context) (ledger.Checkpoint, error) {
	c.updateMu.Lock()
	defer c.updateMu.Unlock()
	signed, err := c.fetch(ctx, "checkpoint", ledger.MaxCheckpointSize)
	if err != nil {
		return ledger.Checkpoint{}, fmt.Errorf("client: fetching checkpoint: %w", err)
	}
	c.mu.Lock()
	c.fetched = time.Now()
	c.mu.Unlock()
	cp, err := c.v.VerifyCheckpoint(signed)
	if err != nil {
		return ledger.Checkpoint{}, err
	}
	old, ok := c.v.TrustedCheckpoint()
	if ok && cp.Size < old.Size {
		c.logger.Debug("client: server checkpoint is older than the trusted one", "size", cp.Size, "trusted", old.Size)
		return old, nil
	}
	var proof []merkle.Hash
	// staged collects the tiles read for the new tree; they are cached only
	// once the new checkpoint is trusted.
	staged := c.reader(ctx, cp.Size, cp.Root, true)
	if ok && old.Size > 0 && old.Size < cp.Size {
		if proof, err = merkle.ConsistencyProof(old.Size, cp.Size, staged); err != nil {
			return ledger.Checkpoint{}, c.readErr(err)
		}
	}
	if err := c.v.Advance(signed, proof); err != nil {
		return ledger.Checkpoint{}, err
	}
	if !ok || cp.Size > old.Size {
		staged.commit()
	}
	trusted, _ := c.v.TrustedCheckpoint()
	return trusted, nil
}

// Checkpoint returns the trusted signed checkpoint after an Update (or
// without one if the last fetch is younger than Config.RefreshInterval).
// It implements identity.Ledger.
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	fresh := c.refresh > 0 && time.Since(c.fetched) < c.refresh
	c.mu.Unlock()
	if !fresh || c.v.Trusted() == nil {
		if _, err := c.Update(ctx); err != nil {
			return nil, err
		}
	}
	return c.v.Trusted(), nil
}

// trusted returns the trusted checkpoint, or ErrEmptyLog.
func (c *Client) trusted() (ledger.Checkpoint, error) {
	cp, ok := c.v.TrustedCheckpoint()
	if !ok || cp.Size == 0 {
		return cp, fmt.Errorf("%w: no trusted checkpoint yet (call Update)", ledger.ErrEmptyLog)
	}
	return cp, nil
}

// InclusionProof returns the proof of leaf index in the tree of the given
// size, computed from tiles verified against the trusted checkpoint; size
// must not exceed the trusted size (ErrNotFound).
func (c *Client) InclusionProof(ctx context.Context, index, size uint64) ([]merkle.Hash, error) {
	cp, err := c.trusted()
	if err != nil {
		return nil, err
	}
	if size > cp.Size || index >= size {
		return nil, fmt.Errorf("%w: inclusion of %d in size %d (trusted size %d)", ledger.ErrNotFound, index, size, cp.Size)
	}
	p, err := merkle.InclusionProof(index, size, c.reader(ctx, cp.Size, cp.Root, false))
	if err != nil {
		return nil, c.readErr(err)
	}
	return p, nil
}

// ConsistencyProof returns the proof that the tree of size m is a prefix
// of the tree of size n, 0 < m <= n <= the trusted size.
func (c *Client) ConsistencyProof(ctx context.Context, m, n uint64) ([]merkle.Hash, error) {
	cp, err := c.trusted()
	if err != nil {
		return nil, err
	}
	if m == 0 || m > n || n > cp.Size {
		return nil, fmt.Errorf("%w: consistency from %d to %d (trusted size %d)", ledger.ErrNotFound, m, n, cp.Size)
	}
	p, err := merkle.ConsistencyProof(m, n, c.reader(ctx, cp.Size, cp.Root, false))
	if err != nil {
		return nil, c.readErr(err)
	}
	return p, nil
}

// readErr passes typed errors through and maps merkle's to ledger's.
func (c *Client) readErr(err error) error {
	switch {
	case errors.Is(err, ledger.ErrInvalidProof), errors.Is(err, ledger.ErrNotFound), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, merkle.ErrMalformedTile), errors.Is(err, merkle.ErrMissingNode):
		return fmt.Errorf("%w: %w", ledger.ErrInvalidProof, err)
	}
	return err
}
