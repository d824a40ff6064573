package trillianstore

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
)

// stateEnv is the name of the environment variable that points the
// integration tests at the state file written by .ci/trillian.sh up.
const stateEnv = "HEALTHLEDGER_TRILLIAN"

// realTrillian reads the state file of a running Trillian on PostgreSQL, or
// skips the test, saying how to run it.
func realTrillian(t testing.TB) map[string]string {
	t.Helper()
	path := os.Getenv(stateEnv)
	if path == "" {
		t.Skipf("NOT RUN: needs Trillian on PostgreSQL; run `make test-trillian`, or `.ci/trillian.sh up` and set %s to the state file it prints", stateEnv)
	}
	f, err := os.Open(path)
	require.NoError(t, err, "%s points at a missing state file", stateEnv)
	defer f.Close()
	st := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			st[k] = v
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, st["HL_TRILLIAN_ADDR"], "state file without HL_TRILLIAN_ADDR")
	return st
}

// dialReal connects to the real log server.
func dialReal(t testing.TB, st map[string]string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(st["HL_TRILLIAN_ADDR"], defaultDialOptions()...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

var modes = []Mode{ModeLog, ModePreordered}

func TestPostgresContract(t *testing.T) {
	cc := dialReal(t, realTrillian(t))
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) { storeContract(t, cc, mode) })
	}
}

func TestPostgresReopen(t *testing.T) {
	cc := dialReal(t, realTrillian(t))
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) { reopenContract(t, cc, mode) })
	}
}

// TestPostgresConcurrentFrontends appends the same and different leaves
// from several Stores (frontends) to one LOG tree at once: every leaf ends
// up exactly once.
func TestPostgresConcurrentFrontends(t *testing.T) {
	cc := dialReal(t, realTrillian(t))
	ctx := context.Background()
	sign, verifier := signerOf(t)
	tree := newTree(t, cc, ModeLog)
	leaves := makeLeaves(t, "frontends", 120, 4, 256)
	var wg sync.WaitGroup
	for f := range 3 {
		s := openStore(t, cc, tree, ModeLog, sign)
		wg.Go(func() {
			// Each frontend appends an overlapping two thirds of the leaves.
			mine := append(append([]ledger.Leaf{}, leaves[f*40:]...), leaves[:f*40]...)[:80]
			for len(mine) > 0 {
				n := min(len(mine), 16)
				res, err := s.Add(ctx, mine[:n], sign)
				if !assertNoError(t, err) {
					return
				}
				verifyResult(t, mine[:n], res, verifier)
				mine = mine[n:]
			}
		})
	}
	wg.Wait()
	s := openStore(t, cc, tree, ModeLog, sign)
	seen := map[uint64]bool{}
	for _, l := range leaves {
		idx, err := s.IndexOf(ctx, l.Hash)
		require.NoError(t, err)
		require.False(t, seen[idx])
		seen[idx] = true
	}
	head, _, err := s.signed(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(len(leaves)), head.Size, "no duplicates")
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}

// TestPostgresRestart kills the log server and the signer with SIGKILL
// while a writer appends, restarts them, and checks that every acknowledged
// leaf is in the tree at its acknowledged index, that every acknowledged
// checkpoint is consistent with the final one, and that no leaf was stored
// twice although the writer retried every failed batch.
func TestPostgresRestart(t *testing.T) {
	st := realTrillian(t)
	cc := dialReal(t, st)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) { restartTest(t, st, cc, mode) })
	}
}

type acked struct {
	leaf  ledger.Leaf
	index uint64
}

func restartTest(t *testing.T, st map[string]string, cc *grpc.ClientConn, mode Mode) {
	ctx := context.Background()
	sign, verifier := signerOf(t)
	tree := newTree(t, cc, mode)
	s, err := Open(ctx, Config{Conn: cc, TreeID: tree, Mode: mode, Sign: sign,
		RPCTimeout: 2 * time.Second, MaxAttempts: 3, IntegrationTimeout: 20 * time.Second})
	require.NoError(t, err)
	defer s.Close()

	const batches, batchSize = 40, 25
	leaves := makeLeaves(t, "restart-"+mode.String(), batches*batchSize, 5, 512)
	var (
		mu          sync.Mutex
		acks        []acked
		checkpoints [][]byte
		failures    int
	)
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		time.Sleep(300 * time.Millisecond) // let a few batches through first
		for _, k := range []string{"HL_LOG_SERVER_PID", "HL_LOG_SIGNER_PID"} {
			pid, err := strconv.Atoi(st[k])
			if err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(time.Second)
		cmd := exec.Command("bash", st["HL_TRILLIAN_SCRIPT"], "servers")
		cmd.Env = append(os.Environ(), "HEALTHLEDGER_TRILLIAN_DIR="+st["HL_TRILLIAN_DIR"])
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("restarting Trillian: %v\n%s", err, out)
		}
	}()
	deadline := time.Now().Add(3 * time.Minute)
	for b := 0; b < batches; b++ {
		batch := leaves[b*batchSize : (b+1)*batchSize]
		res, err := s.Add(ctx, batch, sign)
		if err != nil {
			require.Truef(t, errors.Is(err, ErrUnavailable) || errors.Is(err, ErrIntegrationTimeout),
				"an outage must surface as ErrUnavailable or ErrIntegrationTimeout, got %v", err)
			require.True(t, time.Now().Before(deadline), "Trillian did not come back")
			mu.Lock()
			failures++
			mu.Unlock()
			b-- // retry the same batch: it must not be duplicated
			time.Sleep(100 * time.Millisecond)
			continue
		}
		verifyResult(t, batch, res, verifier)
		mu.Lock()
		for i, l := range batch {
			acks = append(acks, acked{l, res.Indices[i]})
		}
		checkpoints = append(checkpoints, res.Checkpoint)
		mu.Unlock()
	}
	<-killed
	// The servers were restarted: refresh the PIDs for the next subtest.
	for k, v := range realTrillian(t) {
		st[k] = v
	}
	t.Logf("%v: %d batches acknowledged, %d failed during the outage and were retried", mode, len(checkpoints), failures)
	require.Positive(t, failures, "the kill did not hit the stream; nothing was tested")

	// A fresh frontend sees everything that was acknowledged.
	fresh := openStore(t, cc, tree, mode, sign)
	final, err := fresh.Checkpoint(ctx)
	require.NoError(t, err)
	fc, _, err := ledger.OpenCheckpoint(final, testOrigin, verifier)
	require.NoError(t, err)
	require.Equal(t, uint64(len(leaves)), fc.Size, "every leaf exactly once")
	for _, a := range acks {
		got, err := fresh.Leaf(ctx, a.index)
		require.NoError(t, err)
		require.Equal(t, a.leaf.Data, got)
		p, err := fresh.InclusionProof(ctx, a.index, fc.Size)
		require.NoError(t, err)
		require.NoError(t, merkle.VerifyInclusion(a.leaf.Hash, a.index, fc.Size, p, fc.Root))
	}
	for _, cp := range checkpoints {
		c, _, err := ledger.OpenCheckpoint(cp, testOrigin, verifier)
		require.NoError(t, err)
		p, err := fresh.ConsistencyProof(ctx, c.Size, fc.Size)
		require.NoError(t, err)
		require.NoError(t, merkle.VerifyConsistency(c.Size, fc.Size, p, c.Root, fc.Root))
	}
}
