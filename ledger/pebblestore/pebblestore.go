// Package pebblestore is the embedded durable [ledger.Store]: one directory
// holding a Pebble (github.com/cockroachdb/pebble/v2) database. It is the
// default for a ledger that runs in one process on one machine.
//
// Every append batch is one Pebble batch committed with a synchronous WAL
// write: the leaves, their hash and subject index keys, the changed tiles,
// and the new head with its signed checkpoint. Pebble applies a batch
// atomically, so after a crash the directory holds exactly the batches whose
// commit returned, plus possibly whole later ones, never part of one.
// Reopening the directory restores the log; Open checks that the stored
// tiles reproduce the stored root. [Store.Check] walks the whole store and
// reports every inconsistency it finds (a flipped byte in a leaf, a tile,
// an index or the checkpoint).
//
// # Memory
//
// Besides Pebble's caches, the store keeps the first 8 bytes of every leaf
// hash in memory (about 20 bytes an entry, so 200 MB for 10 million
// entries), read from the level-0 tiles at Open, so that deduplicating a
// new entry needs no disk read; and up to Config.TileCacheSize full tiles.
//
// # Key layout
//
//	'e' || index (8 bytes BE)              -> leaf bytes
//	'h' || leaf hash (32)                  -> index (8 bytes BE)
//	's' || subject tag (32) || index (8)   -> empty
//	't' || tile level (1) || tile index (8) -> tile (tilestore.EncodeTile)
//	'H'                                    -> tree size (8 BE) || root (32)
//	'C'                                    -> signed checkpoint note
package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

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
	opts := &pebble.Options{
		Cache:                       cache,
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		Logger:                      quietLogger{},
	}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		opts.Levels[i].BlockSize = 32 << 10
	}
	db, err := pebble.Open(cfg.Dir, opts)
	if err != nil {
		cache.Unref()
		return nil, fmt.Errorf("pebblestore: opening %s: %w", cfg.Dir, err)
	}
	b := &backend{db: db, cache: cache, sync: pebble.Sync}
	if cfg.NoSync {
		b.sync = pebble.NoSync
	}
	ts, err := tilestore.Open(ctx, tilestore.Config{Backend: b, TileCacheSize: cfg.TileCacheSize, Logger: cfg.Logger})
	if err != nil {
		b.Close()
		return nil, err
	}
	return &Store{Store: ts, b: b, dir: cfg.Dir}, nil
}

// quietLogger keeps Pebble's informational logging out of the caller's
// output; errors surface as returned errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebblestore: pebble fatal: "+format, args...))
}

const (
	prefixLeaf    = 'e'
	prefixHash    = 'h'
	prefixSubject = 's'
	prefixTile    = 't'
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

func subjectKey(s ledger.SubjectTag, index uint64) []byte {
	k := make([]byte, 41)
	k[0] = prefixSubject
	copy(k[1:], s[:])
	binary.BigEndian.PutUint64(k[33:], index)
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
	db    *pebble.DB
	cache *pebble.Cache // released by Close, after the database
	sync  *pebble.WriteOptions
}

func (b *backend) Commit(ctx context.Context, c *tilestore.Commit) error {
	batch := b.db.NewBatch()
	defer batch.Close()
	var idx [8]byte
	for _, l := range c.Leaves {
		binary.BigEndian.PutUint64(idx[:], l.Index)
		if err := errors.Join(
			batch.Set(leafKey(l.Index), l.Data, nil),
			batch.Set(hashKey(l.Hash), idx[:], nil),
			batch.Set(subjectKey(l.Subject, l.Index), nil, nil),
		); err != nil {
			return err
		}
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
	return batch.Commit(b.sync)
}

// get returns a copy of the value of key, or an error wrapping ErrNotFound.
func (b *backend) get(key []byte) ([]byte, error) {
	v, closer, err := b.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ledger.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("pebblestore: %w", err)
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
	v, closer, err := b.db.Get(hashKey(h))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, fmt.Errorf("%w: leaf hash", ledger.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("pebblestore: %w", err)
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
	lo := subjectKey(s, start)
	hi := subjectKey(s, ^uint64(0))
	hi = append(hi, 0)
	it, err := b.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("pebblestore: %w", err)
	}
	var out []uint64
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		k := it.Key()
		if len(k) != 41 {
			it.Close()
			return nil, fmt.Errorf("%w: subject index key of %d bytes", ledger.ErrCorrupt, len(k))
		}
		out = append(out, binary.BigEndian.Uint64(k[33:]))
	}
	return out, errors.Join(it.Error(), it.Close())
}

func (b *backend) Close() error {
	err := b.db.Close()
	b.cache.Unref()
	return err
}
