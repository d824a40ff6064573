package ledger

import (
	"context"
	"time"

	"github.com/healthledger/healthledger/merkle"
)

// Leaf is an encoded entry handed to a [Store].
type Leaf struct {
	// Data is the exact leaf: the entry's binary encoding.
	Data []byte
	// Hash is merkle.HashLeaf(Data). Stores use it to deduplicate.
	Hash merkle.Hash
	// Subject is the entry's subject tag, for the subject index.
	Subject SubjectTag
	// Payload, if not nil, is what the store keeps beside the leaf (the
	// payload's salt and data) for a version 2 entry. It is not part of
	// the leaf or of any hash the store computes. A duplicate leaf keeps
	// the payload stored first.
	Payload []byte
	// AbsentBelow, if not zero, says that the caller checked (with
	// [Prechecker.Precheck]) that no leaf with this hash is among the first
	// AbsentBelow leaves. A store MAY then look for duplicates among later
	// leaves only. Zero means unchecked.
	AbsentBelow uint64
}

// Prechecker is implemented by stores that can look a leaf hash up outside
// the sequencer. The Log calls Precheck in the appending goroutine, so the
// lookups of many appends run in parallel and the single sequencer only has
// to check the leaves committed since.
type Prechecker interface {
	// Precheck returns the index of the leaf with the given hash if it is
	// in the log. Otherwise it returns found == false and a size such that
	// no leaf with this hash is among the first size leaves.
	Precheck(ctx context.Context, leafHash merkle.Hash) (index uint64, found bool, size uint64, err error)
}

// BatchProver is implemented by stores that build the inclusion proofs of
// consecutive leaves in one call. The Log uses it to build the receipts of
// a committed batch at once, in its publisher goroutine, rather than with
// one [Store.InclusionProof] call per appending caller.
type BatchProver interface {
	// InclusionProofs returns the inclusion proofs of the count leaves
	// [first, first+count) in the tree of the given size: proofs[i] MUST
	// equal what InclusionProof(ctx, first+i, size) returns. It fails as
	// InclusionProof does for a size beyond the latest checkpoint or a
	// leaf not below size. The caller may keep the proofs; appending to
	// one MUST NOT change another.
	InclusionProofs(ctx context.Context, first, count, size uint64) ([][]merkle.Hash, error)
}

// BatchWaiter is implemented by stores whose [Store.Add] has a large cost
// per call, paid whatever the number of leaves, such as a store that waits
// for a remote sequencer's next run: there, an append that misses a batch
// pays that cost again, and a Log does better to hold a small batch back
// briefly for the appends on their way.
//
// When the store is a BatchWaiter, the Log's sequencer, before handing a
// batch to Add, waits up to BatchWait (give or take a quarter of a
// millisecond) for more of the Appends in progress to join it. It stops
// waiting as soon as the batch is full (MaxBatch) or holds every Append in
// progress, and never waits when one Append alone is in progress: so
// BatchWait bounds the latency the wait adds to an Append. Appends whose
// batch is committed and being published count as in progress (their
// callers append again once their receipts are out) only while the
// latest publish took less than BatchWait: with slow witnesses they could
// not join within the bound. Stores without the interface (the memory and
// Pebble stores) are never waited for.
type BatchWaiter interface {
	// BatchWait returns how long the Log may hold a batch back; zero or
	// negative means not at all. The Log calls it once per batch, in its
	// sequencer goroutine; it MUST be cheap and safe for concurrent use.
	BatchWait() time.Duration
}

// TreeHead is an unsigned tree state: a size and the root hash over the
// first Size leaves.
type TreeHead struct {
	Size uint64
	Root merkle.Hash
}

// SignFunc signs a tree head and returns the signed checkpoint note. A Store
// calls it inside [Store.Add] so that the checkpoint is written in the same
// atomic step as the leaves it covers.
type SignFunc func(TreeHead) ([]byte, error)

// AddResult is what [Store.Add] returns: for each leaf, in order, its index
// and an inclusion proof against Head, and the signed checkpoint for Head.
type AddResult struct {
	// Indices[i] is the index of leaves[i]: newly assigned, or the index at
	// which an identical leaf (same hash) was stored before.
	Indices []uint64
	// Existed[i] reports whether leaves[i] was already in the log.
	Existed []bool
	// Proofs[i] is the inclusion proof of Indices[i] in the tree of Head.Size.
	Proofs [][]merkle.Hash
	// Head is the tree head after the batch.
	Head TreeHead
	// Checkpoint is the signed note for Head, as returned by the SignFunc.
	Checkpoint []byte
}

// Store is the storage and sequencing backend of a [Log]. Implementations
// live in their own packages (ledger/memstore, ledger/pebblestore, ...) and
// pass the conformance suite in ledger/storetest.
//
// All methods MUST be safe for concurrent use. Add is called by one goroutine
// at a time per Log, but several Logs (frontends) MAY share a distributed
// store.
type Store interface {
	// Add integrates leaves into the tree in the given order, skipping any
	// leaf whose hash is already present (it reports the existing index), and
	// calls sign for the resulting tree head. When Add returns nil, the
	// leaves, every index of theirs and the signed checkpoint MUST be durable
	// and MUST have been made durable in one atomic step: after a crash,
	// either all of them are present or none is. When Add returns an error,
	// the store MUST be unchanged. If sign fails, Add fails and stores nothing.
	Add(ctx context.Context, leaves []Leaf, sign SignFunc) (AddResult, error)

	// Checkpoint returns the latest signed checkpoint, or ErrEmptyLog if no
	// leaf was ever added.
	Checkpoint(ctx context.Context) ([]byte, error)

	// Leaf returns the exact leaf bytes at index, or an error wrapping
	// ErrNotFound if index is not below the latest checkpoint's size.
	Leaf(ctx context.Context, index uint64) ([]byte, error)

	// IndexOf returns the index of the leaf with the given leaf hash, or an
	// error wrapping ErrNotFound.
	IndexOf(ctx context.Context, leafHash merkle.Hash) (uint64, error)

	// InclusionProof returns the proof that leaf index is in the tree of the
	// given size. It fails with ErrNotFound-wrapping errors if size exceeds
	// the latest checkpoint or index >= size.
	InclusionProof(ctx context.Context, index, size uint64) ([]merkle.Hash, error)

	// ConsistencyProof returns the proof that the tree of size m is a prefix
	// of the tree of size n, 0 < m <= n <= latest size.
	ConsistencyProof(ctx context.Context, m, n uint64) ([]merkle.Hash, error)

	// Payload returns what Add stored beside the leaf at index (Leaf.Payload),
	// an error wrapping ErrNotFound if the leaf has none or index is not in
	// the log, or an *ErasedError (wrapping ErrErased) if ErasePayloads
	// deleted it.
	Payload(ctx context.Context, index uint64) ([]byte, error)

	// ErasePayloads deletes the payloads of the leaves at indices, and
	// records for each that the entry at erasedBy erased it, in one atomic
	// and durable step. Indices without a payload, or already erased, are
	// skipped; an index or erasedBy not in the log fails with ErrNotFound
	// and erases nothing. A store SHOULD make sure the deleted bytes do
	// not survive in its files (compaction, log rotation) before returning.
	ErasePayloads(ctx context.Context, indices []uint64, erasedBy uint64) error

	// RootHash returns the root of the tree of the given size, at most the
	// latest checkpoint's size.
	RootHash(ctx context.Context, size uint64) (merkle.Hash, error)

	// BySubject returns up to limit indices of leaves with the given subject
	// tag, in increasing order, starting at index start (inclusive).
	BySubject(ctx context.Context, subject SubjectTag, start uint64, limit int) ([]uint64, error)

	// Tile returns the C2SP tlog-tiles content of a hash tile of the tree of
	// the latest checkpoint: the width hashes [256*index, 256*index+width)
	// of tree level 8*level, concatenated (32*width bytes). width MUST be 1
	// to 256 and at most merkle.TileWidthAt(size, id) for the latest size;
	// anything else, including arguments at the edges of their types, fails
	// with an error wrapping ErrNotFound. A full tile (width 256) never
	// changes. The caller MUST NOT modify the returned slice (a store may
	// return its own copy, to serve tiles without copying them).
	Tile(ctx context.Context, level uint8, index uint64, width int) ([]byte, error)

	// EntryBundle returns the leaves [256*index, 256*index+width) as a C2SP
	// tlog-tiles entry bundle (see EncodeEntryBundle), under the same rules
	// for width as Tile at level 0. A store MUST check the leaves against
	// its tree and fail with ErrCorrupt rather than serve a leaf whose hash
	// is not the tree's.
	EntryBundle(ctx context.Context, index uint64, width int) ([]byte, error)

	// Close releases the store. Calls after Close fail with ErrClosed.
	Close() error
}
