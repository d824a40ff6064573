package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/healthledger/healthledger/ledger"
)

func (b *backend) ReadPayload(ctx context.Context, index uint64) ([]byte, error) {
	v, err := b.get(indexKey(prefixErased, index))
	switch {
	case err == nil:
		if len(v) != 8 {
			return nil, fmt.Errorf("%w: erasure record of %d bytes", ledger.ErrCorrupt, len(v))
		}
		return nil, &ledger.ErasedError{Index: index, ErasedBy: binary.BigEndian.Uint64(v)}
	case !errors.Is(err, ledger.ErrNotFound):
		return nil, err
	}
	v, err = b.get(indexKey(prefixPayload, index))
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("%w: no payload at %d", ledger.ErrNotFound, index)
	}
	return v, err
}

// ErasePayloads deletes the payloads and records the erasure in one synced
// batch, then makes sure no byte of them stays in the store's files: a
// flush moves the memtable into a table, a compaction of the payload key
// range rewrites every table without the deleted values, and the database
// is closed and reopened, because Pebble keeps obsolete write-ahead logs
// for reuse (a recycled log is overwritten only as far as new writes reach)
// and deletes them only when it opens. Reads and commits wait for the
// reopen. What erasure cannot reach is listed in the package doc.
func (b *backend) ErasePayloads(ctx context.Context, indices []uint64, erasedBy uint64) error {
	if err := b.health.err(); err != nil {
		return err
	}
	b.dbMu.Lock()
	defer b.dbMu.Unlock()
	if b.db == nil {
		return b.health.err()
	}
	batch := b.db.NewBatch()
	defer batch.Close()
	var by [8]byte
	binary.BigEndian.PutUint64(by[:], erasedBy)
	n := 0
	for _, i := range indices {
		_, closer, err := b.db.Get(indexKey(prefixPayload, i))
		if err != nil {
			if errors.Is(err, pebble.ErrNotFound) {
				continue
			}
			return wrap(err)
		}
		closer.Close()
		if err := errors.Join(
			batch.Delete(indexKey(prefixPayload, i), nil),
			batch.Set(indexKey(prefixErased, i), by[:], nil),
		); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if err := batch.Commit(b.sync); err != nil {
		return wrap(err)
	}
	if err := b.health.err(); err != nil {
		return err
	}
	if err := b.db.Flush(); err != nil {
		return wrap(err)
	}
	if err := b.db.Compact(ctx, []byte{prefixPayload}, []byte{prefixPayload + 1}, false); err != nil {
		return wrap(err)
	}
	return b.reopenLocked()
}

// reopenLocked closes and reopens the database, which deletes the write-
// ahead logs Pebble kept for reuse. The caller holds dbMu for writing. If
// the reopen fails, the store is unusable: every later call fails.
func (b *backend) reopenLocked() error {
	if err := b.db.Close(); err != nil {
		return wrap(err)
	}
	db, err := openDB(b.dir, b.opts)
	if err != nil {
		b.db = nil
		b.health.setFatal(fmt.Errorf("%w: reopening after an erasure: %w", ErrPebbleFailed, err))
		return err
	}
	b.db = db
	return b.health.err()
}
