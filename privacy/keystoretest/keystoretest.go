// Package keystoretest is the conformance suite of [privacy.KeyStore]:
// every implementation runs it from its tests,
//
//	func TestConformance(t *testing.T) {
//		keystoretest.Run(t, func(t *testing.T) privacy.KeyStore { return newStore(t) })
//	}
//
// It checks the contract written on the interface: the three states and
// their transitions, create-only Put, tombstones, copies, concurrency and
// cancelled contexts.
package keystoretest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/privacy"
	"github.com/stretchr/testify/require"
)

// Run runs the conformance suite; open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) privacy.KeyStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s privacy.KeyStore)
	}{
		{"absent", testAbsent},
		{"put then get", testPutGet},
		{"get returns a copy", testCopy},
		{"put is create-only", testCreateOnly},
		{"delete leaves a tombstone", testDelete},
		{"delete without key", testDeleteAbsent},
		{"delete is idempotent", testDeleteTwice},
		{"subjects are independent", testIndependent},
		{"concurrent puts: one wins", testConcurrentPut},
		{"cancelled context changes nothing", testCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// Subject returns a test subject tag.
func Subject(i int) ledger.SubjectTag {
	return sha256.Sum256(fmt.Appendf(nil, "keystoretest subject %d", i))
}

// Wrapped returns distinctive test bytes standing for a wrapped key.
func Wrapped(i int) []byte { return fmt.Appendf(nil, "keystoretest wrapped key %d %x", i, Subject(i)) }

func testAbsent(t *testing.T, s privacy.KeyStore) {
	_, err := s.Get(t.Context(), Subject(1))
	require.ErrorIs(t, err, privacy.ErrNoKey)
	require.NotErrorIs(t, err, privacy.ErrErased)
}

func testPutGet(t *testing.T, s privacy.KeyStore) {
	ctx := t.Context()
	require.NoError(t, s.Put(ctx, Subject(1), Wrapped(1)))
	got, err := s.Get(ctx, Subject(1))
	require.NoError(t, err)
	require.Equal(t, Wrapped(1), got)
}

func testCopy(t *testing.T, s privacy.KeyStore) {
	ctx := t.Context()
	in := Wrapped(1)
	require.NoError(t, s.Put(ctx, Subject(1), in))
	in[0] ^= 0xff // the caller's buffer is not the store's
	got, err := s.Get(ctx, Subject(1))
	require.NoError(t, err)
	require.Equal(t, Wrapped(1), got)
	got[0] ^= 0xff // nor is the returned one
	again, err := s.Get(ctx, Subject(1))
	require.NoError(t, err)
	require.Equal(t, Wrapped(1), again)
}

func testCreateOnly(t *testing.T, s privacy.KeyStore) {
	ctx := t.Context()
	require.NoError(t, s.Put(ctx, Subject(1), Wrapped(1)))
	require.ErrorIs(t, s.Put(ctx, Subject(1), Wrapped(2)), privacy.ErrKeyExists)
	got, err := s.Get(ctx, Subject(1))
	require.NoError(t, err)
	require.Equal(t, Wrapped(1), got, "a refused Put must keep the stored key")
}

func testDelete(t *testing.T, s privacy.KeyStore) {
	ctx := t.Context()
	require.NoError(t, s.Put(ctx, Subject(1), Wrapped(1)))
	require.NoError(t, s.Delete(ctx, Subject(1)))
	_, err := s.Get(ctx, Subject(1))
	require.ErrorIs(t, err, privacy.ErrErased)
	require.NotErrorIs(t, err, privacy.ErrNoKey)
	require.ErrorIs(t, s.Put(ctx, Subject(1), Wrapped(3)), privacy.ErrErased, "an erased subject gets no new key")
	_, err = s.Get(ctx, Subject(1))
	require.ErrorIs(t, err, privacy.ErrErased)
}

func testDeleteAbsent(t *testing.T, s privacy.KeyStore) {
	ctx := t.Context()
	require.NoError(t, s.Delete(ctx, Subject(1)))
	_, err := s.Get(ctx, Subject(1))
	require.ErrorIs(t, err, privacy.ErrErased)
	require.ErrorIs(t, s.Put(ctx, Subject(1), Wrapped(1)), privacy.ErrErased)
}

func testDeleteTwice(t *testing.T, s privacy.KeyStore) {
	ctx := t.Context()
	require.NoError(t, s.Put(ctx, Subject(1), Wrapped(1)))
	require.NoError(t, s.Delete(ctx, Subject(1)))
	require.NoError(t, s.Delete(ctx, Subject(1)))
	_, err := s.Get(ctx, Subject(1))
	require.ErrorIs(t, err, privacy.ErrErased)
}

func testIndependent(t *testing.T, s privacy.KeyStore) {
	ctx := t.Context()
	for i := range 5 {
		require.NoError(t, s.Put(ctx, Subject(i), Wrapped(i)))
	}
	require.NoError(t, s.Delete(ctx, Subject(2)))
	for i := range 5 {
		got, err := s.Get(ctx, Subject(i))
		if i == 2 {
			require.ErrorIs(t, err, privacy.ErrErased)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, Wrapped(i), got)
	}
}

func testConcurrentPut(t *testing.T, s privacy.KeyStore) {
	ctx := t.Context()
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.Put(ctx, Subject(1), Wrapped(100+i)) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two Puts both succeeded")
			winner = i
			continue
		}
		require.ErrorIs(t, err, privacy.ErrKeyExists)
	}
	require.NotEqual(t, -1, winner, "no Put succeeded")
	got, err := s.Get(ctx, Subject(1))
	require.NoError(t, err)
	require.True(t, bytes.Equal(Wrapped(100+winner), got), "the stored key is the winner's")
}

func testCancelled(t *testing.T, s privacy.KeyStore) {
	ctx, cancel := context.WithCancel(t.Context())
	require.NoError(t, s.Put(ctx, Subject(1), Wrapped(1)))
	cancel()
	require.Error(t, s.Put(ctx, Subject(2), Wrapped(2)))
	require.Error(t, s.Delete(ctx, Subject(1)))
	_, err := s.Get(ctx, Subject(1))
	require.True(t, errors.Is(err, context.Canceled))
	live := t.Context()
	got, err := s.Get(live, Subject(1))
	require.NoError(t, err, "a cancelled Delete must not erase")
	require.Equal(t, Wrapped(1), got)
	_, err = s.Get(live, Subject(2))
	require.ErrorIs(t, err, privacy.ErrNoKey, "a cancelled Put must not store")
}
