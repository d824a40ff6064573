package ledger_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

const (
	// proofLogSize is the size of the log the proof and verification
	// benchmarks read: 2^20 entries, so every proof has 20 hashes.
	proofLogSize = 1 << 20
	// proofLeafSize is the size of the entries of that log. Proof
	// generation reads only hash tiles, so the leaf size does not change
	// what is measured; smaller leaves make the log faster to build.
	proofLeafSize = 256
	// buildBatch is the number of leaves per Store.Add while building.
	buildBatch = 16 << 10
)

// proofLog is a log built once per benchmark process and then only read.
type proofLog struct {
	store ledger.Store
	log   *ledger.Log
	keys  logKeys
	maker *entryMaker
	size  uint64
}

// buildProofLog builds a log of size entries of proofLeafSize bytes in a
// new store of the given kind, adding them with Store.Add in batches of
// batch leaves (one signed checkpoint per batch, as a Log would write), and
// opens a Log over it.
func buildProofLog(ctx context.Context, kind, dir string, size uint64, batch int) (*proofLog, error) {
	keys, err := newLogKeys()
	if err != nil {
		return nil, err
	}
	maker, err := newEntryMaker(proofLeafSize)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, kind, dir)
	if err != nil {
		return nil, err
	}
	sign := func(h ledger.TreeHead) ([]byte, error) {
		return ledger.SignCheckpoint(keys.signer, ledger.Checkpoint{Origin: origin, Size: h.Size, Root: h.Root}, time.Now())
	}
	leaves := make([]ledger.Leaf, 0, batch)
	for start := uint64(0); start < size; start += uint64(len(leaves)) {
		leaves = leaves[:0]
		for seq := start; seq < size && len(leaves) < batch; seq++ {
			e := maker.entry(seq)
			data, err := e.MarshalBinary()
			if err != nil {
				store.Close()
				return nil, err
			}
			leaves = append(leaves, ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: e.Subject})
		}
		if _, err := store.Add(ctx, leaves, sign); err != nil {
			store.Close()
			return nil, fmt.Errorf("adding leaves %d..: %w", start, err)
		}
	}
	l, err := openLog(ctx, store, keys)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &proofLog{store: store, log: l, keys: keys, maker: maker, size: size}, nil
}

func (p *proofLog) close() {
	p.log.Close()
	p.store.Close()
}

// spread maps seq to an index of a log of the given size, visiting the
// indices in a scattered order (multiplication by an odd constant).
func spread(seq, size uint64) uint64 { return (seq * 0x9e3779b97f4a7c15) % size }

// sharedLog is a proof log built on first use and closed by TestMain.
type sharedLog struct {
	once sync.Once
	dir  string
	log  *proofLog
	err  error
}

// sharedLogs holds the benchmark process's 2^20-entry logs by store kind.
// The map itself is never modified; each entry builds itself once.
var sharedLogs = map[string]*sharedLog{"mem": {}, "pebble": {}}

// sharedProofLog returns the 2^20-entry log on the given store kind,
// building it on first use (outside the benchmark timer).
func sharedProofLog(b *testing.B, kind string) *proofLog {
	b.Helper()
	s := sharedLogs[kind]
	s.once.Do(func() {
		b.StopTimer()
		defer b.StartTimer()
		s.dir, s.err = os.MkdirTemp("", "healthledger-bench-"+kind+"-")
		if s.err != nil {
			return
		}
		start := time.Now()
		s.log, s.err = buildProofLog(context.Background(), kind, s.dir, proofLogSize, buildBatch)
		b.Logf("built the %d-entry %s log in %v", proofLogSize, kind, time.Since(start).Round(time.Millisecond))
	})
	if s.err != nil {
		b.Fatalf("building the %s proof log: %v", kind, s.err)
	}
	return s.log
}

// closeSharedLogs closes and removes every shared log that was built.
func closeSharedLogs() {
	for _, s := range sharedLogs {
		if s.log != nil {
			s.log.close()
		}
		if s.dir != "" {
			os.RemoveAll(s.dir)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	closeSharedLogs()
	removeSharedErasureLog()
	os.Exit(code)
}
