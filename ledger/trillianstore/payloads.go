package trillianstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
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

// sqlRowsPerStatement bounds the rows of one multi-row statement (two
// parameters each, far below PostgreSQL's 65535).
const sqlRowsPerStatement = 1000

// Put implements PayloadStore, in one transaction of one multi-row INSERT
// per 1000 payloads, in leaf hash order (concurrent Puts of overlapping
// hashes then lock them in the same order and cannot deadlock).
func (s *SQLPayloads) Put(ctx context.Context, payloads map[merkle.Hash][]byte) error {
	hashes := make([]merkle.Hash, 0, len(payloads))
	for h := range payloads {
		hashes = append(hashes, h)
	}
	slices.SortFunc(hashes, func(a, b merkle.Hash) int { return bytes.Compare(a[:], b[:]) })
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("trillianstore: payloads: %w", err)
	}
	defer tx.Rollback()
	for len(hashes) > 0 {
		n := min(len(hashes), sqlRowsPerStatement)
		var q strings.Builder
		q.WriteString(`INSERT INTO ` + s.table + ` (leaf_hash, payload) VALUES `)
		args := make([]any, 0, 2*n)
		for i, h := range hashes[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "($%d, $%d)", 2*i+1, 2*i+2)
			args = append(args, h[:], payloads[h])
		}
		q.WriteString(` ON CONFLICT (leaf_hash) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("trillianstore: payloads: %w", err)
		}
		hashes = hashes[n:]
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

// Erase implements PayloadStore, in one transaction of one UPDATE per
// 1000 leaf hashes, in leaf hash order.
func (s *SQLPayloads) Erase(ctx context.Context, hs []merkle.Hash, erasedBy uint64) error {
	hs = slices.Clone(hs)
	slices.SortFunc(hs, func(a, b merkle.Hash) int { return bytes.Compare(a[:], b[:]) })
	hs = slices.Compact(hs)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("trillianstore: payloads: %w", err)
	}
	defer tx.Rollback()
	for len(hs) > 0 {
		n := min(len(hs), sqlRowsPerStatement)
		var q strings.Builder
		q.WriteString(`UPDATE ` + s.table + ` SET payload = NULL, erased_by = $1 WHERE erased_by IS NULL AND leaf_hash IN (`)
		args := make([]any, 0, n+1)
		args = append(args, int64(erasedBy))
		for i, h := range hs[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "$%d", i+2)
			args = append(args, h[:])
		}
		q.WriteString(`)`)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("trillianstore: payloads: %w", err)
		}
		hs = hs[n:]
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

// Payload implements ledger.Store. The leaf hash the payload is kept
// under comes from the store's mirror of the tree (no RPC when its tile is
// held).
func (s *Store) Payload(ctx context.Context, index uint64) ([]byte, error) {
	hs, err := s.leafHashesAt(ctx, []uint64{index})
	if err != nil {
		return nil, err
	}
	if s.cfg.Payloads == nil {
		return nil, fmt.Errorf("%w: no payload store configured", ledger.ErrNotFound)
	}
	p, err := s.cfg.Payloads.Get(ctx, hs[0])
	var ee *ledger.ErasedError
	if errors.As(err, &ee) {
		ee.Index = index
	}
	return p, err
}

// ErasePayloads implements ledger.Store: one Erase of the payload store
// for the leaf hashes of indices, read from the store's mirror of the
// tree.
func (s *Store) ErasePayloads(ctx context.Context, indices []uint64, erasedBy uint64) error {
	hs, err := s.leafHashesAt(ctx, append(slices.Clone(indices), erasedBy))
	if err != nil {
		return err
	}
	if s.cfg.Payloads == nil {
		return nil
	}
	return s.cfg.Payloads.Erase(ctx, hs[:len(indices)], erasedBy)
}

// leafHashesAt returns the leaf hashes at indices, from the store's mirror
// of the tree, or ErrNotFound if one is not below the latest signed size.
func (s *Store) leafHashesAt(ctx context.Context, indices []uint64) ([]merkle.Hash, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	need := uint64(0)
	for _, i := range indices {
		need = max(need, i)
	}
	head, err := s.bound(ctx, need+1)
	if err != nil {
		return nil, err
	}
	if need >= head.Size {
		return nil, notFoundf("leaf %d not below tree size %d", need, head.Size)
	}
	r, err := s.tilesAt(ctx, head.Size)
	if err != nil {
		return nil, err
	}
	out := make([]merkle.Hash, len(indices))
	for j, i := range indices {
		h, err := r.leafHashes(i, i+1)
		if err != nil {
			return nil, err
		}
		out[j] = h[0]
	}
	return out, nil
}
