package trillian

import (
	"context"
	"fmt"
	"slices"
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
// directly through its gRPC API, on the same servers, in the same run.
// Each run of a case measures the store and its direct peers on b.N
// leaves each, interleaved in slices (the store's first slice, then each
// direct driver's first slice, then the second slices, ...), each side
// timed over its own slices only; so every ratio it reports comes from
// measurements taken a fraction of a second apart, and load from other
// processes on the machine falls on both sides alike.
//
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
//     (rounded, as measured so far in the run) with AddSequencedLeaves and
//     waits until Trillian's root covers each batch before sending the
//     next, as the store must; ratio is store-entries/s over
//     direct-entries/s (the target: >= 0.9);
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
		store := newStoreDriver(b, trillianstore.ModePreordered)
		direct := newPreorderedDriver(b)
		direct256 := newPreorderedDriver(b)
		pipelined := newPreorderedDriver(b)
		runSlices(b.N, func(from uint64, n int) {
			store.run(from, n)
			batch := int(store.leavesPerAdd() + 0.5)
			direct.run(from, n, max(batch, 1), false)
			direct256.run(from, n, writers, false)
			pipelined.run(from, n, writers, true)
		})
		store.report(b)
		b.ReportMetric(direct.perSecond(), "direct-entries/s")
		b.ReportMetric(store.perSecond()/direct.perSecond(), "ratio")
		b.ReportMetric(direct256.perSecond(), "direct256-entries/s")
		b.ReportMetric(pipelined.perSecond(), "pipelined-entries/s")
	})
	b.Run("mode=log", func(b *testing.B) {
		b.SetBytes(leafSize)
		store := newStoreDriver(b, trillianstore.ModeLog)
		direct := newQueueDriver(b)
		runSlices(b.N, func(from uint64, n int) {
			store.run(from, n)
			direct.run(from, n)
		})
		store.report(b)
		b.ReportMetric(direct.perSecond(), "direct-entries/s")
		b.ReportMetric(store.perSecond()/direct.perSecond(), "ratio")
	})
}

// sliceCount is the number of slices runSlices cuts a run into.
const sliceCount = 5

// runSlices calls f for consecutive slices [from, from+n) of [0, total).
func runSlices(total int, f func(from uint64, n int)) {
	per := (total + sliceCount - 1) / sliceCount
	for from := 0; from < total; from += per {
		f(uint64(from), min(per, total-from))
	}
}

// timed accumulates the entries and time of a driver's slices.
type timed struct {
	entries int
	elapsed time.Duration
}

func (t *timed) perSecond() float64 {
	if t.elapsed <= 0 {
		return 0
	}
	return float64(t.entries) / t.elapsed.Seconds()
}

// storeDriver appends through ledger.Log from 256 writers on a new tree.
type storeDriver struct {
	timed
	b         *testing.B
	log       *ledger.Log
	store     *countingStore
	maker     *maker
	latencies []time.Duration
}

func newStoreDriver(b *testing.B, mode trillianstore.Mode) *storeDriver {
	kind := "trillian-log"
	if mode == trillianstore.ModePreordered {
		kind = "trillian-preordered"
	}
	sign, cfg := keys(b)
	store := &countingStore{Store: openStore(b, kind, sign, false)}
	b.Cleanup(func() { store.Close() })
	cfg.Store = store
	l, err := ledger.Open(context.Background(), cfg)
	fatalIf(b, err)
	b.Cleanup(func() { l.Close() }) // runs before the store's Close
	return &storeDriver{b: b, log: l, store: store, maker: newMaker(b)}
}

// run appends the entries [from, from+n).
func (d *storeDriver) run(from uint64, n int) {
	res, err := loadgen.Measure(context.Background(), n, writers, func(ctx context.Context, _ int, seq uint64) error {
		rc, err := d.log.Append(ctx, d.maker.entry(from+seq))
		if err == nil && (rc.Existed || len(rc.Leaf) != leafSize) {
			err = fmt.Errorf("entry %d: unexpected receipt", from+seq)
		}
		return err
	})
	fatalIf(d.b, err)
	d.entries += n
	d.elapsed += res.Elapsed
	d.latencies = append(d.latencies, res.Latencies...)
}

func (d *storeDriver) leavesPerAdd() float64 {
	if n := d.store.adds.Load(); n > 0 {
		return float64(d.store.leaves.Load()) / float64(n)
	}
	return writers
}

func (d *storeDriver) report(b *testing.B) {
	slices.Sort(d.latencies)
	b.ReportMetric(d.perSecond(), "store-entries/s")
	b.ReportMetric(loadgen.Millis(loadgen.Percentile(d.latencies, 0.5)), "store-p50-ms")
	b.ReportMetric(loadgen.Millis(loadgen.Percentile(d.latencies, 0.99)), "store-p99-ms")
	b.ReportMetric(d.leavesPerAdd(), "leaves/add")
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

// BatchWait passes the store's batching hint on to the Log, as if the Log
// had the store itself.
func (s *countingStore) BatchWait() time.Duration {
	if bw, ok := s.Store.(ledger.BatchWaiter); ok {
		return bw.BatchWait()
	}
	return 0
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

// preorderedDriver sends leaves to a new PREORDERED_LOG tree with
// AddSequencedLeaves, from one writer.
type preorderedDriver struct {
	timed
	b     *testing.B
	log   trillian.TrillianLogClient
	tree  int64
	maker *maker
}

func newPreorderedDriver(b *testing.B) *preorderedDriver {
	log, tree := directTree(b, trillianstore.ModePreordered)
	return &preorderedDriver{b: b, log: log, tree: tree, maker: newMaker(b)}
}

// run sends the leaves [from, from+n) in batches of batch. Unless
// pipelined, it waits for each batch's integration before sending the
// next; either way the slice ends when the root covers all of them.
func (d *preorderedDriver) run(from uint64, n, batch int, pipelined bool) {
	ctx := context.Background()
	// Encode before the clock starts: the store's callers encode too, in
	// their own goroutines.
	var batches [][]*trillian.LogLeaf
	for lo := 0; lo < n; lo += batch {
		leaves := directLeaves(d.b, d.maker, from+uint64(lo), min(batch, n-lo))
		for i, l := range leaves {
			l.LeafIndex = int64(from) + int64(lo+i)
		}
		batches = append(batches, leaves)
	}
	start := time.Now()
	size := from
	for _, leaves := range batches {
		resp, err := d.log.AddSequencedLeaves(ctx, &trillian.AddSequencedLeavesRequest{LogId: d.tree, Leaves: leaves})
		fatalIf(d.b, err)
		for _, r := range resp.Results {
			if c := codes.Code(r.GetStatus().GetCode()); c != codes.OK {
				d.b.Fatalf("AddSequencedLeaves: %v", c)
			}
		}
		size += uint64(len(leaves))
		if !pipelined {
			fatalIf(d.b, awaitTreeSize(ctx, d.log, d.tree, size))
		}
	}
	fatalIf(d.b, awaitTreeSize(ctx, d.log, d.tree, size))
	d.entries += n
	d.elapsed += time.Since(start)
}

// queueDriver queues leaves on a new LOG tree from 256 concurrent
// QueueLeaf callers.
type queueDriver struct {
	timed
	b     *testing.B
	log   trillian.TrillianLogClient
	tree  int64
	maker *maker
}

func newQueueDriver(b *testing.B) *queueDriver {
	log, tree := directTree(b, trillianstore.ModeLog)
	return &queueDriver{b: b, log: log, tree: tree, maker: newMaker(b)}
}

// run queues the leaves [from, from+n) and waits until the tree holds
// them.
func (d *queueDriver) run(from uint64, n int) {
	ctx := context.Background()
	leaves := directLeaves(d.b, d.maker, from, n)
	start := time.Now()
	_, err := loadgen.Measure(ctx, n, writers, func(ctx context.Context, _ int, seq uint64) error {
		resp, err := d.log.QueueLeaf(ctx, &trillian.QueueLeafRequest{LogId: d.tree, Leaf: leaves[seq]})
		if err == nil && codes.Code(resp.GetQueuedLeaf().GetStatus().GetCode()) != codes.OK {
			err = fmt.Errorf("QueueLeaf: %v", codes.Code(resp.GetQueuedLeaf().GetStatus().GetCode()))
		}
		return err
	})
	fatalIf(d.b, err)
	fatalIf(d.b, awaitTreeSize(ctx, d.log, d.tree, from+uint64(n)))
	d.entries += n
	d.elapsed += time.Since(start)
}
