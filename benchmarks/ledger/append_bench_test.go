package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
)

// writerCounts are the concurrency levels of the append benchmarks, the
// same as the Tessera baseline's.
var writerCounts = []int{1, 256}

// BenchmarkAppend measures Log.Append of 1 KiB entries from 1 and 256
// concurrent writers into a new, empty log. An Append returns once its
// entry is durable (Pebble: fsynced in the batch's single commit), in the
// tree and covered by a signed checkpoint, with its receipt.
func BenchmarkAppend(b *testing.B) {
	for _, kind := range storeKinds {
		for _, w := range appendWriterCounts {
			b.Run(fmt.Sprintf("store=%s/writers=%d", kind, w), func(b *testing.B) {
				benchAppend(b, kind, w)
			})
		}
	}
}

func benchAppend(b *testing.B, kind string, writers int) {
	ctx := context.Background()
	rig, err := newAppendRig(ctx, kind, b.TempDir(), writers)
	fatalIf(b, err)
	defer rig.close()
	b.SetBytes(leafSize)
	runAppend(ctx, b, rig, writers)
}

// metricCPU is the unit of the CPU time the whole process (log, store,
// writers and, for BenchmarkAppendWitnessed, the in-process witnesses)
// used per entry, user plus system, in microseconds. Unlike entries/s it
// hardly moves when other processes compete for the cores, so it compares
// variants run minutes apart on a loaded machine.
const metricCPU = "cpu-us/entry"

// runAppend runs rig's appends as loadgen.Run does and reports, besides
// its metrics, entries/batch and metricCPU.
func runAppend(ctx context.Context, b *testing.B, rig *appendRig, writers int) {
	b.Helper()
	cpu0, ok0 := processCPU()
	loadgen.Run(ctx, b, writers, "entries/s", rig.op)
	cpu1, ok1 := processCPU()
	b.ReportMetric(float64(b.N)/float64(rig.batches()), "entries/batch")
	rig.stages.report(b)
	if ok0 && ok1 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(time.Microsecond)/float64(b.N), metricCPU)
	}
}

// appendRig is a fresh log and the append operation of the benchmark.
type appendRig struct {
	keys  logKeys
	store ledger.Store
	log   *ledger.Log
	maker *entryMaker
	opts  appendOptions
	// sizes records the tree sizes of the checkpoints the workers
	// received: one per group-committed batch.
	sizes checkpointSizes
	// stages times the stages of the log's batches.
	stages *stageTimer
}

// appendOptions change what an appendRig appends and checks. The zero
// value is the plain append benchmark: entryMaker's 1 KiB-leaf entries, a
// default Log.
type appendOptions struct {
	// newEntry makes the seq-th entry in the calling writer goroutine
	// (sealing, if any, happens here, inside the timed call). Nil means
	// the rig's entryMaker, whose leaves are exactly leafSize bytes.
	newEntry func(ctx context.Context, seq uint64) (*ledger.Entry, error)
	// configure changes the Log's Config (witnesses); nil keeps defaults.
	configure func(*ledger.Config)
	// check is an extra check of every receipt; nil checks nothing more.
	check func(rc *ledger.Receipt) error
	// closers are called by close, after the log and the store.
	closers []func()
}

func newAppendRig(ctx context.Context, kind, dir string, writers int) (*appendRig, error) {
	return newAppendRigWith(ctx, kind, dir, writers, appendOptions{})
}

func newAppendRigWith(ctx context.Context, kind, dir string, writers int, opts appendOptions) (*appendRig, error) {
	keys, err := newLogKeys()
	if err != nil {
		return nil, err
	}
	return newAppendRigKeys(ctx, kind, dir, writers, keys, opts)
}

// newAppendRigKeys is newAppendRigWith with the log's checkpoint keys
// given, for rigs whose witnesses must know the log's key beforehand.
func newAppendRigKeys(ctx context.Context, kind, dir string, writers int, keys logKeys, opts appendOptions) (*appendRig, error) {
	maker, err := newEntryMaker(leafSize)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, kind, dir)
	if err != nil {
		return nil, err
	}
	stages := &stageTimer{}
	l, err := openLogWith(ctx, store, keys, func(cfg *ledger.Config) {
		cfg.MeterProvider = stages
		if opts.configure != nil {
			opts.configure(cfg)
		}
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	return &appendRig{keys: keys, store: store, log: l, maker: maker, opts: opts, sizes: newCheckpointSizes(writers), stages: stages}, nil
}

// op appends the seq-th entry and checks that it got a receipt of its own.
func (r *appendRig) op(ctx context.Context, worker int, seq uint64) error {
	e, wantLeaf := r.maker.entry(seq), leafSize
	if r.opts.newEntry != nil {
		var err error
		if e, err = r.opts.newEntry(ctx, seq); err != nil {
			return err
		}
		wantLeaf = 0
	}
	rc, err := r.log.Append(ctx, e)
	if err != nil {
		return err
	}
	if rc.Existed || (wantLeaf != 0 && len(rc.Leaf) != wantLeaf) {
		return fmt.Errorf("entry %d: unexpected receipt (existed %v, %d-byte leaf)", seq, rc.Existed, len(rc.Leaf))
	}
	size, err := checkpointSize(rc.Checkpoint)
	if err != nil || rc.Index >= size {
		return fmt.Errorf("entry %d: receipt checkpoint does not cover index %d: %v", seq, rc.Index, err)
	}
	if r.opts.check != nil {
		if err := r.opts.check(rc); err != nil {
			return fmt.Errorf("entry %d: %w", seq, err)
		}
	}
	r.sizes.record(worker, size)
	return nil
}

// batches returns the number of distinct checkpoints the writers received,
// which is the number of batches their appends were committed in.
func (r *appendRig) batches() int { return max(1, r.sizes.distinct()) }

// checkpointSizes records, per worker, the tree sizes of the checkpoints
// its receipts carried. A worker appends one entry at a time, so the
// sizes it receives never decrease: recording a size only when it differs
// from the worker's last one keeps every distinct size at the cost of a
// slice append, where a set would cost a map insert on every operation
// (7.6% of the CPU of the 256-writer memory benchmark). distinct does the
// union once, after the timed run.
type checkpointSizes []workerSizes

// workerSizes is one worker's record, padded to a cache line of its own:
// each worker writes its own on every operation.
type workerSizes struct {
	seen []uint64 // sizes in the order received, no two adjacent equal
	// last is seen's last element (0 if none; a checkpoint covering an
	// entry has a size of at least 1), kept beside the slice header so
	// that record reads no other cache line to compare.
	last uint64
	_    [64 - 24 - 8]byte
}

// newCheckpointSizes returns an empty record for writers workers (at
// least one).
func newCheckpointSizes(writers int) checkpointSizes {
	return make(checkpointSizes, max(1, writers))
}

// record notes that worker received a checkpoint of the given tree size.
// Only worker calls it for its own record, so workers need no lock.
func (c checkpointSizes) record(worker int, size uint64) {
	if w := &c[worker]; size != w.last {
		w.seen, w.last = append(w.seen, size), size
	}
}

// distinct returns the number of distinct sizes recorded by all workers.
// It is exact whatever the order in which sizes were recorded. It must
// not run concurrently with record.
func (c checkpointSizes) distinct() int {
	n := 0
	for _, w := range c {
		n += len(w.seen)
	}
	all := make([]uint64, 0, n)
	for _, w := range c {
		all = append(all, w.seen...)
	}
	slices.Sort(all)
	return len(slices.Compact(all))
}

// checkpointSize returns the tree size line of a signed checkpoint note
// without verifying it (the benchmark trusts its own log).
func checkpointSize(note []byte) (uint64, error) {
	_, rest, ok := bytes.Cut(note, []byte("\n"))
	line, _, ok2 := bytes.Cut(rest, []byte("\n"))
	if !ok || !ok2 {
		return 0, fmt.Errorf("malformed checkpoint")
	}
	return strconv.ParseUint(string(line), 10, 64)
}

func (r *appendRig) close() error {
	errLog := r.log.Close()
	errStore := r.store.Close()
	for _, c := range r.opts.closers {
		c()
	}
	if errLog != nil {
		return errLog
	}
	return errStore
}

func TestCheckpointSizes(t *testing.T) {
	tests := []struct {
		name     string
		writers  int
		received [][]uint64 // received[w]: the sizes worker w got, in order
		want     int
	}{
		{"none", 2, [][]uint64{nil, nil}, 0},
		{"one writer, one batch per entry", 1, [][]uint64{{1, 2, 3}}, 3},
		{"a repeated size counts once", 1, [][]uint64{{4, 4, 4, 9}}, 2},
		{"batches shared by writers", 3, [][]uint64{{3, 5, 8}, {3, 8}, {5, 9}}, 4},
		{"a size seen again after another", 2, [][]uint64{{7, 3, 7}, {3}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCheckpointSizes(tt.writers)
			for w, sizes := range tt.received {
				for _, s := range sizes {
					c.record(w, s)
				}
			}
			require.Equal(t, tt.want, c.distinct())
		})
	}
}
