package privacy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"

	"github.com/healthledger/healthledger/ledger"
)

// KeyStore keeps each subject's wrapped data key (bytes encrypted under the
// key-encryption AEAD; a KeyStore never sees a key in clear) and, once the
// subject is erased, a tombstone in its place. A subject is in one of three
// states: absent, keyed, erased; it moves only absent -> keyed -> erased or
// absent -> erased, never back.
//
// Contract:
//
//   - Get MUST return a copy of the wrapped key of a keyed subject, an error
//     wrapping [ErrErased] for an erased subject and one wrapping [ErrNoKey]
//     for an absent one.
//   - Put MUST store wrapped only for an absent subject, atomically (a
//     later Get sees all of it or the subject absent) and, for a durable
//     store, durably: when Put returns nil, the key survives a crash. For a
//     keyed subject it MUST fail with [ErrKeyExists] and for an erased one
//     with [ErrErased], leaving the stored state unchanged: two writers
//     racing to create a subject's key both learn which key won.
//   - Delete MUST destroy the wrapped key and leave a tombstone, durably
//     before it returns nil, whether or not the subject had a key; it is
//     idempotent. A durable store SHOULD overwrite the key's bytes before
//     it unlinks them, and MUST document what it cannot promise (copies
//     in backups, snapshots, remapped flash blocks).
//   - A tombstone MUST hold no key material.
//   - All methods MUST be safe for concurrent use and SHOULD return
//     ctx.Err() when ctx is done before they change anything.
//
// The conformance suite in package privacy/keystoretest checks this
// contract; every KeyStore should pass it.
type KeyStore interface {
	Get(ctx context.Context, subject ledger.SubjectTag) ([]byte, error)
	Put(ctx context.Context, subject ledger.SubjectTag, wrapped []byte) error
	Delete(ctx context.Context, subject ledger.SubjectTag) error
}

var _ KeyStore = (*MemoryKeyStore)(nil)

// MemoryKeyStore is a KeyStore in memory, for tests, examples and
// development: everything is lost when the process ends. Delete overwrites
// the wrapped key's bytes with zeros before it drops them (Go's garbage
// collector may still have moved copies). It is safe for concurrent use.
type MemoryKeyStore struct {
	mu   sync.Mutex
	keys map[ledger.SubjectTag][]byte // guarded by mu; nil value = tombstone
}

// NewMemoryKeyStore returns an empty MemoryKeyStore.
func NewMemoryKeyStore() *MemoryKeyStore {
	return &MemoryKeyStore{keys: make(map[ledger.SubjectTag][]byte)}
}

// Get implements KeyStore.
func (m *MemoryKeyStore) Get(ctx context.Context, subject ledger.SubjectTag) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.keys[subject]
	switch {
	case !ok:
		return nil, ErrNoKey
	case w == nil:
		return nil, ErrErased
	}
	return bytes.Clone(w), nil
}

// Put implements KeyStore.
func (m *MemoryKeyStore) Put(ctx context.Context, subject ledger.SubjectTag, wrapped []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(wrapped) == 0 {
		return fmt.Errorf("%w: empty wrapped key", ErrInvalidInput)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if w, ok := m.keys[subject]; ok {
		if w == nil {
			return ErrErased
		}
		return ErrKeyExists
	}
	m.keys[subject] = bytes.Clone(wrapped)
	return nil
}

// Delete implements KeyStore.
func (m *MemoryKeyStore) Delete(ctx context.Context, subject ledger.SubjectTag) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.keys[subject])
	m.keys[subject] = nil
	return nil
}

// Len returns the number of subjects with a key or a tombstone.
func (m *MemoryKeyStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

// String describes the store by its size only.
func (m *MemoryKeyStore) String() string {
	return "privacy.MemoryKeyStore(" + strconv.Itoa(m.Len()) + " subjects)"
}

// GoString is String.
func (m *MemoryKeyStore) GoString() string { return m.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (m *MemoryKeyStore) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, m.String()) }

// LogValue implements slog.LogValuer.
func (m *MemoryKeyStore) LogValue() slog.Value { return slog.StringValue(m.String()) }
