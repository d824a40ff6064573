package trillianstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/trillian"
	"github.com/google/trillian/types"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

var (
	_ ledger.Store       = (*Store)(nil)
	_ ledger.BatchWaiter = (*Store)(nil)
)

// Store is a [ledger.Store] on a Trillian log tree. It is safe for concurrent
// use. See the package documentation for what it guarantees.
type Store struct {
	cfg  Config
	log  trillian.TrillianLogClient
	conn *grpc.ClientConn // dialed by Open and closed by Close; nil if Config.Conn

	// ctx is cancelled by Close; every operation's context ends with it.
	ctx    context.Context
	cancel context.CancelFunc

	// life guards closed: operations hold it for reading while they run,
	// Close takes it for writing after cancelling ctx, so Close waits for
	// in-flight operations, which end promptly because ctx is cancelled.
	life   sync.RWMutex
	closed bool

	// addMu serializes Add: one batch is integrated and signed at a time.
	addMu sync.Mutex
	// frontier is, in ModePreordered, the first index after every leaf that
	// Trillian acknowledged from this store. Guarded by addMu.
	frontier uint64
	// hashes filters deduplication lookups in ModePreordered. Guarded by addMu.
	hashes hashIndex
	// clean reports that the last Add succeeded, so that, in
	// ModePreordered, the next one may take the newest head seen as the
	// tree's size without asking Trillian (a wrong guess costs a retry
	// round, never a wrong index). Guarded by addMu.
	clean bool
	// rootPolls is set once the log server refused a poll by range (see
	// pollLeaves): later polls ask for the root alone.
	rootPolls atomic.Bool

	// mu guards the fields below.
	mu sync.Mutex
	// seen is the newest tree head that was proven consistent with every
	// head seen before it (the chain starts at the first head fetched).
	seen ledger.TreeHead
	// haveSeen reports that seen was set.
	haveSeen bool
	// head and checkpoint are the newest signed head and its note.
	head       ledger.TreeHead
	checkpoint []byte
	// sign is the SignFunc of the most recent Add, or Config.Sign.
	sign ledger.SignFunc

	subjects subjectIndex

	// mirror is the store's checked copy of the tree's hashes, from which
	// proofs and tiles are served; it has its own locks.
	mirror mirror
}

// Open connects to Trillian and checks that the tree exists and matches
// cfg.Mode. It does not wait for the server: an unreachable server makes
// Open fail with ErrUnavailable after the retries of one RPC.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, sign: cfg.Sign}
	s.mirror.limit = cfg.TileCacheSize
	cc := cfg.Conn
	if cc == nil {
		opts := cfg.DialOptions
		if len(opts) == 0 {
			opts = defaultDialOptions()
		}
		conn, err := grpc.NewClient(cfg.Address, opts...)
		if err != nil {
			return nil, fmt.Errorf("%w: dial: %w", ErrConfig, err)
		}
		s.conn, cc = conn, conn
	}
	s.log = trillian.NewTrillianLogClient(cc)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.checkTree(ctx, trillian.NewTrillianAdminClient(cc)); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// defaultDialOptions are plaintext transport credentials and a reconnect
// backoff capped at 2s (gRPC's default cap is 120s, far longer than a
// restarting Trillian server needs).
func defaultDialOptions() []grpc.DialOption {
	bc := backoff.DefaultConfig
	bc.MaxDelay = 2 * time.Second
	return []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: 5 * time.Second}),
	}
}

// checkTree fetches the tree's definition and its latest root.
func (s *Store) checkTree(ctx context.Context, admin trillian.TrillianAdminClient) error {
	var tree *trillian.Tree
	err := s.call(ctx, "GetTree", func(ctx context.Context) (err error) {
		tree, err = admin.GetTree(ctx, &trillian.GetTreeRequest{TreeId: s.cfg.TreeID})
		return err
	})
	var rpcErr *RPCError
	switch {
	case errors.As(err, &rpcErr) && rpcErr.Code == codes.Unimplemented:
		// A log server without the admin service: rely on the log RPCs.
	case err != nil:
		return err
	default:
		want := trillian.TreeType_LOG
		if s.cfg.Mode == ModePreordered {
			want = trillian.TreeType_PREORDERED_LOG
		}
		if tree.TreeType != want || tree.Deleted {
			return fmt.Errorf("%w: tree %d is %v (deleted=%v), Config.Mode is %v",
				ErrTreeMismatch, s.cfg.TreeID, tree.TreeType, tree.Deleted, s.cfg.Mode)
		}
	}
	_, err = s.observe(ctx)
	return err
}

// begin starts an operation: it fails with ErrClosed after Close, and
// returns a context that ends with ctx or with Close.
func (s *Store) begin(ctx context.Context) (context.Context, func(), error) {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return nil, nil, ledger.ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel(); s.life.RUnlock() }, nil
}

// ctxErr returns the error for an operation whose ctx ended: ErrClosed when
// Close ended it, the context's error otherwise.
func (s *Store) ctxErr(ctx context.Context) error {
	if s.ctx.Err() != nil {
		return fmt.Errorf("%w: trillianstore: operation cancelled by Close", ledger.ErrClosed)
	}
	return ctx.Err()
}

// Close cancels every operation in flight, waits for them to return, and
// closes the connection if Open dialed it. It never waits for Trillian.
// Calls after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.cancel()
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.conn != nil {
		return s.conn.Close()
	}
	return nil
}

// BatchWait returns Config.BatchWait with its default: how long a
// ledger.Log may hold a batch back for more appends (see
// [ledger.BatchWaiter]).
func (s *Store) BatchWait() time.Duration { return s.cfg.BatchWait }

// fetchRoot returns Trillian's latest root and, when firstSize > 0, the
// consistency proof from firstSize to it.
func (s *Store) fetchRoot(ctx context.Context, firstSize uint64) (ledger.TreeHead, [][]byte, error) {
	var resp *trillian.GetLatestSignedLogRootResponse
	err := s.call(ctx, "GetLatestSignedLogRoot", func(ctx context.Context) (err error) {
		resp, err = s.log.GetLatestSignedLogRoot(ctx, &trillian.GetLatestSignedLogRootRequest{
			LogId: s.cfg.TreeID, FirstTreeSize: int64(firstSize),
		})
		return err
	})
	if err != nil {
		return ledger.TreeHead{}, nil, err
	}
	head, err := parseRoot(resp.GetSignedLogRoot())
	if err != nil {
		return ledger.TreeHead{}, nil, err
	}
	return head, resp.GetProof().GetHashes(), nil
}

// parseRoot returns the tree head of a signed log root (not trusted yet:
// the caller checks it against the heads seen).
func parseRoot(slr *trillian.SignedLogRoot) (ledger.TreeHead, error) {
	var root types.LogRootV1
	if err := root.UnmarshalBinary(slr.GetLogRoot()); err != nil {
		return ledger.TreeHead{}, corruptf("log root: %v", err)
	}
	if len(root.RootHash) != merkle.HashSize {
		return ledger.TreeHead{}, corruptf("root hash of %d bytes", len(root.RootHash))
	}
	head := ledger.TreeHead{Size: root.TreeSize}
	copy(head.Root[:], root.RootHash)
	return head, nil
}

// observe fetches Trillian's latest root and checks that it is consistent
// with the newest head seen before; it returns the newer of the two. A root
// older than the one seen (a lagging replica) is ignored; a different root
// for the same size, or a failing consistency proof, is ErrCorrupt.
func (s *Store) observe(ctx context.Context) (ledger.TreeHead, error) {
	s.mu.Lock()
	prev, have := s.seen, s.haveSeen
	s.mu.Unlock()
	head, cons, err := s.fetchRoot(ctx, prev.Size)
	if err != nil {
		return ledger.TreeHead{}, err
	}
	switch {
	case !have:
	case head.Size < prev.Size:
		return prev, nil
	case head.Size == prev.Size && head.Root != prev.Root:
		return ledger.TreeHead{}, corruptf("two roots for tree size %d", head.Size)
	case head.Size > prev.Size && prev.Size > 0:
		hashes, err := toHashes(cons)
		if err != nil {
			return ledger.TreeHead{}, err
		}
		if err := merkle.VerifyConsistency(prev.Size, head.Size, hashes, prev.Root, head.Root); err != nil {
			return ledger.TreeHead{}, corruptf("root of size %d not consistent with size %d: %v",
				head.Size, prev.Size, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if head.Size > s.seen.Size || !s.haveSeen {
		s.seen, s.haveSeen = head, true
	}
	return head, nil
}

// grown reports whether Trillian's latest root covers at least size
// leaves, from the root alone: a poll that asks for no consistency proof
// costs the log server a fraction of one that does (measured here: 0.4-0.5
// ms against 1-9 ms per call). Nothing is trusted from it; the caller then
// observes the head, with its proof.
func (s *Store) grown(ctx context.Context, size uint64) (bool, error) {
	s.mu.Lock()
	seen := s.seen
	s.mu.Unlock()
	if seen.Size >= size {
		return true, nil
	}
	head, _, err := s.fetchRoot(ctx, 0)
	return head.Size >= size, err
}

// remember records a signed checkpoint if it is newer than the one held.
func (s *Store) remember(head ledger.TreeHead, checkpoint []byte, sign ledger.SignFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sign != nil {
		s.sign = sign
	}
	if s.checkpoint == nil || head.Size > s.head.Size {
		s.head, s.checkpoint = head, checkpoint
	}
}

// signed returns the newest signed head and checkpoint, after signing
// Trillian's latest root if it is newer and a SignFunc is known. Without a
// SignFunc it returns the newest checkpoint held (possibly older than
// Trillian's root), or ErrNoSigner if it holds none for a non-empty tree.
func (s *Store) signed(ctx context.Context) (ledger.TreeHead, []byte, error) {
	head, err := s.observe(ctx)
	if err != nil {
		return ledger.TreeHead{}, nil, err
	}
	s.mu.Lock()
	held, cp, sign := s.head, s.checkpoint, s.sign
	s.mu.Unlock()
	if cp != nil && head.Size <= held.Size {
		return held, cp, nil
	}
	if head.Size == 0 {
		return head, nil, nil
	}
	if sign == nil {
		if cp != nil {
			return held, cp, nil
		}
		return ledger.TreeHead{}, nil, fmt.Errorf("%w: tree size %d", ErrNoSigner, head.Size)
	}
	note, err := sign(head)
	if err != nil {
		return ledger.TreeHead{}, nil, fmt.Errorf("trillianstore: signing tree head: %w", err)
	}
	s.remember(head, note, nil)
	return head, note, nil
}

// bound returns the size of the newest signed head, refreshing it only when
// need exceeds the size already held (fast path without an RPC).
func (s *Store) bound(ctx context.Context, need uint64) (ledger.TreeHead, error) {
	s.mu.Lock()
	held, cp := s.head, s.checkpoint
	s.mu.Unlock()
	if cp != nil && need <= held.Size {
		return held, nil
	}
	head, _, err := s.signed(ctx)
	return head, err
}
