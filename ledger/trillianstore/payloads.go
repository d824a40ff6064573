package trillianstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
)

// PayloadStore keeps the payloads of version 2 entries beside a Trillian
// tree. Trillian's leaves (and their extra_data) can never be deleted, so
// payloads, which erasure must be able to delete, live in a store of the
// deployment's own, keyed by the leaf's Merkle leaf hash (the index is not
// known before Trillian integrates the leaf).
//
// Implementations MUST be safe for concurrent use. Put MUST be durable when
// it returns: the Store puts a batch's payloads before it hands the leaves
// to Trillian, so an integrated leaf always has its payload. (A leaf that
// then fails to integrate leaves its payload behind; a retry puts it again.)
type PayloadStore interface {
	// Put stores payloads by leaf hash; a hash already stored keeps its
	// first payload, and a hash erased stays erased.
	Put(ctx context.Context, payloads map[merkle.Hash][]byte) error
	// Get returns the payload of a leaf hash, an error wrapping
	// ledger.ErrNotFound, or a *ledger.ErasedError (Index left zero; the
	// Store sets it).
	Get(ctx context.Context, leafHash merkle.Hash) ([]byte, error)
	// Erase deletes the payloads of the leaf hashes and records erasedBy
	// for each, atomically and durably; hashes without a payload are
	// skipped.
	Erase(ctx context.Context, leafHashes []merkle.Hash, erasedBy uint64) error
}

// MemoryPayloads is a PayloadStore in memory, for tests: payloads do not
// survive the process.
type MemoryPayloads struct {
	mu       sync.Mutex
	payloads map[merkle.Hash][]byte
	erased   map[merkle.Hash]uint64
}

// NewMemoryPayloads returns an empty MemoryPayloads.
func NewMemoryPayloads() *MemoryPayloads {
	return &MemoryPayloads{payloads: map[merkle.Hash][]byte{}, erased: map[merkle.Hash]uint64{}}
}

// Put implements PayloadStore.
func (m *MemoryPayloads) Put(_ context.Context, payloads map[merkle.Hash][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, p := range payloads {
		if _, ok := m.payloads[h]; ok {
			continue
		}
		if _, ok := m.erased[h]; ok {
			continue
		}
		m.payloads[h] = append([]byte(nil), p...)
	}
	return nil
}

// Get implements PayloadStore.
func (m *MemoryPayloads) Get(_ context.Context, h merkle.Hash) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if by, ok := m.erased[h]; ok {
		return nil, &ledger.ErasedError{ErasedBy: by}
	}
	p, ok := m.payloads[h]
	if !ok {
		return nil, fmt.Errorf("%w: no payload", ledger.ErrNotFound)
	}
	return append([]byte(nil), p...), nil
}

// Erase implements PayloadStore.
func (m *MemoryPayloads) Erase(_ context.Context, hs []merkle.Hash, erasedBy uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range hs {
		if p, ok := m.payloads[h]; ok {
			clear(p)
			delete(m.payloads, h)
			m.erased[h] = erasedBy
		}
	}
	return nil
}

// SQLPayloads is a PayloadStore in a table of a PostgreSQL database (for
// example the one Trillian itself runs on, in a schema of its own), through
// database/sql with the driver of the caller's choice (pgx's stdlib, as
// Trillian uses). Erasure deletes the row's payload and keeps the row as a
// tombstone; PostgreSQL reclaims the space of deleted tuples at VACUUM, and
// until then the bytes stay in the table's files (and in its WAL and
// backups): run VACUUM after erasures, and seal payloads so that a
// destroyed key makes any leftover bytes unreadable.
type SQLPayloads struct {
	db    *sql.DB
	table string
}

var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// NewSQLPayloads returns a SQLPayloads on table, created if missing.
func NewSQLPayloads(ctx context.Context, db *sql.DB, table string) (*SQLPayloads, error) {
	if db == nil || !tableName.MatchString(table) {
		return nil, fmt.Errorf("%w: a database and a lower-case table name are required", ErrConfig)
	}
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		leaf_hash BYTEA PRIMARY KEY,
		payload BYTEA,
		erased_by BIGINT
	)`)
	if err != nil {
		return nil, fmt.Errorf("trillianstore: creating payload table: %w", err)
	}
	return &SQLPayloads{db: db, table: table}, nil
}

// Put implements PayloadStore, in one transaction.
func (s *SQLPayloads) Put(ctx context.Context, payloads map[merkle.Hash][]byte) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("trillianstore: payloads: %w", err)
	}
	defer tx.Rollback()
	for h, p := range payloads {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+s.table+` (leaf_hash, payload) VALUES ($1, $2) ON CONFLICT (leaf_hash) DO NOTHING`, h[:], p); err != nil {
			return fmt.Errorf("trillianstore: payloads: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("trillianstore: payloads: %w", err)
	}
	return nil
}

// Get implements PayloadStore.
func (s *SQLPayloads) Get(ctx context.Context, h merkle.Hash) ([]byte, error) {
	var p []byte
	var by sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT payload, erased_by FROM `+s.table+` WHERE leaf_hash = $1`, h[:]).Scan(&p, &by)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("%w: no payload", ledger.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("trillianstore: payloads: %w", err)
	case by.Valid:
		return nil, &ledger.ErasedError{ErasedBy: uint64(by.Int64)}
	}
	return p, nil
}

// Erase implements PayloadStore, in one transaction.
func (s *SQLPayloads) Erase(ctx context.Context, hs []merkle.Hash, erasedBy uint64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("trillianstore: payloads: %w", err)
	}
	defer tx.Rollback()
	for _, h := range hs {
		if _, err := tx.ExecContext(ctx, `UPDATE `+s.table+` SET payload = NULL, erased_by = $2 WHERE leaf_hash = $1 AND erased_by IS NULL`, h[:], int64(erasedBy)); err != nil {
			return fmt.Errorf("trillianstore: payloads: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("trillianstore: payloads: %w", err)
	}
	return nil
}

// putPayloads stores the payloads of a batch before its leaves go to
// Trillian.
func (s *Store) putPayloads(ctx context.Context, leaves []ledger.Leaf) error {
	var ps map[merkle.Hash][]byte
	for _, l := range leaves {
		if l.Payload == nil {
			continue
		}
		if s.cfg.Payloads == nil {
			return fmt.Errorf("%w: an entry with a payload, and no Config.Payloads to keep it", ErrConfig)
		}
		if ps == nil {
			ps = make(map[merkle.Hash][]byte)
		}
		ps[l.Hash] = l.Payload
	}
	if ps == nil {
		return nil
	}
	return s.cfg.Payloads.Put(ctx, ps)
}

// Payload implements ledger.Store.
func (s *Store) Payload(ctx context.Context, index uint64) ([]byte, error) {
	leaf, err := s.Leaf(ctx, index)
	if err != nil {
		return nil, err
	}
	if s.cfg.Payloads == nil {
		return nil, fmt.Errorf("%w: no payload store configured", ledger.ErrNotFound)
	}
	p, err := s.cfg.Payloads.Get(ctx, merkle.HashLeaf(leaf))
	var ee *ledger.ErasedError
	if errors.As(err, &ee) {
		ee.Index = index
	}
	return p, err
}

// ErasePayloads implements ledger.Store.
func (s *Store) ErasePayloads(ctx context.Context, indices []uint64, erasedBy uint64) error {
	if _, err := s.Leaf(ctx, erasedBy); err != nil {
		return err
	}
	hs := make([]merkle.Hash, 0, len(indices))
	for _, i := range indices {
		leaf, err := s.Leaf(ctx, i)
		if err != nil {
			return err
		}
		hs = append(hs, merkle.HashLeaf(leaf))
	}
	if s.cfg.Payloads == nil {
		return nil
	}
	return s.cfg.Payloads.Erase(ctx, hs, erasedBy)
}
