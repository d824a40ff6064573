package trillianstore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"google.golang.org/grpc"
)

// Mode selects how leaves are added to the Trillian tree. It must match the
// tree's type.
type Mode int

const (
	// ModeLog uses a Trillian LOG tree: leaves are queued with QueueLeaf (one
	// RPC per leaf, fanned out concurrently) and Trillian's sequencer assigns
	// the indices. Any number of frontends may append to the same tree;
	// duplicates are found exactly by Trillian's leaf identity hash, which
	// this store sets to the RFC 6962 leaf hash. This is the zero value.
	ModeLog Mode = iota
	// ModePreordered uses a Trillian PREORDERED_LOG tree: this store assigns
	// the indices itself and sends each batch with one AddSequencedLeaves
	// RPC. There MUST be a single writing Store per tree; duplicates are found
	// by this store (lookup by leaf hash before assigning indices).
	ModePreordered
)

// String returns "LOG" or "PREORDERED_LOG", the Trillian tree type names.
func (m Mode) String() string {
	switch m {
	case ModeLog:
		return "LOG"
	case ModePreordered:
		return "PREORDERED_LOG"
	default:
		return fmt.Sprintf("Mode(%d)", int(m))
	}
}

// DefaultBatchWait is the default of Config.BatchWait.
const DefaultBatchWait = 4 * time.Millisecond

// Config configures a [Store]. The zero value of every optional field means
// the documented default.
type Config struct {
	// Address is the host:port of a trillian_log_server. The store dials it
	// with DialOptions (default: plaintext transport credentials) and closes
	// the connection on Close. Ignored when Conn is set.
	Address string
	// Conn is an existing connection to a trillian_log_server, owned by the
	// caller: Close does not close it. One of Address or Conn is required.
	Conn grpc.ClientConnInterface
	// DialOptions are used when dialing Address. Default: insecure
	// (plaintext) transport credentials, suitable only for loopback or a
	// service mesh that provides TLS, and a reconnect backoff capped at 2s.
	DialOptions []grpc.DialOption
	// TreeID is the Trillian tree (created with createtree or [CreateTree]).
	// Required.
	TreeID int64
	// Mode is the tree type: ModeLog (default) or ModePreordered.
	Mode Mode
	// Sign signs tree heads that this store observes outside Add: after a
	// restart, or after other frontends appended. Optional: when nil, the
	// store uses the SignFunc of its most recent Add, and before the first
	// Add it cannot serve a checkpoint for a non-empty tree (ErrNoSigner).
	Sign ledger.SignFunc
	// RPCTimeout bounds one attempt of one RPC. Default 10s.
	RPCTimeout time.Duration
	// MaxAttempts is the number of tries of an RPC that fails with a
	// transient code (Unavailable, DeadlineExceeded, ResourceExhausted,
	// Aborted). Default 5.
	MaxAttempts int
	// MinBackoff is the wait before the first retry; it doubles up to
	// MaxBackoff, with jitter. Defaults 50ms and 2s.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between retries. Default 2s.
	MaxBackoff time.Duration
	// IntegrationTimeout bounds the wait for Trillian's sequencer to
	// integrate the leaves of one Add. Default 60s.
	IntegrationTimeout time.Duration
	// PollInterval is the wait between checks for integration (each one
	// RPC: in ModeLog a GetLeavesByRange from the last size seen, which
	// returns the root and the new leaves together; in ModePreordered a
	// GetLatestSignedLogRoot). Default 2ms: Trillian's signer integrates
	// every --sequencer_interval, and a longer poll adds its latency to
	// every Add.
	PollInterval time.Duration
	// Concurrency is the number of RPCs one Add or lookup runs in parallel
	// (QueueLeaf fan-out, lookups by hash, tile reads). Default 256, the
	// QueueLeaf calls of a whole batch of 256 concurrent appends.
	Concurrency int
	// BatchSize is the number of leaves per AddSequencedLeaves and per
	// GetLeavesByRange RPC. Default 1000.
	BatchSize int
	// TileCacheSize is the number of full hash tiles (256 hashes of one
	// tree level, about 16 KiB each with their interior nodes) the store
	// keeps to compute proofs, roots and tiles without asking Trillian.
	// Default 4096 (about 64 MiB, the newest million leaves and every tile
	// above them). Tiles not kept are computed again from Trillian's leaves
	// and proofs, and checked, when needed.
	TileCacheSize int
	// BatchWait is how long a ledger.Log over this store may hold a batch
	// back for more of the appends in progress (see [ledger.BatchWaiter]).
	// An Add waits for a run of Trillian's signer (--sequencer_interval,
	// 10ms in .ci/trillian.sh) whatever its size, so a leaf that misses a
	// batch costs its caller a whole round. Default DefaultBatchWait, well
	// under one round; negative disables the wait.
	BatchWait time.Duration
	// Logger receives operational logs (never leaf contents). Nil is silent.
	Logger *slog.Logger
	// Payloads keeps the payloads of version 2 entries, which erasure must
	// be able to delete and Trillian cannot (see PayloadStore): a
	// SQLPayloads on the deployment's database, or MemoryPayloads in
	// tests. Nil: an Add of an entry with a payload fails.
	Payloads PayloadStore
}

// withDefaults returns a copy of c with defaults filled in, or an error for
// an invalid configuration.
func (c Config) withDefaults() (Config, error) {
	if c.Address == "" && c.Conn == nil {
		return c, fmt.Errorf("%w: Address or Conn is required", ErrConfig)
	}
	if c.TreeID == 0 {
		return c, fmt.Errorf("%w: TreeID is required", ErrConfig)
	}
	if c.Mode != ModeLog && c.Mode != ModePreordered {
		return c, fmt.Errorf("%w: unknown %v", ErrConfig, c.Mode)
	}
	setDefault(&c.RPCTimeout, 10*time.Second)
	setDefault(&c.MaxAttempts, 5)
	setDefault(&c.MinBackoff, 50*time.Millisecond)
	setDefault(&c.MaxBackoff, 2*time.Second)
	setDefault(&c.IntegrationTimeout, 60*time.Second)
	setDefault(&c.PollInterval, 2*time.Millisecond)
	setDefault(&c.Concurrency, 256)
	setDefault(&c.TileCacheSize, 4096)
	setDefault(&c.BatchSize, 1000)
	switch {
	case c.BatchWait < 0:
		c.BatchWait = 0
	case c.BatchWait == 0:
		c.BatchWait = DefaultBatchWait
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
