package trillianstore

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/trillian"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
)

// rpcCounter counts the RPCs a store makes, by method name; consistency
// counts the GetLatestSignedLogRoot calls that ask for a proof.
type rpcCounter struct {
	mu          sync.Mutex
	calls       map[string]int
	consistency int
}

func (c *rpcCounter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	out["consistency"] = c.consistency
	c.calls, c.consistency = map[string]int{}, 0
	return out
}

// countingConn passes RPCs through and counts them.
type countingConn struct {
	inner grpc.ClientConnInterface
	c     *rpcCounter
}

func (h *countingConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	h.c.mu.Lock()
	h.c.calls[method[strings.LastIndex(method, "/")+1:]]++
	if r, ok := args.(*trillian.GetLatestSignedLogRootRequest); ok && r.FirstTreeSize > 0 {
		h.c.consistency++
	}
	h.c.mu.Unlock()
	return h.inner.Invoke(ctx, method, args, reply, opts...)
}

func (h *countingConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return h.inner.NewStream(ctx, desc, method, opts...)
}

// rpcsPerAdd adds batches of 50 leaves to a new tree of mode and returns
// the RPCs of the last two Adds (the first one starts the mirror).
func rpcsPerAdd(t *testing.T, cc grpc.ClientConnInterface, mode Mode) map[string]int {
	sign, verifier := signerOf(t)
	tree := newTree(t, cc, mode)
	c := &rpcCounter{calls: map[string]int{}}
	s := openStore(t, &countingConn{inner: cc, c: c}, tree, mode, sign)
	leaves := makeLeaves(t, "rpcs", 150, 3, 200)
	for i := 0; i < len(leaves); i += 50 {
		if i == 50 {
			c.reset()
		}
		res, err := s.Add(context.Background(), leaves[i:i+50], sign)
		require.NoError(t, err)
		verifyResult(t, leaves[i:i+50], res, verifier)
	}
	return c.reset()
}

// In LOG mode a batch costs one QueueLeaf per leaf and polls that read
// the new leaves with the root (GetLeavesByRange, which proves the new
// root): no separate root poll, no lookup or proof per leaf, no
// consistency proof.
func TestMemoryRPCsPerAdd(t *testing.T) {
	got := rpcsPerAdd(t, memEnv(t).ClientConn, ModeLog)
	require.Equal(t, 100, got["QueueLeaf"], "%v", got)
	require.GreaterOrEqual(t, got["GetLeavesByRange"], 2, "%v", got)
	for _, m := range []string{"GetLatestSignedLogRoot", "GetInclusionProofByHash", "GetInclusionProof", "GetEntryAndProof", "consistency"} {
		require.Zero(t, got[m], "%s: %v", m, got)
	}
}

// In PREORDERED_LOG mode a batch costs one AddSequencedLeaves and polls
// of the root: no read-back, no proof, no consistency proof (the mirror
// proves the new root).
func TestPostgresPreorderedRPCsPerAdd(t *testing.T) {
	got := rpcsPerAdd(t, dialReal(t, realTrillian(t)), ModePreordered)
	require.Equal(t, 2, got["AddSequencedLeaves"], "%v", got)
	for _, m := range []string{"GetLeavesByRange", "GetInclusionProofByHash", "GetInclusionProof", "GetEntryAndProof", "consistency"} {
		require.Zero(t, got[m], "%s: %v", m, got)
	}
}
