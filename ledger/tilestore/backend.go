package tilestore

import (
	"context"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// Backend is the persistence layer under a tile [Store]: it keeps leaves,
// the leaf-hash index, the subject index, tiles, and the latest head with
// its signed checkpoint. The Store does all tree math, sequencing and
// deduplication; a Backend only stores and reads.
//
// Methods other than Commit MUST be safe for concurrent use with each other
// and with Commit. Commit is called by one goroutine at a time.
type Backend interface {
	// Commit MUST write everything in c atomically and durably: when it
	// returns nil, all of c survives a crash; when it returns an error or
	// the process dies during the call, either all of c or none of it is
	// visible after restart. Tiles in c replace stored tiles of the same ID.
	Commit(ctx context.Context, c *Commit) error

	// ReadHead returns the latest committed head and its signed checkpoint,
	// or an error wrapping ledger.ErrEmptyLog if nothing was committed.
	ReadHead(ctx context.Context) (ledger.TreeHead, []byte, error)

	// ReadLeaf returns the leaf bytes at index or an error wrapping
	// ledger.ErrNotFound. The caller does not modify the returned slice.
	ReadLeaf(ctx context.Context, index uint64) ([]byte, error)

	// ReadIndex returns the index of the leaf with the given leaf hash, or an
	// error wrapping ledger.ErrNotFound.
	ReadIndex(ctx context.Context, leafHash merkle.Hash) (uint64, error)

	// ReadTile returns the stored encoding (merkle.Tile.MarshalBinary) of a
	// tile, or an error wrapping ledger.ErrNotFound. The caller does not
	// modify the returned slice and may keep it.
	ReadTile(ctx context.Context, id merkle.TileID) ([]byte, error)

	// ScanSubject returns up to limit indices of leaves with the subject
	// tag, in increasing order, from index start on.
	ScanSubject(ctx context.Context, subject ledger.SubjectTag, start uint64, limit int) ([]uint64, error)

	// Close releases the backend.
	Close() error
}

// Commit is one atomic write: new leaves with their indices, the tiles
// they changed, and the new head with its signed checkpoint.
type Commit struct {
	Leaves     []IndexedLeaf
	Tiles      []*merkle.Tile
	Head       ledger.TreeHead
	Checkpoint []byte
}

// IndexedLeaf is a leaf with the index the Store assigned to it.
type IndexedLeaf struct {
	Index uint64
	ledger.Leaf
}
