package tilestore

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// Deduplication (Precheck and lookup) is exact: a leaf hash is looked up in
// the backend's hash index (Backend.ReadIndex), and a record found there is
// confirmed against the tree before its index is returned. Most appends are
// of new leaves, whose lookup finds nothing; a hashFilter in front of the
// index answers most of those in memory, so that they cost no backend read.
//
// The filter has a fixed size (Config.DedupFilterSize), so the memory
// dedup takes does not grow with the log: as the log grows, more lookups
// pass the filter and go to the backend, which answers them exactly
// (Pebble from its own bloom filters), and nothing else changes. It is
// filled at Open in the background, from the level-0 tiles, which hold
// every leaf hash; until it is full every lookup goes to the backend, so
// Open does not wait for it.

// Filter parameters: a blocked Bloom filter, one 512-bit block (a cache
// line) per hash, filterBits bits set in it.
const (
	blockWords = 8
	filterBits = 4
	// minFilterSize is the smallest filter, in bytes: one block.
	minFilterSize = blockWords * 8
)

// hashFilter is a Bloom filter of the leaf hashes of a log, safe for
// concurrent adds and lookups. It has no false negatives: a hash added is
// always reported as maybe present.
type hashFilter struct {
	words []atomic.Uint64
	mask  uint64 // number of blocks - 1, a power of two minus one
	// ready is set once every leaf of the log has been added: before, has
	// reports every hash as maybe present.
	ready atomic.Bool
}

// newHashFilter returns a filter of size bytes, rounded down to a power of
// two, or nil (no filter: every lookup reads the backend) if size is below
// minFilterSize.
func newHashFilter(size int) *hashFilter {
	if size < minFilterSize {
		return nil
	}
	blocks := uint64(1) << (bits.Len64(uint64(size/minFilterSize)) - 1)
	return &hashFilter{words: make([]atomic.Uint64, blocks*blockWords), mask: blocks - 1}
}

// slots returns the block of h and the positions of its bits in it. Leaf
// hashes are SHA-256 outputs, so their bytes are used as they are: the
// first 8 choose the block, the next 8 the bits (9 bits each).
func (f *hashFilter) slots(h merkle.Hash) (block []atomic.Uint64, pos uint64) {
	b := binary.LittleEndian.Uint64(h[0:8]) & f.mask
	return f.words[b*blockWords : (b+1)*blockWords], binary.LittleEndian.Uint64(h[8:16])
}

func (f *hashFilter) add(h merkle.Hash) {
	block, pos := f.slots(h)
	for range filterBits {
		p := pos & 511
		block[p>>6].Or(1 << (p & 63))
		pos >>= 9
	}
}

// has reports whether h may be in the log: false only if it is certainly
// not (the filter is ready and a bit of h is clear). A nil filter has
// every hash.
func (f *hashFilter) has(h merkle.Hash) bool {
	if f == nil || !f.ready.Load() {
		return true
	}
	block, pos := f.slots(h)
	for range filterBits {
		p := pos & 511
		if block[p>>6].Load()&(1<<(p&63)) == 0 {
			return false
		}
		pos >>= 9
	}
	return true
}

// addLeaves adds the hashes of committed leaves. The Store calls it after
// each commit, before it publishes the new head.
func (f *hashFilter) addLeaves(ls []IndexedLeaf) {
	if f == nil {
		return
	}
	for _, l := range ls {
		f.add(l.Hash)
	}
}

// fillFilter adds the leaf hashes of the first size leaves to s.known,
// from the bottom rows of the level-0 tiles (each read and validated as
// Open validates the right edge), then marks it ready. It runs in its own
// goroutine from Open until it is done, or Close cancels ctx; it closes
// done when it returns. A tile it cannot read (corruption, which Check
// reports) leaves the filter unready, so that every lookup keeps going to
// the backend: slower, still exact.
func (s *Store) fillFilter(ctx context.Context, size uint64, done chan<- struct{}) {
	defer close(done)
	start := time.Now()
	for idx := uint64(0); idx*merkle.TileWidth < size; idx++ {
		if err := s.fillFromTile(ctx, idx, size); err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("tilestore: dedup filter not filled; every dedup lookup reads the backend",
					slog.Uint64("tile", idx), slog.Any("error", err))
			}
			return
		}
	}
	s.known.setReady()
	s.logger.Debug("tilestore: dedup filter filled", slog.Uint64("leaves", size), slog.Duration("took", time.Since(start)))
}

// fillFromTile adds the leaf hashes of level-0 tile idx of a tree of size.
func (s *Store) fillFromTile(ctx context.Context, idx, size uint64) error {
	release, err := s.enter()
	if err != nil {
		return err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return err
	}
	w := int(min(size-idx*merkle.TileWidth, merkle.TileWidth))
	t, err := backendTiles{ctx: ctx, s: s}.ReadTile(merkle.TileID{Level: 0, Index: idx}, w)
	if err != nil {
		return err
	}
	row := t.Bottom()
	if len(row) < w {
		return errShortTile
	}
	for _, h := range row[:w] {
		s.known.add(h)
	}
	return nil
}

var errShortTile = fmt.Errorf("%w: a level-0 tile is narrower than the tree says", ledger.ErrCorrupt)

// startFill sets up s.known for a log of size leaves and, if it has a
// filter and leaves, starts filling it (fillFilter).
func (s *Store) startFill(ctx context.Context, filterSize int, size uint64) {
	s.known = newHashFilter(filterSize)
	s.filled = make(chan struct{})
	if s.known == nil || size == 0 {
		s.known.setReady()
		s.stopFill = func() {}
		close(s.filled)
		return
	}
	ctx, s.stopFill = context.WithCancel(context.WithoutCancel(ctx))
	go s.fillFilter(ctx, size, s.filled)
}

func (f *hashFilter) setReady() {
	if f != nil {
		f.ready.Store(true)
	}
}
