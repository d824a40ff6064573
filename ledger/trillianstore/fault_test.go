package trillianstore

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/trillian"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// hookConn passes every RPC through hook, which may fail it, block it,
// or alter the reply after calling invoke.
type hookConn struct {
	inner grpc.ClientConnInterface
	hook  func(ctx context.Context, method string, reply any, invoke func() error) error
}

func (h *hookConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return h.hook(ctx, method, reply, func() error { return h.inner.Invoke(ctx, method, args, reply, opts...) })
}

func (h *hookConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return h.inner.NewStream(ctx, desc, method, opts...)
}

// closedPort returns a 127.0.0.1 address on which nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Open(context.Background(), Config{Address: closedPort(t), TreeID: 1,
		RPCTimeout: 300 * time.Millisecond, MaxAttempts: 3, MinBackoff: 10 * time.Millisecond})
	require.ErrorIs(t, err, ErrUnavailable)
	var rpcErr *RPCError
	require.ErrorAs(t, err, &rpcErr)
	require.Equal(t, 3, rpcErr.Attempts)
	require.Less(t, time.Since(start), 5*time.Second, "an unreachable server must fail fast")
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no address", Config{TreeID: 1}},
		{"no tree", Config{Address: "127.0.0.1:1"}},
		{"bad mode", Config{Address: "127.0.0.1:1", TreeID: 1, Mode: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(context.Background(), tc.cfg)
			require.ErrorIs(t, err, ErrConfig)
		})
	}
}

func TestFaults(t *testing.T) {
	env := memEnv(t)
	tree := newTree(t, env.ClientConn, ModeLog)
	sign, verifier := signerOf(t)
	leaves := makeLeaves(t, "faults", 8, 2, 200)
	open := func(t *testing.T, hook func(ctx context.Context, method string, reply any, invoke func() error) error) *Store {
		s, err := Open(context.Background(), Config{
			Conn: &hookConn{inner: env.ClientConn, hook: hook}, TreeID: tree, Sign: sign,
			RPCTimeout: time.Second, MaxAttempts: 3, MinBackoff: time.Millisecond,
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	pass := func(ctx context.Context, method string, reply any, invoke func() error) error { return invoke() }

	t.Run("transient errors are retried", func(t *testing.T) {
		var fails atomic.Int32
		s := open(t, func(ctx context.Context, method string, reply any, invoke func() error) error {
			if strings.HasSuffix(method, "/QueueLeaf") && fails.Add(1) <= 2 {
				return status.Error(codes.Unavailable, "injected")
			}
			return invoke()
		})
		res, err := s.Add(context.Background(), leaves[:1], sign)
		require.NoError(t, err)
		verifyResult(t, leaves[:1], res, verifier)
		require.Equal(t, int32(3), fails.Load())
	})
	t.Run("permanent errors are not retried", func(t *testing.T) {
		var calls atomic.Int32
		s := open(t, func(ctx context.Context, method string, reply any, invoke func() error) error {
			if strings.HasSuffix(method, "/QueueLeaf") {
				calls.Add(1)
				return status.Error(codes.InvalidArgument, "injected")
			}
			return invoke()
		})
		_, err := s.Add(context.Background(), leaves[1:2], sign)
		var rpcErr *RPCError
		require.ErrorAs(t, err, &rpcErr)
		require.Equal(t, codes.InvalidArgument, rpcErr.Code)
		require.Equal(t, int32(1), calls.Load())
	})
	t.Run("close does not hang", func(t *testing.T) {
		s := open(t, func(ctx context.Context, method string, reply any, invoke func() error) error {
			if strings.HasSuffix(method, "/QueueLeaf") {
				<-ctx.Done() // Trillian never answers
				return status.FromContextError(ctx.Err()).Err()
			}
			return invoke()
		})
		errc := make(chan error, 1)
		go func() {
			_, err := s.Add(context.Background(), leaves[2:3], sign)
			errc <- err
		}()
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		require.NoError(t, s.Close())
		require.ErrorIs(t, <-errc, ledger.ErrClosed)
		require.Less(t, time.Since(start), time.Second)
		_, err := s.Leaf(context.Background(), 0)
		require.ErrorIs(t, err, ledger.ErrClosed)
	})
	t.Run("context ends an Add", func(t *testing.T) {
		s := open(t, func(ctx context.Context, method string, reply any, invoke func() error) error {
			if strings.HasSuffix(method, "/QueueLeaf") {
				<-ctx.Done()
				return status.FromContextError(ctx.Err()).Err()
			}
			return invoke()
		})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := s.Add(ctx, leaves[3:4], sign)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("a server refusing a range at its tree size is polled for its root", func(t *testing.T) {
		// Older Trillian storage answers OutOfRange to a GetLeavesByRange
		// that starts at the tree size instead of returning the root alone.
		var refused atomic.Int32
		s := open(t, func(ctx context.Context, method string, reply any, invoke func() error) error {
			err := invoke()
			if r, ok := reply.(*trillian.GetLeavesByRangeResponse); ok && err == nil && len(r.Leaves) == 0 {
				refused.Add(1)
				return status.Error(codes.OutOfRange, "injected")
			}
			return err
		})
		more := makeLeaves(t, "faults-range", 3, 2, 200)
		res, err := s.Add(context.Background(), more, sign)
		require.NoError(t, err)
		verifyResult(t, more, res, verifier)
		// A poll that finds nothing new is refused (unless one was during
		// the Add) and falls back; once refused, polls ask for the root
		// alone, so there is exactly one refusal.
		for range 2 {
			head, err := s.awaitGrowth(context.Background(), res.Head.Size)
			require.NoError(t, err)
			require.Equal(t, res.Head.Size, head.Size)
		}
		require.Equal(t, int32(1), refused.Load())
	})
	t.Run("tampered proof is corrupt", func(t *testing.T) {
		// A store that opens a non-empty tree reads the edge of its mirror
		// from Trillian, checked with Trillian's inclusion proofs.
		res, err := open(t, pass).Add(context.Background(), leaves[4:6], sign)
		require.NoError(t, err)
		require.GreaterOrEqual(t, res.Head.Size, uint64(3))
		s := open(t, func(ctx context.Context, method string, reply any, invoke func() error) error {
			err := invoke()
			if r, ok := reply.(*trillian.GetInclusionProofResponse); ok && err == nil {
				for _, h := range r.GetProof().GetHashes() {
					h[0] ^= 1
				}
			}
			return err
		})
		_, err = s.InclusionProof(context.Background(), 0, res.Head.Size)
		require.ErrorIs(t, err, ledger.ErrCorrupt)
	})
	t.Run("leaf not in the tree is corrupt", func(t *testing.T) {
		// The leaves an Add waits for are read with GetLeavesByRange and
		// must give Trillian's root: a leaf swapped for another one (with a
		// Merkle leaf hash to match) is caught there.
		s := open(t, pass)
		_, err := s.Checkpoint(context.Background()) // start the mirror before the swap
		require.NoError(t, err)
		_, err = s.mirrorStart(context.Background())
		require.NoError(t, err)
		s.log = trillian.NewTrillianLogClient(&hookConn{inner: env.ClientConn, hook: func(ctx context.Context, method string, reply any, invoke func() error) error {
			err := invoke()
			if r, ok := reply.(*trillian.GetLeavesByRangeResponse); ok && err == nil {
				for _, l := range r.Leaves {
					l.LeafValue = append([]byte("swapped"), l.LeafValue...)
					h := merkle.HashLeaf(l.LeafValue)
					l.MerkleLeafHash = h[:]
				}
			}
			return err
		}})
		_, err = s.Add(context.Background(), leaves[6:8], sign)
		require.ErrorIs(t, err, ledger.ErrCorrupt)
	})
	t.Run("forked root is corrupt", func(t *testing.T) {
		s := open(t, pass)
		_, err := s.Checkpoint(context.Background())
		require.NoError(t, err)
		s.mu.Lock()
		s.seen.Root[0] ^= 1 // as if Trillian had shown another root before
		s.mu.Unlock()
		_, err = s.Checkpoint(context.Background())
		require.ErrorIs(t, err, ledger.ErrCorrupt)
	})
	t.Run("wrong tree type", func(t *testing.T) {
		_, err := Open(context.Background(), Config{Conn: env.ClientConn, TreeID: tree, Mode: ModePreordered})
		require.ErrorIs(t, err, ErrTreeMismatch)
	})
	t.Run("unknown tree", func(t *testing.T) {
		_, err := Open(context.Background(), Config{Conn: env.ClientConn, TreeID: 12345})
		require.Error(t, err)
		require.False(t, errors.Is(err, ErrUnavailable))
	})
}
