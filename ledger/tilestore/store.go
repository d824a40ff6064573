// Package tilestore implements [ledger.Store] for any [Backend] that can
// write a batch atomically: it sequences leaves, deduplicates them exactly,
// extends the Merkle tree kept as C2SP tlog-tiles (package merkle), and
// serves proofs from a cache of tiles in front of the backend. The memory
// and Pebble stores are tilestore over their own backends.
//
// # Crash safety
//
// Every Add is one Backend.Commit: the leaves, their hash and subject index
// entries, the changed tiles and the signed checkpoint for the new head. The
// in-memory state (the tree's right edge, the tile cache, the published
// head) changes only after Commit returned nil, so a failed Add leaves the
// Store exactly as it was, and a crash leaves the backend at the last
// committed head. Open checks that the stored tiles reproduce the stored
// root before serving anything.
package tilestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// Config configures a Store.
type Config struct {
	// Backend persists the store. Required.
	Backend Backend
	// TileCacheSize is the number of full tiles kept in memory for proofs
	// (about 16 KiB each). Default 4096; the right edge is always kept.
	TileCacheSize int
	// DedupFilterSize is the size in bytes (rounded down to a power of
	// two) of the filter that answers, in memory, most dedup lookups of
	// leaves not in the log (see dedup.go); it does not grow with the log.
	// Zero means no filter: every lookup reads the backend's index, which
	// suits a backend that keeps its index in memory.
	DedupFilterSize int
	// Logger receives operational logs. Nil is silent.
	Logger *slog.Logger
}

// Store is a ledger.Store over a Backend.
type Store struct {
	backend Backend
	logger  *slog.Logger
	cache   *tileCache

	// writeMu serialises Add; it guards app, the dedup window (recent,
	// older and their bounds) and inBatch.
	writeMu sync.Mutex
	app     *merkle.Appender
	// recent maps the hashes of the leaves at indices >= recentFrom to
	// their index, and older those of the leaves in [olderFrom,
	// recentFrom), so that Add can deduplicate prechecked leaves without
	// reading the backend. Two generations: when recent reaches
	// recentLimit, it becomes older and the cleared older the new recent,
	// so that the window always covers the last recentLimit leaves, in
	// maps small enough to stay in the CPU's cache.
	recent, older         map[merkle.Hash]uint64
	recentFrom, olderFrom uint64
	// inBatch maps the hashes of the new leaves of the Add in progress to
	// their index; kept between Adds (cleared at the start of each) so
	// that an Add does not allocate and grow a map of its own.
	inBatch map[merkle.Hash]uint64
	// known filters the hashes of committed leaves (nil if none); it is
	// updated after each commit, before the new head is published, and
	// filled from the tiles by a goroutine that Open starts and Close
	// stops (stopFill, then wait for filled).
	known    *hashFilter
	stopFill context.CancelFunc
	filled   chan struct{}

	// edgeTiles are the tiles of the tree's right edge after the latest
	// commit (also in the cache, which always keeps them), which nearly
	// every proof of a new leaf reads: readHashes looks here before
	// taking the cache's lock. Stored before the head that needs them is
	// published.
	edgeTiles atomic.Pointer[[]*merkle.Tile]
	// state is the published head; it only moves forward, after a commit.
	state  atomic.Pointer[published]
	closed atomic.Bool
	// closeMu is held shared by every read and exclusively by Close, so
	// that the backend is never closed under a read.
	closeMu sync.RWMutex
	// release is closeMu.RUnlock, bound once at Open so that enter does
	// not allocate a method value for every read.
	release func()
}

type published struct {
	head       ledger.TreeHead
	checkpoint []byte
}

var (
	_ ledger.Store       = (*Store)(nil)
	_ ledger.Prechecker  = (*Store)(nil)
	_ ledger.BatchProver = (*Store)(nil)
)

// Open opens a Store over cfg.Backend, restoring the tree from the stored
// head and tiles. It fails with an error wrapping ledger.ErrCorrupt if the
// stored tiles do not reproduce the stored root, or if the stored
// checkpoint's body is not for the stored head (size and root).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Backend == nil {
		return nil, errors.New("tilestore: Config.Backend is nil")
	}
	if cfg.TileCacheSize <= 0 {
		cfg.TileCacheSize = 4096
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{backend: cfg.Backend, logger: logger, cache: newTileCache(cfg.TileCacheSize)}
	s.release = s.closeMu.RUnlock
	head, cp, err := cfg.Backend.ReadHead(ctx)
	switch {
	case errors.Is(err, ledger.ErrEmptyLog):
		head, cp = ledger.TreeHead{Root: merkle.EmptyRoot()}, nil
	case err != nil:
		return nil, fmt.Errorf("tilestore: reading head: %w", err)
	}
	app, err := merkle.NewAppender(head.Size, backendTiles{ctx: ctx, s: s})
	if err != nil {
		return nil, fmt.Errorf("%w: restoring tree of size %d: %w", ledger.ErrCorrupt, head.Size, err)
	}
	if got := app.Root(); got != head.Root {
		return nil, fmt.Errorf("%w: stored tiles give root %v for size %d, head says %v", ledger.ErrCorrupt, got, head.Size, head.Root)
	}
	if head.Size > 0 {
		// The checkpoint is served as is: its body must be for the head
		// the tiles were just checked against. (Its signature is checked
		// by whoever holds the log's key: ledger.Open, Check.)
		if err := checkpointFor(head, cp); err != nil {
			return nil, fmt.Errorf("%w: stored checkpoint: %w", ledger.ErrCorrupt, err)
		}
	}
	edge := app.EdgeTiles()
	for _, t := range edge {
		s.cache.put(t, true)
	}
	s.edgeTiles.Store(&edge)
	s.app = app
	s.startFill(ctx, cfg.DedupFilterSize, head.Size)
	s.recent, s.older = make(map[merkle.Hash]uint64), make(map[merkle.Hash]uint64)
	s.recentFrom, s.olderFrom = head.Size, head.Size
	s.state.Store(&published{head: head, checkpoint: cp})
	return s, nil
}

// checkpointFor checks that the body of the signed checkpoint cp is for
// head: it parses, and its size and root are the head's. It does not check
// the signature. Errors wrap ledger.ErrMalformed.
func checkpointFor(head ledger.TreeHead, cp []byte) error {
	c, err := ledger.ParseSignedCheckpoint(cp)
	if err != nil {
		return fmt.Errorf("checkpoint does not parse: %w", err)
	}
	if c.Size != head.Size || c.Root != head.Root {
		return fmt.Errorf("%w: checkpoint is for size %d root %v, head is size %d root %v",
			ledger.ErrMalformed, c.Size, c.Root, head.Size, head.Root)
	}
	return nil
}

// recentLimit is the size of a generation of the dedup window kept in
// memory (two generations: at most about 400 KiB, plus one batch). A leaf
// prechecked more than recentLimit leaves before its batch may be looked
// up in the backend instead: slower, as exact. (With a single map of 2^16
// leaves, cleared when full, the lookups missed the CPU's caches: 5% of
// the CPU of 256 writers appending to a memory store.)
const recentLimit = 1 << 12

// batchMapLimit is the largest inBatch map kept from one Add to the next:
// clearing a map costs its capacity, so one grown by an unusually large
// Add is dropped rather than cleared by every later one.
const batchMapLimit = 1 << 12

// Precheck implements ledger.Prechecker.
func (s *Store) Precheck(ctx context.Context, leafHash merkle.Hash) (uint64, bool, uint64, error) {
	release, err := s.enter()
	if err != nil {
		return 0, false, 0, err
	}
	defer release()
	// Read the published size first: every leaf below it is committed and
	// so visible to ReadIndex.
	size := s.state.Load().head.Size
	if !s.known.has(leafHash) {
		return 0, false, size, nil
	}
	idx, err := s.backend.ReadIndex(ctx, leafHash)
	switch {
	case err == nil && idx < size:
		if err := s.confirm(ctx, leafHash, idx); err != nil {
			return 0, false, 0, err
		}
		return idx, true, size, nil
	case err == nil || errors.Is(err, ledger.ErrNotFound):
		// An index at or above size is one of a commit not yet published.
		return 0, false, size, nil
	default:
		return 0, false, 0, err
	}
}

// confirm checks that the leaf at idx, as the tree holds it, has the hash
// the hash index gave idx for. A hash index record is not covered by the
// tree, so a tampered or misdirected one would otherwise make a duplicate
// append report another entry's index and receipt.
func (s *Store) confirm(ctx context.Context, leafHash merkle.Hash, idx uint64) error {
	leaf, err := s.verifiedLeaf(ctx, idx)
	if errors.Is(err, ledger.ErrNotFound) {
		return fmt.Errorf("%w: the hash index points a leaf hash to index %d, which holds no leaf", ledger.ErrCorrupt, idx)
	}
	if err != nil {
		return err
	}
	if merkle.HashLeaf(leaf) != leafHash {
		return fmt.Errorf("%w: the hash index points a leaf hash to index %d, which holds another leaf", ledger.ErrCorrupt, idx)
	}
	return nil
}

// lookup finds a leaf already in the log; called with writeMu held.
func (s *Store) lookup(ctx context.Context, l ledger.Leaf) (uint64, bool, error) {
	if l.AbsentBelow > 0 && l.AbsentBelow >= s.olderFrom {
		// The leaves at AbsentBelow and above are all in the window;
		// older holds none of them unless AbsentBelow < recentFrom.
		if idx, ok := s.recent[l.Hash]; ok {
			return idx, true, nil
		}
		if l.AbsentBelow < s.recentFrom {
			if idx, ok := s.older[l.Hash]; ok {
				return idx, true, nil
			}
		}
		return 0, false, nil
	}
	if !s.known.has(l.Hash) {
		return 0, false, nil
	}
	idx, err := s.backend.ReadIndex(ctx, l.Hash)
	switch {
	case err == nil:
		// Every commit is published under writeMu, so no index record
		// may point at or beyond the tree's size.
		if size := s.app.Size(); idx >= size {
			return 0, false, fmt.Errorf("%w: the hash index points a leaf hash to index %d, log size %d", ledger.ErrCorrupt, idx, size)
		}
		if err := s.confirm(ctx, l.Hash, idx); err != nil {
			return 0, false, fmt.Errorf("tilestore: dedup lookup: %w", err)
		}
		return idx, true, nil
	case errors.Is(err, ledger.ErrNotFound):
		return 0, false, nil
	default:
		return 0, false, fmt.Errorf("tilestore: dedup lookup: %w", err)
	}
}

// Head returns the latest committed tree head.
func (s *Store) Head() ledger.TreeHead { return s.state.Load().head }

// Add implements ledger.Store.
func (s *Store) Add(ctx context.Context, leaves []ledger.Leaf, sign ledger.SignFunc) (ledger.AddResult, error) {
	if s.closed.Load() {
		return ledger.AddResult{}, ledger.ErrClosed
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed.Load() {
		return ledger.AddResult{}, ledger.ErrClosed
	}
	res := ledger.AddResult{Indices: make([]uint64, len(leaves)), Existed: make([]bool, len(leaves))}
	size := s.app.Size()
	commit := &Commit{Leaves: make([]IndexedLeaf, 0, len(leaves))}
	hashes := make([]merkle.Hash, 0, len(leaves))
	if s.inBatch == nil || len(s.inBatch) > batchMapLimit {
		s.inBatch = make(map[merkle.Hash]uint64, len(leaves))
	}
	inBatch := s.inBatch
	clear(inBatch)
	for i, l := range leaves {
		if idx, ok := inBatch[l.Hash]; ok {
			res.Indices[i], res.Existed[i] = idx, true
			continue
		}
		idx, found, err := s.lookup(ctx, l)
		if err != nil {
			return ledger.AddResult{}, err
		}
		if found {
			res.Indices[i], res.Existed[i] = idx, true
			continue
		}
		idx = size + uint64(len(hashes))
		inBatch[l.Hash] = idx
		res.Indices[i] = idx
		hashes = append(hashes, l.Hash)
		commit.Leaves = append(commit.Leaves, IndexedLeaf{Index: idx, Leaf: l})
	}
	if len(hashes) == 0 {
		// Nothing new: the latest checkpoint covers every leaf.
		st := s.state.Load()
		res.Head, res.Checkpoint = st.head, st.checkpoint
		return res, nil
	}
	next := s.app.Clone()
	tiles := next.Append(hashes)
	commit.Tiles = make([]StoredTile, len(tiles))
	for i, t := range tiles {
		commit.Tiles[i] = StoredTile{ID: t.ID(), Data: EncodeTile(t)}
	}
	commit.Head = ledger.TreeHead{Size: next.Size(), Root: next.Root()}
	cp, err := sign(commit.Head)
	if err != nil {
		return ledger.AddResult{}, fmt.Errorf("tilestore: signing checkpoint: %w", err)
	}
	// Never store a checkpoint that Open would refuse.
	if err := checkpointFor(commit.Head, cp); err != nil {
		return ledger.AddResult{}, fmt.Errorf("tilestore: SignFunc: %w", err)
	}
	commit.Checkpoint = cp
	if err := s.backend.Commit(ctx, commit); err != nil {
		return ledger.AddResult{}, fmt.Errorf("tilestore: commit: %w", err)
	}
	s.app = next
	s.known.addLeaves(commit.Leaves)
	if len(s.recent) >= recentLimit {
		s.recent, s.older = s.older, s.recent
		if len(s.recent) > 2*recentLimit {
			// Grown by an unusually large batch: clearing costs its
			// capacity at every rotation, so drop it.
			s.recent = make(map[merkle.Hash]uint64)
		} else {
			clear(s.recent)
		}
		s.olderFrom, s.recentFrom = s.recentFrom, size
	}
	for _, l := range commit.Leaves {
		s.recent[l.Hash] = l.Index
	}
	for _, t := range tiles {
		s.cache.put(t, !t.Full())
	}
	edge := next.EdgeTiles()
	s.edgeTiles.Store(&edge)
	s.state.Store(&published{head: commit.Head, checkpoint: cp})
	res.Head, res.Checkpoint = commit.Head, cp
	return res, nil
}

// Checkpoint implements ledger.Store.
func (s *Store) Checkpoint(ctx context.Context) ([]byte, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	st := s.state.Load()
	if st.head.Size == 0 {
		return nil, ledger.ErrEmptyLog
	}
	return st.checkpoint, nil
}

// Leaf implements ledger.Store. The leaf is checked against its hash in the
// tree, so a tampered leaf is reported (ledger.ErrCorrupt), never served.
func (s *Store) Leaf(ctx context.Context, index uint64) ([]byte, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	if size := s.state.Load().head.Size; index >= size {
		return nil, fmt.Errorf("%w: index %d, log size %d", ledger.ErrNotFound, index, size)
	}
	return s.verifiedLeaf(ctx, index)
}

// verifiedLeaf reads the committed leaf at index and checks it against its
// hash in the tree.
func (s *Store) verifiedLeaf(ctx context.Context, index uint64) ([]byte, error) {
	leaf, err := s.backend.ReadLeaf(ctx, index)
	if err != nil {
		return nil, err
	}
	var want [1]merkle.Hash
	if err := s.readHashes(ctx, []merkle.NodeID{merkle.NewNodeID(0, index)}, want[:]); err != nil {
		return nil, err
	}
	if merkle.HashLeaf(leaf) != want[0] {
		return nil, fmt.Errorf("%w: leaf %d does not match its tree hash", ledger.ErrCorrupt, index)
	}
	return leaf, nil
}

// IndexOf implements ledger.Store.
func (s *Store) IndexOf(ctx context.Context, leafHash merkle.Hash) (uint64, error) {
	release, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer release()
	idx, err := s.backend.ReadIndex(ctx, leafHash)
	if err != nil {
		return 0, err
	}
	if idx >= s.state.Load().head.Size {
		return 0, fmt.Errorf("%w: leaf hash", ledger.ErrNotFound)
	}
	if err := s.confirm(ctx, leafHash, idx); err != nil {
		return 0, err
	}
	return idx, nil
}

// InclusionProof implements ledger.Store.
func (s *Store) InclusionProof(ctx context.Context, index, size uint64) ([]merkle.Hash, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	if err := s.checkSize(size); err != nil {
		return nil, err
	}
	if index >= size {
		return nil, fmt.Errorf("%w: index %d not below size %d", ledger.ErrNotFound, index, size)
	}
	return merkle.InclusionProof(index, size, s.hashReader(ctx))
}

// InclusionProofs implements ledger.BatchProver: the proofs of the leaves
// [first, first+count) in the tree of the given size, in one pass (see
// merkle.InclusionProofs).
func (s *Store) InclusionProofs(ctx context.Context, first, count, size uint64) ([][]merkle.Hash, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	if err := s.checkSize(size); err != nil {
		return nil, err
	}
	if first >= size || count > size-first {
		return nil, fmt.Errorf("%w: leaves [%d, +%d) not below size %d", ledger.ErrNotFound, first, count, size)
	}
	return merkle.InclusionProofs(first, count, size, s.hashReader(ctx))
}

// ConsistencyProof implements ledger.Store.
func (s *Store) ConsistencyProof(ctx context.Context, m, n uint64) ([]merkle.Hash, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	if err := s.checkSize(n); err != nil {
		return nil, err
	}
	if m == 0 || m > n {
		return nil, fmt.Errorf("%w: no consistency proof from size %d to %d", ledger.ErrNotFound, m, n)
	}
	return merkle.ConsistencyProof(m, n, s.hashReader(ctx))
}

// RootHash implements ledger.Store.
func (s *Store) RootHash(ctx context.Context, size uint64) (merkle.Hash, error) {
	release, err := s.enter()
	if err != nil {
		return merkle.Hash{}, err
	}
	defer release()
	if err := s.checkSize(size); err != nil {
		return merkle.Hash{}, err
	}
	return merkle.RootHash(size, s.hashReader(ctx))
}

// BySubject implements ledger.Store.
func (s *Store) BySubject(ctx context.Context, subject ledger.SubjectTag, start uint64, limit int) ([]uint64, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	size := s.state.Load().head.Size
	if limit <= 0 || start >= size {
		return nil, nil
	}
	// At most size-start leaves are at indices in [start, size): a larger
	// limit (up to math.MaxInt) is clamped so that no backend computes
	// with it.
	if uint64(limit) > size-start {
		limit = int(size - start)
	}
	idx, err := s.backend.ScanSubject(ctx, subject, start, limit)
	if err != nil {
		return nil, err
	}
	for i, x := range idx {
		if x >= size {
			return idx[:i], nil
		}
	}
	return idx, nil
}

// Close closes the store and its backend. It waits for reads and an Add
// in progress to finish; later calls fail with ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stopFill()
	<-s.filled
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.backend.Close()
}

// enter admits a read unless the store is closed; the read calls release
// when done. Close waits for admitted reads before closing the backend.
func (s *Store) enter() (release func(), err error) {
	s.closeMu.RLock()
	if s.closed.Load() {
		s.closeMu.RUnlock()
		return nil, ledger.ErrClosed
	}
	return s.release, nil
}

func (s *Store) checkSize(size uint64) error {
	if cur := s.state.Load().head.Size; size > cur {
		return fmt.Errorf("%w: tree size %d beyond log size %d", ledger.ErrNotFound, size, cur)
	}
	return nil
}
