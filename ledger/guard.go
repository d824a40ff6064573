package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// CheckpointGuard keeps the latest checkpoint a [Log] signed apart from its
// [Store], so that a store that lost committed batches (a corrupted WAL or
// MANIFEST, a restored backup, a wiped directory) is refused instead of
// being extended: extending it would sign a second, different root for a
// tree size the log already signed, a fork under the log's own key, which
// a transparency log must never do.
//
// The Log calls Load once in Open and Swap after every batch the store
// committed, before any receipt of that batch is released.
//
// Implementations MUST be safe for concurrent use. The default is a
// [FileGuard]; a deployment with several hosts can use a compare-and-swap
// service (a database row, an object store with conditional writes).
type CheckpointGuard interface {
	// Load returns the latest checkpoint stored, or nil and no error if the
	// guard holds none yet.
	Load(ctx context.Context) ([]byte, error)
	// Swap replaces the stored checkpoint old (nil if none) by next. It
	// MUST fail with an error wrapping ErrGuardConflict, and store nothing,
	// if the stored checkpoint is not old byte for byte (another writer
	// moved it). When Swap returns nil, next MUST be durable.
	Swap(ctx context.Context, old, next []byte) error
}

// ErrGuardConflict reports a CheckpointGuard whose stored checkpoint is
// not the one the caller expected: two Logs write to one guard.
var ErrGuardConflict = errors.New("ledger: checkpoint guard changed by another writer")

// ErrRollback reports a store that is behind, or disagrees with, the latest
// checkpoint the log signed (as kept by its CheckpointGuard).
var ErrRollback = errors.New("ledger: store is behind or disagrees with the latest signed checkpoint")

// RollbackError is the refusal to open a store that does not contain the
// tree of the latest checkpoint the log signed: it is smaller (Behind) or
// its tree at that size has another root. Both tree heads and both signed
// checkpoints are kept as evidence. A deployment that lost its store must
// restore it (from a backup at least as recent as Guarded, or from a
// mirror); it must never restart the log at a smaller size. It wraps
// ErrRollback.
type RollbackError struct {
	// Guarded is the tree head of the guard's checkpoint, GuardedCheckpoint
	// the signed note.
	Guarded           TreeHead
	GuardedCheckpoint []byte
	// Stored is the store's tree head (zero for an empty store) and
	// StoredCheckpoint its signed note (nil if empty).
	Stored           TreeHead
	StoredCheckpoint []byte
	// Behind is true if the store is smaller than the guarded size;
	// otherwise the store's tree at the guarded size has another root.
	Behind bool
}

func (e *RollbackError) Error() string {
	if e.Behind {
		return fmt.Sprintf("%v: the store has %d entries, the log signed a checkpoint of size %d: restore the store, never restart the log at a smaller size", ErrRollback, e.Stored.Size, e.Guarded.Size)
	}
	return fmt.Sprintf("%v: the store's tree at size %d has another root than the checkpoint the log signed for that size", ErrRollback, e.Guarded.Size)
}

// Unwrap returns ErrRollback.
func (e *RollbackError) Unwrap() error { return ErrRollback }

// MemoryGuard is a CheckpointGuard in memory: it protects one Log's
// lifetime only. It is the default for stores that name no guard file
// (memstore), and useful in tests and benchmarks. Its zero value is ready.
type MemoryGuard struct {
	mu     sync.Mutex
	latest []byte
}

// Load implements CheckpointGuard.
func (g *MemoryGuard) Load(context.Context) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return bytes.Clone(g.latest), nil
}

// Swap implements CheckpointGuard.
func (g *MemoryGuard) Swap(_ context.Context, old, next []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !bytes.Equal(g.latest, old) {
		return ErrGuardConflict
	}
	g.latest = bytes.Clone(next)
	return nil
}

// FileGuard is a CheckpointGuard in one local file, written with one
// fdatasync per checkpoint. The file has two slots that are written in
// turn; each holds a sequence number, the checkpoint and a SHA-256 of
// both, so a write torn by a crash leaves the other slot, the previous
// checkpoint, intact and Load returns the newest slot that is whole.
//
// Keep the file apart from the store it guards (not inside the store's
// directory): a guard that is lost or restored together with the store
// cannot see the store go back. A FileGuard must be used by one process
// at a time. It is safe for concurrent use.
type FileGuard struct {
	path string

	mu     sync.Mutex // guards the fields below
	f      *os.File
	seq    uint64 // sequence number of the newest slot
	latest []byte
	closed bool
}

const (
	guardMagic = "healthledger checkpoint guard v1\n"
	// A slot: magic, uint64 sequence, uint32 length, checkpoint padded to
	// MaxCheckpointSize, SHA-256 of everything before it in the slot.
	guardSlotSize = len(guardMagic) + 8 + 4 + MaxCheckpointSize + sha256.Size
)

// OpenFileGuard opens the guard file at path, creating it (and not its
// directory) if it does not exist. A file that exists but holds no whole
// slot is corrupt (ErrCorrupt): a guard is never silently reset.
func OpenFileGuard(path string) (*FileGuard, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty checkpoint guard path", ErrInvalidConfig)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ledger: opening checkpoint guard: %w", err)
	}
	g := &FileGuard{path: path, f: f}
	if err := g.read(); err != nil {
		f.Close()
		return nil, err
	}
	if g.seq == 0 {
		// A new file: write an empty first slot, so that a crash while the
		// first checkpoint is written leaves a guard that reads as empty,
		// not one that reads as destroyed, and make the file durable.
		if err := g.write(nil); err != nil {
			f.Close()
			return nil, err
		}
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, err
		}
	}
	return g, nil
}

// Path returns the guard file's path.
func (g *FileGuard) Path() string { return g.path }

// read loads the newest whole slot.
func (g *FileGuard) read() error {
	st, err := g.f.Stat()
	if err != nil {
		return fmt.Errorf("ledger: reading checkpoint guard: %w", err)
	}
	if st.Size() == 0 {
		return nil
	}
	buf := make([]byte, 2*guardSlotSize)
	n, err := g.f.ReadAt(buf, 0)
	if n < len(buf) && n != int(st.Size()) {
		return fmt.Errorf("ledger: reading checkpoint guard: %w", err)
	}
	buf = buf[:n]
	for i := 0; i < 2; i++ {
		lo := i * guardSlotSize
		if lo+guardSlotSize > len(buf) {
			break
		}
		seq, cp, ok := parseGuardSlot(buf[lo : lo+guardSlotSize])
		if ok && seq > g.seq {
			g.seq, g.latest = seq, cp
		}
	}
	if g.seq == 0 {
		return fmt.Errorf("%w: checkpoint guard %s holds no intact checkpoint", ErrCorrupt, g.path)
	}
	return nil
}

func parseGuardSlot(slot []byte) (seq uint64, cp []byte, ok bool) {
	body, sum := slot[:len(slot)-sha256.Size], slot[len(slot)-sha256.Size:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return 0, nil, false
	}
	if !bytes.HasPrefix(body, []byte(guardMagic)) {
		return 0, nil, false
	}
	p := body[len(guardMagic):]
	seq, n := binary.BigEndian.Uint64(p), binary.BigEndian.Uint32(p[8:])
	if seq == 0 || n > MaxCheckpointSize {
		return 0, nil, false
	}
	if n == 0 {
		return seq, nil, true // the empty first slot of a new guard
	}
	return seq, bytes.Clone(p[12 : 12+n]), true
}

// Load returns the newest checkpoint in the file, or nil for a new file.
func (g *FileGuard) Load(context.Context) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	return bytes.Clone(g.latest), nil
}

// Swap writes next into the older slot and syncs the file.
func (g *FileGuard) Swap(_ context.Context, old, next []byte) error {
	if len(next) == 0 || len(next) > MaxCheckpointSize {
		return fmt.Errorf("%w: checkpoint of %d bytes for the guard", ErrInvalidConfig, len(next))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	if !bytes.Equal(g.latest, old) {
		return ErrGuardConflict
	}
	return g.write(next)
}

// write writes cp (nil for none) into the older slot with the next
// sequence number and syncs the file. The caller holds mu or owns g.
func (g *FileGuard) write(cp []byte) error {
	seq := g.seq + 1
	slot := make([]byte, guardSlotSize)
	p := append(slot[:0], guardMagic...)
	p = binary.BigEndian.AppendUint64(p, seq)
	p = binary.BigEndian.AppendUint32(p, uint32(len(cp)))
	copy(slot[len(p):], cp)
	sum := sha256.Sum256(slot[:guardSlotSize-sha256.Size])
	copy(slot[guardSlotSize-sha256.Size:], sum[:])
	if _, err := g.f.WriteAt(slot, int64(seq%2)*int64(guardSlotSize)); err != nil {
		return fmt.Errorf("ledger: writing checkpoint guard: %w", err)
	}
	if err := g.f.Sync(); err != nil {
		return fmt.Errorf("ledger: syncing checkpoint guard: %w", err)
	}
	g.seq, g.latest = seq, bytes.Clone(cp)
	return nil
}

// Close closes the file.
func (g *FileGuard) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.f.Close()
}

// syncDir fsyncs a directory so that a file created in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("ledger: syncing guard directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("ledger: syncing guard directory: %w", err)
	}
	return nil
}
