// Package pebblestore is the embedded durable [ledger.Store]: one directory
// holding a Pebble (github.com/cockroachdb/pebble/v2) database. It is the
// default for a ledger that runs in one process on one machine.
//
// Every append batch is one Pebble batch committed with a synchronous WAL
// write: the leaves and their payloads, the changed tiles, and the new head
// with its signed checkpoint. Pebble applies a batch atomically, so after a
// crash the directory holds exactly the batches whose commit returned, plus
// possibly whole later ones, never part of one. The hash and subject index
// records of the leaves are written later, many batches at once (see
// "Index").
// Reopening the directory restores the log; Open checks that the stored
// tiles reproduce the stored root. [Store.Check] walks the whole store and
// reports every inconsistency it finds (a flipped byte in a leaf, a tile,
// an index or the checkpoint).
//
// # Corruption
//
// A damaged directory (a flipped bit in a table, the WAL or the MANIFEST)
// must surface as an error wrapping ledger.ErrCorrupt, never as a panic or
// an exit of the embedding process. Pebble reports on-disk corruption
// through EventListener.DataCorruption, whose default calls the logger's
// Fatalf (os.Exit by default), from whichever goroutine met it, a
// compaction included. The store installs its own hooks instead:
//
//   - DataCorruption records the corruption and logs it; the read or
//     compaction that met it fails with Pebble's corruption error, which
//     the store's reads wrap in ledger.ErrCorrupt. A compaction that meets
//     it fails and is retried later by Pebble; the process lives on.
//   - BackgroundError (flushes, compactions, table statistics) is logged,
//     and recorded when it is corruption.
//   - Logger.Fatalf, which Pebble calls for a failed WAL or MANIFEST write
//     or sync and for broken internal invariants, records the failure and
//     returns, as Pebble's own no-op logger does.
//
// Once Pebble has reported corruption or a fatal error, every commit fails
// (ErrCorrupt, or ErrPebbleFailed): the store fails closed rather than
// extend a damaged log. Reads go on; each is checked against the tree as
// always. The remedy is to close the store, run Check, and restore the
// directory from a backup or a mirror.
//
// Open fails with ErrCorrupt when Pebble's Open reports corruption (a bad
// MANIFEST record, a WAL chunk proven corrupt), when the MANIFEST names a
// table the directory lacks, when Pebble reports corruption while opening,
// or when a block the store reads at Open (the head, the checkpoint and
// the tree's right edge) fails its checksum. Other blocks (leaves, index
// records, full tiles) are checked by the read that meets them, and all of
// them by Check. A full level-0 tile is also read soon after Open, by the
// goroutine that fills the dedup filter (see "Memory"): one that fails its
// checksum or does not decode is logged (Config.Logger, a warning), and
// leaves the filter unfilled, so that dedup reads Pebble for every entry,
// exactly as before; Check reports it.
//
// What remains, precisely:
//
//   - WAL damage can lose acknowledged entries without an error. Pebble
//     reads the last WAL up to its first bad chunk and takes the rest for
//     the torn tail of a crash, unless a later chunk records that the
//     damaged one had been synced. The store writes WALs in the format that
//     records it (FormatWALSyncChunks), but with Pebble v2.1.7 the synced
//     offsets in the chunks lag far behind the real ones, so in practice
//     only damage near the start of a WAL is proven; and damage in the last
//     batch of a WAL is indistinguishable from a torn write in any format.
//     The store then opens consistent but smaller than what was
//     acknowledged. Only a checkpoint kept outside the directory can tell:
//     a ledger.Log refuses such a store (ledger.ErrRollback) with its
//     checkpoint guard.
//   - MANIFEST damage: Pebble reads a MANIFEST up to its first bad record.
//     If the tables of the lost edits are gone (the usual case) Open fails
//     with ErrCorrupt; if they are still there, the store opens an older
//     state, which the checkpoint guard refuses.
//   - After Fatalf returns, Pebble's state is unknown: the store refuses
//     commits, but reads and Close may fail or, if Pebble trips over its
//     own state, panic. Panics inside Pebble are not recovered: one raised
//     while Pebble holds a lock would leave it held, and every later call
//     would hang.
//   - Each read of a damaged block costs Pebble up to about a second of
//     CPU (it tries every single-bit flip to name the damaged bit), which
//     is why Check stops at the first read that fails.
//
// # Memory
//
// The store's memory does not grow with the log. It is bounded by:
//
//   - Pebble's block cache (Config.CacheSize, default 64 MiB) and its
//     memtables (64 MiB each, at most 4 before writes stall);
//   - up to Config.TileCacheSize full tiles (default 4096, about 64 MiB)
//     and the tree's right edge;
//   - the index records of at most two generations of leaves (see
//     "Index"): 68 bytes a leaf plus 1 MiB of tables, about 11 MiB, more
//     only while a rebuild or a slow disk lets more leaves wait;
//   - the dedup filter (Config.DedupFilterSize, default 64 MiB): a Bloom
//     filter of the leaf hashes, so that deduplicating a new entry (the
//     common case) needs no Pebble read. Its size is fixed: at 10 million
//     entries (54 bits each) about 3 in 100,000 lookups of a new entry pass
//     it, at 100 million (5.4 bits each) about 8 in 100. A lookup that
//     passes it, or any lookup while it is being filled, is a Pebble Get
//     of the hash index key, answered from the bloom filters of the tables
//     (10 bits a key) and the memtables, without reading a data block
//     unless the key is there: 2-3 microseconds of CPU on a compacted
//     store, more while memtables and level-0 tables fill, against about
//     17 for a whole append. Dedup is exact either way.
//
// Open does not read the log: it reads the head, the checkpoint, the
// tree's right edge and the leaves after the index watermark (at most
// about two generations, see "Index"), so it takes the same time at any
// size. The filter is
// filled after Open, in the background, from the level-0 tiles (each
// decoded and checked as Open checks the edge; about a second of one core
// per million entries); until it is full every dedup lookup is a Pebble
// Get. The scale benchmark (benchmarks/scale) measures all of this by
// decade of the log's size.
//
// # Index
//
// The hash index (leaf hash -> index: dedup, IndexOf) and the subject index
// (BySubject) are derived data: the level-0 tiles hold every leaf hash and
// the leaves name their subjects. Writing their records with each batch put
// two keys per leaf at random places in Pebble's memtable, the largest
// cost of an append after the disk. The store keeps the records of recent
// leaves in memory instead, in generations of 64Ki leaves, and writes a
// full generation to Pebble in one sorted batch, in the background and
// without a sync of its own, together with the watermark W: every leaf
// below W has its records in Pebble. Reads consult Pebble below W and
// memory from W on, so a lookup never misses a committed leaf.
//
// A crash loses at most the records in memory, never a leaf: Open reads W
// and rebuilds the records of the leaves from W to the head, each hash
// from its level-0 tile (the tree's own record of it, so a damaged leaf
// cannot hide from dedup) and each subject from the leaf (at most about
// two generations: 128Ki leaves, a fraction of a second). Close writes
// what is in memory, synced, so a clean reopen rebuilds nothing. W is
// checked at Open: beyond the tree it is corruption (ErrCorrupt); lowered
// it costs a longer rebuild; raised, the records it skips are missing and
// Check reports each leaf (hash-index, subject-index). A directory from
// before this layout has every record in Pebble and no W: Open sets W to
// the tree size.
//
// # Erasure
//
// ErasePayloads deletes the payloads in one synced batch with a record of
// the erasure per index, flushes, compacts the payload key range so that
// every table is rewritten without them, and closes and reopens the
// database: Pebble keeps obsolete write-ahead logs to reuse them (a reused
// log is overwritten only as far as new writes reach) and deletes them only
// when it opens, so without the reopen erased bytes stay in those files
// (TestErasedPayloadsLeaveNoBytesOnDisk). Reads and commits wait for the
// erasure. Not reached: file system journals and snapshots, SSD blocks the
// drive remapped, backups, and the checkpoint guard (which holds no
// payload). Seal payloads, so that destroying the subject's key makes any
// such copy unreadable.
//
// # Key layout
//
//	'e' || index (8 bytes BE)              -> leaf bytes
//	'p' || index (8 bytes BE)              -> payload (salt || data)
//	'x' || index (8 bytes BE)              -> erased by (index, 8 bytes BE)
//	'h' || leaf hash (32)                  -> index (8 bytes BE)
//	's' || subject tag (32) || index (8)   -> empty
//	't' || tile level (1) || tile index (8) -> tile (tilestore.EncodeTile)
//	'W'                                    -> index watermark (8 BE)
//	'H'                                    -> tree size (8 BE) || root (32)
//	'C'                                    -> signed checkpoint note
package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"github.com/healthledger/healthledger/merkle"
)

// Config configures a Store.
type Config struct {
	// Dir is the database directory, created if missing. Required.
	Dir string
	// CacheSize is Pebble's block cache size in bytes. Default 64 MiB.
	CacheSize int64
	// TileCacheSize is the number of full tiles kept decoded in memory.
	// Default 4096 (about 64 MiB).
	TileCacheSize int
	// DedupFilterSize is the size in bytes of the in-memory filter that
	// answers most dedup lookups of new entries without a Pebble read (see
	// "Memory"). Default 64 MiB; negative means none.
	DedupFilterSize int
	// NoSync skips the fsync of each commit. Only for tests and benchmarks
	// that measure everything but the disk: a crash may then lose acknowledged
	// appends (never corrupt the store).
	NoSync bool
	// Logger receives operational logs. Nil is silent.
	Logger *slog.Logger
}

// Store is the Pebble-backed ledger.Store. It is safe for concurrent use.
type Store struct {
	*tilestore.Store
	b   *backend
	dir string
}

var _ ledger.Store = (*Store)(nil)

// Open opens (or creates) the store in cfg.Dir.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: pebblestore: Config.Dir is empty", ledger.ErrInvalidConfig)
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 64 << 20
	}
	// The store keeps its reference to the cache until Close.
	cache := pebble.NewCache(cfg.CacheSize)
	h := newHealth(cfg.Logger)
	opts := &pebble.Options{
		Cache:                       cache,
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		// WAL chunks carry the offset synced so far, so that a corrupt
		// chunk followed by synced data is reported as corruption instead
		// of being taken for a torn tail (which drops the rest of the WAL).
		// An older directory is upgraded at Open.
		FormatMajorVersion: pebble.FormatWALSyncChunks,
		Logger:             h,
		EventListener:      h.eventListener(),
	}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		opts.Levels[i].BlockSize = 32 << 10
	}
	db, err := openDB(cfg.Dir, opts)
	if err == nil {
		// Corruption or a fatal error Pebble reported while opening
		// (replaying the WAL, flushing it) fails Open too.
		if err = h.err(); err != nil {
			db.Close()
		}
	}
	if err != nil {
		cache.Unref()
		return nil, fmt.Errorf("pebblestore: opening %s: %w", cfg.Dir, err)
	}
	b := &backend{db: db, dir: cfg.Dir, opts: opts, cache: cache, sync: pebble.Sync, health: h}
	if cfg.NoSync {
		b.sync = pebble.NoSync
	}
	head, _, err := b.ReadHead(ctx)
	if err != nil && !errors.Is(err, ledger.ErrEmptyLog) {
		b.Close()
		return nil, fmt.Errorf("pebblestore: opening %s: %w", cfg.Dir, err)
	}
	if err := b.openIndex(ctx, head.Size); err != nil {
		b.Close()
		return nil, fmt.Errorf("pebblestore: opening %s: %w", cfg.Dir, err)
	}
	ts, err := tilestore.Open(ctx, tilestore.Config{Backend: b, TileCacheSize: cfg.TileCacheSize,
		DedupFilterSize: dedupFilterSize(cfg.DedupFilterSize), Logger: cfg.Logger})
	if err != nil {
		b.Close()
		return nil, err
	}
	return &Store{Store: ts, b: b, dir: cfg.Dir}, nil
}

// dedupFilterSize maps Config.DedupFilterSize to tilestore's.
func dedupFilterSize(n int) int {
	switch {
	case n == 0:
		return 64 << 20
	case n < 0:
		return 0
	}
	return n
}

// openDB opens the Pebble database. An error Pebble marks as corruption,
// or a table the MANIFEST names that is not in the directory, wraps
// ledger.ErrCorrupt.
func openDB(dir string, opts *pebble.Options) (*pebble.DB, error) {
	db, err := pebble.Open(dir, opts)
	switch {
	case err == nil:
		return db, nil
	case pebble.IsCorruptionError(err):
		return nil, fmt.Errorf("%w: %w", ledger.ErrCorrupt, err)
	case errors.Is(err, fs.ErrNotExist) && dirExists(dir):
		// The directory is there but a file its MANIFEST names is not:
		// lost, or named by a damaged MANIFEST (Pebble reads a MANIFEST up
		// to its first bad record, so a damaged one can name tables
		// already deleted).
		return nil, fmt.Errorf("%w: %w", ledger.ErrCorrupt, err)
	}
	return nil, err
}

func dirExists(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

const (
	prefixLeaf    = 'e'
	prefixHash    = 'h'
	prefixSubject = 's'
	prefixTile    = 't'
	prefixPayload = 'p' // payload beside the leaf, by index
	prefixErased  = 'x' // erased payload: index -> erasure entry index
	keyHead       = 'H'
	keyCheckpoint = 'C'
)

func leafKey(index uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixLeaf
	binary.BigEndian.PutUint64(k[1:], index)
	return k
}

func hashKey(h merkle.Hash) []byte { return append([]byte{prefixHash}, h[:]...) }

// errHashNotFound is ReadIndex's answer for a leaf hash not in the index.
var errHashNotFound = fmt.Errorf("%w: leaf hash", ledger.ErrNotFound)

func subjectKey(s ledger.SubjectTag, index uint64) []byte {
	k := make([]byte, 41)
	k[0] = prefixSubject
	copy(k[1:], s[:])
	binary.BigEndian.PutUint64(k[33:], index)
	return k
}

func indexKey(prefix byte, index uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], index)
	return k
}

func tileKey(id merkle.TileID) []byte {
	k := make([]byte, 10)
	k[0] = prefixTile
	k[1] = id.Level
	binary.BigEndian.PutUint64(k[2:], id.Index)
	return k
}

type backend struct {
	// dbMu guards db: every call holds it for reading; an erasure holds it
	// for writing while it closes and reopens the database (see
	// ErasePayloads).
	dbMu   sync.RWMutex
	db     *pebble.DB
	dir    string
	opts   *pebble.Options
	cache  *pebble.Cache // released by Close, after the database
	sync   *pebble.WriteOptions
	health *health
	idx    *memIndex // set by openIndex, during Open
}

// setLeaves adds the keys of the leaves to batch in key order: the leaves,
// then their payloads. Pebble inserts a batch into its memtable (a skiplist) in batch order and
// starts the search for each key at the place of the previous one, so
// keys in order are cheaper to insert than keys interleaved by leaf.
func setLeaves(batch *pebble.Batch, leaves []tilestore.IndexedLeaf) error {
	var key [1 + 32 + 8]byte
	for _, l := range leaves {
		if err := batch.Set(putIndexKey(key[:], prefixLeaf, l.Index), l.Data, nil); err != nil {
			return err
		}
	}
	for _, l := range leaves {
		if l.Payload == nil {
			continue
		}
		if err := batch.Set(putIndexKey(key[:], prefixPayload, l.Index), l.Payload, nil); err != nil {
			return err
		}
	}
	return nil
}

// putIndexKey writes prefix || index (8 bytes BE) into buf and returns it.
func putIndexKey(buf []byte, prefix byte, index uint64) []byte {
	buf[0] = prefix
	binary.BigEndian.PutUint64(buf[1:9], index)
	return buf[:9]
}

func (b *backend) Commit(ctx context.Context, c *tilestore.Commit) error {
	// A store Pebble reported corrupt or failed takes no more writes.
	if err := b.health.err(); err != nil {
		return err
	}
	b.dbMu.RLock()
	defer b.dbMu.RUnlock()
	if b.db == nil {
		return b.health.err()
	}
	if err := b.checkContiguous(c.Leaves); err != nil {
		return err
	}
	batch := b.db.NewBatch()
	defer batch.Close()
	if err := setLeaves(batch, c.Leaves); err != nil {
		return err
	}
	for _, t := range c.Tiles {
		if err := batch.Set(tileKey(t.ID), t.Data, nil); err != nil {
			return err
		}
	}
	head := make([]byte, 8+merkle.HashSize)
	binary.BigEndian.PutUint64(head, c.Head.Size)
	copy(head[8:], c.Head.Root[:])
	if err := errors.Join(
		batch.Set([]byte{keyHead}, head, nil),
		batch.Set([]byte{keyCheckpoint}, c.Checkpoint, nil),
	); err != nil {
		return err
	}
	if err := batch.Commit(b.sync); err != nil {
		return wrap(err)
	}
	// Pebble returns nil from a commit whose WAL write failed once its
	// Fatalf returns; health has recorded it.
	if err := b.health.err(); err != nil {
		return err
	}
	b.addToIndex(c.Leaves)
	return nil
}

// get returns a copy of the value of key, or an error wrapping ErrNotFound.
func (b *backend) get(key []byte) ([]byte, error) {
	b.dbMu.RLock()
	defer b.dbMu.RUnlock()
	if b.db == nil {
		return nil, b.health.err()
	}
	v, closer, err := b.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ledger.ErrNotFound
	}
	if err != nil {
		return nil, wrap(err)
	}
	out := append([]byte(nil), v...)
	return out, closer.Close()
}

func (b *backend) ReadHead(ctx context.Context) (ledger.TreeHead, []byte, error) {
	head, err := b.get([]byte{keyHead})
	if errors.Is(err, ledger.ErrNotFound) {
		return ledger.TreeHead{}, nil, ledger.ErrEmptyLog
	}
	if err != nil {
		return ledger.TreeHead{}, nil, err
	}
	if len(head) != 8+merkle.HashSize {
		return ledger.TreeHead{}, nil, fmt.Errorf("%w: head record of %d bytes", ledger.ErrCorrupt, len(head))
	}
	h := ledger.TreeHead{Size: binary.BigEndian.Uint64(head)}
	copy(h.Root[:], head[8:])
	cp, err := b.get([]byte{keyCheckpoint})
	if err != nil {
		return ledger.TreeHead{}, nil, fmt.Errorf("%w: head without checkpoint: %w", ledger.ErrCorrupt, err)
	}
	return h, cp, nil
}

func (b *backend) ReadLeaf(ctx context.Context, index uint64) ([]byte, error) {
	v, err := b.get(leafKey(index))
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("%w: leaf %d", ledger.ErrNotFound, index)
	}
	return v, err
}

func (b *backend) ReadIndex(ctx context.Context, h merkle.Hash) (uint64, error) {
	if i, ok := b.idx.lookup(h); ok {
		return i, nil
	}
	b.dbMu.RLock()
	defer b.dbMu.RUnlock()
	if b.db == nil {
		return 0, b.health.err()
	}
	v, closer, err := b.db.Get(hashKey(h))
	if errors.Is(err, pebble.ErrNotFound) {
		// The common case of every append (tilestore's dedup): no
		// formatting, no allocation.
		return 0, errHashNotFound
	}
	if err != nil {
		return 0, wrap(err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: hash index record of %d bytes", ledger.ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func (b *backend) ReadTile(ctx context.Context, id merkle.TileID) ([]byte, error) {
	v, err := b.get(tileKey(id))
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("%w: tile %v", ledger.ErrNotFound, id)
	}
	return v, err
}

func (b *backend) ScanSubject(ctx context.Context, s ledger.SubjectTag, start uint64, limit int) ([]uint64, error) {
	b.dbMu.RLock()
	defer b.dbMu.RUnlock()
	if b.db == nil {
		return nil, b.health.err()
	}
	return b.scanSubject(ctx, s, start, limit)
}

func (b *backend) Close() error {
	errIndex := b.closeIndex()
	b.dbMu.Lock()
	defer b.dbMu.Unlock()
	if b.db == nil {
		b.cache.Unref()
		return errIndex
	}
	err := b.db.Close()
	b.cache.Unref()
	return errors.Join(errIndex, err)
}
