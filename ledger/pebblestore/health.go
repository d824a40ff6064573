package pebblestore

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/healthledger/healthledger/ledger"
)

// ErrPebbleFailed reports that Pebble called its logger's Fatalf: an
// unrecoverable write failure (the WAL or the MANIFEST could not be written
// or synced) or a broken internal invariant. Pebble's state is then
// unknown: the store refuses every further commit, and the process should
// close it and reopen the directory.
var ErrPebbleFailed = errors.New("pebblestore: pebble failed")

// health records what Pebble reported from any goroutine: the first
// on-disk corruption and the first fatal error. Pebble reports both
// through hooks (EventListener.DataCorruption, Logger.Fatalf) whose
// defaults end the process; the store installs these instead, so that the
// embedding process survives and the store fails closed.
type health struct {
	logger *slog.Logger

	mu      sync.Mutex // guards corrupt and fatal
	corrupt error      // the first corruption Pebble reported, or nil
	fatal   error      // the first Fatalf, or nil
}

func newHealth(logger *slog.Logger) *health {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &health{logger: logger}
}

// err returns the error that refuses commits: the first fatal error or
// corruption reported, or nil.
func (h *health) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.fatal != nil:
		return h.fatal
	case h.corrupt != nil:
		return h.corrupt
	}
	return nil
}

func (h *health) setCorrupt(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.corrupt == nil {
		h.corrupt = err
	}
}

// setFatal records a failure that leaves the store unusable.
func (h *health) setFatal(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fatal == nil {
		h.fatal = err
	}
}

// eventListener returns Pebble's event hooks: corruption is recorded and
// logged instead of ending the process (Pebble's default DataCorruption
// calls Logger.Fatalf), and the read or compaction that met it fails with
// Pebble's corruption error, which the store wraps in ledger.ErrCorrupt.
func (h *health) eventListener() *pebble.EventListener {
	return &pebble.EventListener{
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			h.setCorrupt(fmt.Errorf("%w: pebblestore: pebble found on-disk corruption in %s", ledger.ErrCorrupt, info.Path))
			h.logger.Error("pebblestore: on-disk corruption", "file", info.Path, "error", info.Details)
		},
		BackgroundError: func(err error) {
			if pebble.IsCorruptionError(err) {
				h.setCorrupt(fmt.Errorf("%w: pebblestore: background work met corruption: %w", ledger.ErrCorrupt, err))
			}
			h.logger.Error("pebblestore: background error", "error", err)
		},
	}
}

// Infof implements pebble.Logger; Pebble's informational messages are
// dropped.
func (h *health) Infof(string, ...any) {}

// Errorf implements pebble.Logger.
func (h *health) Errorf(format string, args ...any) {
	h.logger.Error("pebblestore: " + fmt.Sprintf(format, args...))
}

// Fatalf implements pebble.Logger. It records the failure and returns
// (Pebble's own no-op logger does the same) instead of exiting: the store
// then refuses every commit with ErrPebbleFailed. Pebble continues after
// Fatalf returns; in the one place where that matters to the store, a
// commit whose WAL write failed (Pebble then returns nil from
// Batch.Commit), Commit checks health after the batch and fails.
func (h *health) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	h.mu.Lock()
	if h.fatal == nil {
		h.fatal = fmt.Errorf("%w: %s", ErrPebbleFailed, msg)
	}
	h.mu.Unlock()
	h.logger.Error("pebblestore: pebble fatal error", "message", msg)
}

// wrap returns err, wrapping ledger.ErrCorrupt if Pebble marked it as
// corruption.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	if pebble.IsCorruptionError(err) {
		return fmt.Errorf("%w: pebblestore: %w", ledger.ErrCorrupt, err)
	}
	return fmt.Errorf("pebblestore: %w", err)
}
