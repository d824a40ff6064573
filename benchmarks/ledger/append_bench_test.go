package ledger_test

import (
	"context"
	"fmt"
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
	rig, err := newAppendRig(ctx, kind, b.TempDir())
	fatalIf(b, err)
	defer rig.close()
	b.SetBytes(leafSize)
	loadgen.Run(ctx, b, writers, "entries/s", rig.op)
}

// appendRig is a fresh log and the append operation of the benchmark.
type appendRig struct {
	store ledger.Store
	log   *ledger.Log
	maker *entryMaker
}

func newAppendRig(ctx context.Context, kind, dir string) (*appendRig, error) {
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
	return &appendRig{store: store, log: l, maker: maker}, nil
}

// op appends the seq-th entry and checks that it got a receipt of its own.
func (r *appendRig) op(ctx context.Context, _ int, seq uint64) error {
	rc, err := r.log.Append(ctx, r.maker.entry(seq))
	if err != nil {
		return err
	}
	if rc.Existed || len(rc.Checkpoint) == 0 || len(rc.Leaf) != leafSize {
		return fmt.Errorf("entry %d: unexpected receipt (existed %v, %d-byte leaf)", seq, rc.Existed, len(rc.Leaf))
	}
	return nil
}

func (r *appendRig) close() error {
	errLog := r.log.Close()
	errStore := r.store.Close()
	if errLog != nil {
		return errLog
	}
	return errStore
}
