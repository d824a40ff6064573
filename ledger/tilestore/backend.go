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

	// ReadTile returns the bytes stored for a tile by Commit, or an error
	// wrapping ledger.ErrNotFound. The caller does not modify the returned
	// slice and may keep it.
	ReadTile(ctx context.Context, id merkle.TileID) ([]byte, error)

	// ScanSubject returns up to limit indices of leaves with the subject
	// tag, in increasing order, from index start on. The Store calls it
	// only with 0 < limit <= size-start for the committed size, but a
	// backend MUST NOT overflow or panic on any start or limit.
	ScanSubject(ctx context.Context, subject ledger.SubjectTag, start uint64, limit int) ([]uint64, error)

	// ReadPayload returns the payload stored beside the leaf at index, an
	// error wrapping ledger.ErrNotFound if there is none, or a
	// *ledger.ErasedError if ErasePayloads deleted it.
	ReadPayload(ctx context.Context, index uint64) ([]byte, error)

	// ErasePayloads deletes the payloads at indices and records erasedBy
	// for each, atomically and durably; indices without a payload are
	// skipped. The Store checks the indices against the log first.
	ErasePayloads(ctx context.Context, indices []uint64, erasedBy uint64) error

	// Close releases the backend.
	Close() error
}

// Commit is one atomic write: new leaves with their indices, the tiles
// they changed, and the new head with its signed checkpoint.
type Commit struct {
	Leaves     []IndexedLeaf
	Tiles      []StoredTile
	Head       ledger.TreeHead
	Checkpoint []byte
}

// StoredTile is a tile as the backend stores it. Data replaces whatever was
// stored under ID; its format belongs to the Store (see EncodeTile).
type StoredTile struct {
	ID   merkle.TileID
	Data []byte
}

// EncodeTile returns the bytes a Store keeps for a tile. A full tile, which
// never changes again, is kept with its interior nodes
// (merkle.Tile.MarshalBinary, 16322 bytes) so that a proof reads any node in
// place. A partial tile, rewritten by every commit until it fills, is kept
// as its C2SP content only (32 bytes a hash), a quarter of the size; partial
// tiles are always in memory, so their interior is rebuilt only at Open.
// The two are told apart by length: only the first is not a multiple of 32.
func EncodeTile(t *merkle.Tile) []byte {
	if t.Full() {
		data, _ := t.MarshalBinary()
		return data
	}
	return t.C2SP()
}

// DecodeTile decodes bytes made by EncodeTile, checking every interior
// hash of a full tile.
func DecodeTile(id merkle.TileID, data []byte) (*merkle.Tile, error) {
	if len(data)%merkle.HashSize == 0 {
		return merkle.TileFromC2SP(id, data)
	}
	return merkle.UnmarshalTile(id, data)
}

// IndexedLeaf is a leaf with the index the Store assigned to it.
type IndexedLeaf struct {
	Index uint64
	ledger.Leaf
}
