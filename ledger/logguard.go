package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// openGuard sets l.guard from the Config (see Config.Guard).
func (l *Log) openGuard() error {
	switch {
	case l.cfg.Guard != nil:
		l.guard = l.cfg.Guard
		return nil
	case l.cfg.GuardFile == "":
		if gf, ok := l.store.(GuardFiler); ok {
			l.cfg.GuardFile = gf.GuardFile()
		}
	}
	if l.cfg.GuardFile == "" {
		l.guard = &MemoryGuard{}
		return nil
	}
	g, err := OpenFileGuard(l.cfg.GuardFile)
	if err != nil {
		return err
	}
	l.guard, l.ownGuard = g, g
	return nil
}

func (l *Log) closeGuard() error {
	if l.ownGuard == nil {
		return nil
	}
	return l.ownGuard.Close()
}

// openOwn verifies that signed is a checkpoint of this log signed by its
// key, with its timestamp line, and returns it with its signed time.
func (l *Log) openOwn(signed []byte, what string) (Checkpoint, time.Time, error) {
	c, err := ParseSignedCheckpoint(signed)
	if err != nil {
		return c, time.Time{}, fmt.Errorf("%w: %s checkpoint: %w", ErrCorrupt, what, err)
	}
	if c.Origin != l.cfg.Origin {
		return c, time.Time{}, fmt.Errorf("%w: %s checkpoint is of log %q, config says %q", ErrInvalidConfig, what, c.Origin, l.cfg.Origin)
	}
	if _, _, err := OpenCheckpoint(signed, l.cfg.Origin, l.verifier); err != nil {
		if errors.Is(err, ErrBadSignature) && !signedByKeyID(signed, l.cfg.Signer.Name(), l.verifier.KeyHash()) {
			return c, time.Time{}, fmt.Errorf("%w: the %s checkpoint is signed by another key than Config.Signer's; a new key is a new log (new origin)", ErrWrongKey, what)
		}
		return c, time.Time{}, fmt.Errorf("%w: %s checkpoint: %w", ErrCorrupt, what, err)
	}
	t, err := checkpointTimeOf(signed, l.cfg.Signer)
	if err != nil {
		return c, time.Time{}, fmt.Errorf("%w: %s checkpoint time: %w", ErrCorrupt, what, err)
	}
	return c, t, nil
}

// signedByKeyID reports whether the note has a signature line of the key
// name with key ID id (valid or not).
func signedByKeyID(signed []byte, name string, id uint32) bool {
	_, sigs, err := splitNote(signed)
	if err != nil {
		return false
	}
	for line := range bytes.Lines(sigs) {
		rest, ok := bytes.CutPrefix(line, []byte(noteSigPrefix+name+" "))
		if !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSuffix(rest, []byte{'\n'})))
		if err == nil && len(raw) >= 4 && binary.BigEndian.Uint32(raw) == id {
			return true
		}
	}
	return false
}

// checkStore checks the store against its own checkpoint and the guard,
// and sets l.head, l.signedAt and l.guarded.
func (l *Log) checkStore(ctx context.Context) error {
	stored, err := l.store.Checkpoint(ctx)
	if err != nil && !errors.Is(err, ErrEmptyLog) {
		return fmt.Errorf("ledger: reading checkpoint: %w", err)
	}
	var sc Checkpoint
	var st time.Time
	if stored != nil {
		if sc, st, err = l.openOwn(stored, "stored"); err != nil {
			return err
		}
		root, err := l.store.RootHash(ctx, sc.Size)
		if err != nil {
			return fmt.Errorf("%w: the store cannot compute the root of its own checkpoint's size %d: %w", ErrCorrupt, sc.Size, err)
		}
		if root != sc.Root {
			return fmt.Errorf("%w: the stored checkpoint's root is not the store's tree root at size %d", ErrCorrupt, sc.Size)
		}
	}
	guarded, err := l.guard.Load(ctx)
	if err != nil {
		return fmt.Errorf("ledger: reading checkpoint guard: %w", err)
	}
	if guarded != nil {
		gc, gt, err := l.openOwn(guarded, "guarded")
		if err != nil {
			return err
		}
		rb := &RollbackError{
			Guarded: TreeHead{Size: gc.Size, Root: gc.Root}, GuardedCheckpoint: bytes.Clone(guarded),
			Stored: TreeHead{Size: sc.Size, Root: sc.Root}, StoredCheckpoint: bytes.Clone(stored),
		}
		if sc.Size < gc.Size {
			rb.Behind = true
			return rb
		}
		root, err := l.store.RootHash(ctx, gc.Size)
		if err != nil {
			return fmt.Errorf("%w: root at the guarded size %d: %w", ErrCorrupt, gc.Size, err)
		}
		if root != gc.Root {
			return rb
		}
		if sc.Size == gc.Size {
			// The same tree; keep what the guard holds (a restarted
			// Trillian store re-signs its head with a new time).
			l.head, l.signedAt, l.guarded = rb.Guarded, gt, guarded
			l.guardedSize.Store(gc.Size)
			if st.After(gt) {
				l.signedAt = st
			}
			return nil
		}
	}
	if stored == nil {
		return nil
	}
	// The store is ahead of the guard (a crash between the store's commit
	// and the guard's write, or a new guard): move the guard up.
	if err := l.guard.Swap(ctx, guarded, stored); err != nil {
		return fmt.Errorf("ledger: updating checkpoint guard: %w", err)
	}
	l.head, l.signedAt, l.guarded = TreeHead{Size: sc.Size, Root: sc.Root}, st, bytes.Clone(stored)
	l.guardedSize.Store(sc.Size)
	return nil
}

// committed records the head the store just committed (called by the
// sequencer): sign checks every later head against it. A head that goes
// back or forks is refused.
func (l *Log) committed(head TreeHead) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if head.Size < l.head.Size || (head.Size == l.head.Size && head.Root != l.head.Root) {
		return &RollbackError{Guarded: l.head, Stored: head, Behind: head.Size < l.head.Size}
	}
	l.head = head
	if l.pendingAt.After(l.signedAt) {
		l.signedAt = l.pendingAt
	}
	return nil
}

// advanceGuard records a committed batch's checkpoint, for a tree of size
// size, in the guard (called by the publisher, in commit order).
func (l *Log) advanceGuard(signed []byte, size uint64) error {
	l.mu.Lock()
	prev := l.guarded
	l.mu.Unlock()
	if bytes.Equal(signed, prev) {
		return nil // a batch of duplicates: nothing new was signed
	}
	if err := l.guard.Swap(context.Background(), prev, signed); err != nil {
		return fmt.Errorf("ledger: the batch is stored but the checkpoint guard was not updated, so its receipts are withheld: %w", err)
	}
	l.mu.Lock()
	l.guarded = bytes.Clone(signed)
	l.guardedSize.Store(size)
	close(l.published)
	l.published = make(chan struct{})
	l.mu.Unlock()
	return nil
}

// checkpointTimeOf returns the signed time of a checkpoint this log signed.
func checkpointTimeOf(signed []byte, s CheckpointSigner) (time.Time, error) {
	tv := &CosignatureVerifier{name: s.Name(), pub: s.PublicKey()}
	tv.keyID = cosignerKeyID(tv.name, tv.pub)
	return checkpointTime(signed, tv)
}
