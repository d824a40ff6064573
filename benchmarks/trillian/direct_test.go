package trillian

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/trillian"
	"github.com/google/trillian/types"
	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/trillianstore"
	"github.com/healthledger/healthledger/merkle"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// directPoll is how often the direct drivers ask Trillian whether their
// leaves are integrated: the store's default Config.PollInterval, so that
// both wait for Trillian's signer the same way.
const directPoll = 2 * time.Millisecond

// BenchmarkVsDirect compares the Trillian store with Trillian driven
// directly through its gRPC API, on the same servers, in the same run:
// each run of a case measures the store and its direct peers one after the
// other on b.N leaves each (the order alternates from run to run), so
// every ratio it reports comes from two measurements taken seconds apart.
// The direct drivers are minimal personalities that do only what the
// engine needs to make the same 1 KiB leaves durable and integrated into
// the tree; the store, under ledger.Log with 256 writers, also signs a
// checkpoint per batch and verifies and returns a receipt per entry.
//
// mode=preordered reports:
//
//   - store-entries/s and its p50/p99 latency, and leaves/add, the mean
//     batch the Log handed the store;
//   - direct-entries/s: one writer sends batches of that same size
//     (rounded) with AddSequencedLeaves and waits until Trillian's root
//     covers each batch before sending the next, as the store must;
//     ratio is store-entries/s over direct-entries/s (the target: >= 0.9);
//   - direct256-entries/s: the same with batches of 256, the most that 256
//     writers can hand the store at once;
//   - pipelined-entries/s: batches of 256 sent back to back, the clock
//     stopped when the root covers the last one: the engine's ceiling with
//     one writer, which no ledger.Store can reach since the Log calls
//     Add once at a time.
//
// mode=log reports store-entries/s and direct-entries/s, 256 writers each
// calling QueueLeaf for one leaf at a time, the clock stopped when the
// root covers all of them, and their ratio (the target: >= 0.9).
//
// ns/op covers all the drivers of a run; read the metrics instead.
func BenchmarkVsDirect(b *testing.B) {
	b.Run("mode=preordered", func(b *testing.B) {
		b.SetBytes(leafSize)
		var store storeRun
		var direct, direct256, pipelined float64
		measure := []func(){
			func() { store = benchStoreAppend(b, trillianstore.ModePreordered) },
			func() {
				batch := writers
				if store.leavesPerAdd > 0 {
					batch = int(store.leavesPerAdd + 0.5)
				}
				direct = benchDirectPreordered(b, batch, false)
				direct256 = benchDirectPreordered(b, writers, false)
				pipelined = benchDirectPreordered(b, writers, true)
			},
		}
		runAlternating(measure)
		store.report(b)
		b.ReportMetric(direct, "direct-entries/s")
		b.ReportMetric(store.perSecond/direct, "ratio")
		b.ReportMetric(direct256, "direct256-entries/s")
		b.ReportMetric(pipelined, "pipelined-entries/s")
	})
	b.Run("mode=log", func(b *testing.B) {
		b.SetBytes(leafSize)
		var store storeRun
		var direct float64
		runAlternating([]func(){
			func() { store = benchStoreAppend(b, trillianstore.ModeLog) },
			func() { direct = benchDirectQueue(b) },
		})
		store.report(b)
		b.ReportMetric(direct, "direct-entries/s")
		b.ReportMetric(store.perSecond/direct, "ratio")
	})
}

// runs counts the runs of runAlternating, to alternate their order.
var runs atomic.Int64

// runAlternating calls the functions in order on every other call and in
// reverse order on the others, so that neither side of a ratio always
// runs first (a warmer cache, a growing database).
func runAlternating(fs []func()) {
	if runs.Add(1)%2 == 0 {
		for i := len(fs) - 1; i >= 0; i-- {
			fs[i]()
		}
		return
	}
	for _, f := range fs {
		f()
	}
}

// storeRun is what benchStoreAppend measured.
type storeRun struct {
	perSecond    float64
	p50, p99     time.Duration
	leavesPerAdd float64
}

func (r storeRun) report(b *testing.B) {
	b.ReportMetric(r.perSecond, "store-entries/s")
	b.ReportMetric(loadgen.Millis(r.p50), "store-p50-ms")
	b.ReportMetric(loadgen.Millis(r.p99), "store-p99-ms")
	b.ReportMetric(r.leavesPerAdd, "leaves/add")
}

// benchStoreAppend runs b.N Log.Appends from 256 writers on a new tree of
// mode.
func benchStoreAppend(b *testing.B, mode trillianstore.Mode) storeRun {
	kind := "trillian-log"
	if mode == trillianstore.ModePreordered {
		kind = "trillian-preordered"
	}
	sign, cfg := keys(b)
	store := &countingStore{Store: openStore(b, kind, sign, false)}
	defer store.Close()
	cfg.Store = store
	l, err := ledger.Open(context.Background(), cfg)
	fatalIf(b, err)
	defer l.Close()
	m := newMaker(b)
	res, err := loadgen.Measure(context.Background(), b.N, writers, func(ctx context.Context, _ int, seq uint64) error {
		rc, err := l.Append(ctx, m.entry(seq))
		if err == nil && (rc.Existed || len(rc.Leaf) != leafSize) {
			err = fmt.Errorf("entry %d: unexpected receipt", seq)
		}
		return err
	})
	fatalIf(b, err)
	run := storeRun{perSecond: res.PerSecond(), p50: res.Percentile(0.5), p99: res.Percentile(0.99)}
	if n := store.adds.Load(); n > 0 {
		run.leavesPerAdd = float64(store.leaves.Load()) / float64(n)
	}
	return run
}

// countingStore counts the Adds and leaves a Log hands its store.
type countingStore struct {
	ledger.Store
	adds, leaves atomic.Int64
}

func (s *countingStore) Add(ctx context.Context, leaves []ledger.Leaf, sign ledger.SignFunc) (ledger.AddResult, error) {
	s.adds.Add(1)
	s.leaves.Add(int64(len(leaves)))
	return s.Store.Add(ctx, leaves, sign)
}

// directTree dials Trillian and creates a new tree of mode, deleted with
// the benchmark.
func directTree(b *testing.B, mode trillianstore.Mode) (trillian.TrillianLogClient, int64) {
	ctx := context.Background()
	cc, err := grpc.NewClient(trillianAddr(b), grpc.WithTransportCredentials(insecure.NewCredentials()))
	fatalIf(b, err)
	b.Cleanup(func() { cc.Close() })
	tree, err := trillianstore.CreateTree(ctx, cc, mode)
	fatalIf(b, err)
	b.Cleanup(func() {
		_, _ = trillian.NewTrillianAdminClient(cc).DeleteTree(ctx, &trillian.DeleteTreeRequest{TreeId: tree})
	})
	return trillian.NewTrillianLogClient(cc), tree
}

// directLeaves returns the leaves [from, from+n) of m as Trillian leaves.
func directLeaves(b *testing.B, m *maker, from uint64, n int) []*trillian.LogLeaf {
	out := make([]*trillian.LogLeaf, n)
	for i := range out {
		e := m.entry(from + uint64(i))
		data, err := e.MarshalBinary()
		fatalIf(b, err)
		h := merkle.HashLeaf(data)
		out[i] = &trillian.LogLeaf{LeafValue: data, LeafIdentityHash: h[:], ExtraData: e.Subject[:]}
	}
	return out
}

// awaitTreeSize polls the tree's latest root until it covers size leaves.
func awaitTreeSize(ctx context.Context, log trillian.TrillianLogClient, tree int64, size uint64) error {
	for {
		resp, err := log.GetLatestSignedLogRoot(ctx, &trillian.GetLatestSignedLogRootRequest{LogId: tree})
		if err != nil {
			return err
		}
		var root types.LogRootV1
		if err := root.UnmarshalBinary(resp.GetSignedLogRoot().GetLogRoot()); err != nil {
			return err
		}
		if root.TreeSize >= size {
			return nil
		}
		time.Sleep(directPoll)
	}
}

// benchDirectPreordered sends b.N leaves to a new PREORDERED_LOG tree in
// batches of batch with AddSequencedLeaves, from one writer, and returns
// entries/s. Unless pipelined, it waits for each batch's integration
// before sending the next.
func benchDirectPreordered(b *testing.B, batch int, pipelined bool) float64 {
	ctx := context.Background()
	log, tree := directTree(b, trillianstore.ModePreordered)
	m := newMaker(b)
	// Encode before the clock starts: the store's callers encode too, in
	// their own goroutines.
	var batches [][]*trillian.LogLeaf
	for from := 0; from < b.N; from += batch {
		leaves := directLeaves(b, m, uint64(from), min(batch, b.N-from))
		for i, l := range leaves {
			l.LeafIndex = int64(from + i)
		}
		batches = append(batches, leaves)
	}
	start := time.Now()
	size := uint64(0)
	for _, leaves := range batches {
		resp, err := log.AddSequencedLeaves(ctx, &trillian.AddSequencedLeavesRequest{LogId: tree, Leaves: leaves})
		fatalIf(b, err)
		for _, r := range resp.Results {
			if c := codes.Code(r.GetStatus().GetCode()); c != codes.OK {
				b.Fatalf("AddSequencedLeaves: %v", c)
			}
		}
		size += uint64(len(leaves))
		if !pipelined {
			fatalIf(b, awaitTreeSize(ctx, log, tree, size))
		}
	}
	fatalIf(b, awaitTreeSize(ctx, log, tree, size))
	return float64(b.N) / time.Since(start).Seconds()
}

// benchDirectQueue queues b.N leaves on a new LOG tree from 256 concurrent
// QueueLeaf callers, waits until the tree holds all of them, and returns
// entries/s.
func benchDirectQueue(b *testing.B) float64 {
	ctx := context.Background()
	log, tree := directTree(b, trillianstore.ModeLog)
	m := newMaker(b)
	leaves := directLeaves(b, m, 0, b.N)
	start := time.Now()
	_, err := loadgen.Measure(ctx, b.N, writers, func(ctx context.Context, _ int, seq uint64) error {
		resp, err := log.QueueLeaf(ctx, &trillian.QueueLeafRequest{LogId: tree, Leaf: leaves[seq]})
		if err == nil && codes.Code(resp.GetQueuedLeaf().GetStatus().GetCode()) != codes.OK {
			err = fmt.Errorf("QueueLeaf: %v", codes.Code(resp.GetQueuedLeaf().GetStatus().GetCode()))
		}
		return err
	})
	fatalIf(b, err)
	fatalIf(b, awaitTreeSize(ctx, log, tree, uint64(b.N)))
	return float64(b.N) / time.Since(start).Seconds()
}
