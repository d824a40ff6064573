package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/healthledger/healthledger/ledger"
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
		for _, w := range writerCounts {
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
	loadgen.Run(ctx, b, writers, "entries/s", rig.op)
	b.ReportMetric(float64(b.N)/float64(rig.batches()), "entries/batch")
}

// appendRig is a fresh log and the append operation of the benchmark.
type appendRig struct {
	store ledger.Store
	log   *ledger.Log
	maker *entryMaker
	// sizes[w] holds the tree sizes of the checkpoints worker w received:
	// one per group-committed batch it took part in. Only worker w
	// touches sizes[w] during a run.
	sizes []map[uint64]struct{}
}

func newAppendRig(ctx context.Context, kind, dir string, writers int) (*appendRig, error) {
	keys, err := newLogKeys()
	if err != nil {
		return nil, err
	}
	maker, err := newEntryMaker(leafSize)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, kind, dir)
	if err != nil {
		return nil, err
	}
	l, err := openLog(ctx, store, keys)
	if err != nil {
		store.Close()
		return nil, err
	}
	rig := &appendRig{store: store, log: l, maker: maker, sizes: make([]map[uint64]struct{}, max(1, writers))}
	for w := range rig.sizes {
		rig.sizes[w] = map[uint64]struct{}{}
	}
	return rig, nil
}

// op appends the seq-th entry and checks that it got a receipt of its own.
func (r *appendRig) op(ctx context.Context, worker int, seq uint64) error {
	rc, err := r.log.Append(ctx, r.maker.entry(seq))
	if err != nil {
		return err
	}
	if rc.Existed || len(rc.Leaf) != leafSize {
		return fmt.Errorf("entry %d: unexpected receipt (existed %v, %d-byte leaf)", seq, rc.Existed, len(rc.Leaf))
	}
	size, err := checkpointSize(rc.Checkpoint)
	if err != nil || rc.Index >= size {
		return fmt.Errorf("entry %d: receipt checkpoint does not cover index %d: %v", seq, rc.Index, err)
	}
	r.sizes[worker][size] = struct{}{}
	return nil
}

// batches returns the number of distinct checkpoints the writers received,
// which is the number of batches their appends were committed in.
func (r *appendRig) batches() int {
	all := map[uint64]struct{}{}
	for _, m := range r.sizes {
		for s := range m {
			all[s] = struct{}{}
		}
	}
	return max(1, len(all))
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
	if errLog != nil {
		return errLog
	}
	return errStore
}
