package privacy

import (
	"fmt"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

func newTestVault(t *testing.T, cacheSize int) *Vault {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	require.NoError(t, err)
	kek, err := aead.New(h)
	require.NoError(t, err)
	v, err := NewVault(VaultConfig{Origin: "hospital.example/log", KEK: kek, Keys: NewMemoryKeyStore(), CacheSize: cacheSize})
	require.NoError(t, err)
	return v
}

func tag(i int) ledger.SubjectTag { return ledger.DeriveSubjectTag("internal", fmt.Sprint(i)) }

// The payload's associated data names its subject on top of the per-subject
// key: were two subjects ever to share a key (a KeyStore bug, a restored
// backup mixing keys), a payload still would not open as the other's.
func TestPayloadBindsSubjectBeyondTheKey(t *testing.T) {
	v := newTestVault(t, 0)
	ctx := t.Context()
	sealed, err := v.Seal(ctx, tag(1), nil, []byte("x"))
	require.NoError(t, err)
	a, ok := v.cache.get(tag(1))
	require.True(t, ok)
	v.cache.put(tag(2), a) // tag(2) now uses tag(1)'s key
	_, err = v.Open(ctx, tag(2), nil, sealed)
	require.ErrorIs(t, err, ErrNotAuthentic)
}

func TestCacheIsBoundedLRU(t *testing.T) {
	v := newTestVault(t, 3)
	ctx := t.Context()
	for i := range 10 {
		_, err := v.Seal(ctx, tag(i), nil, []byte("x"))
		require.NoError(t, err)
		require.LessOrEqual(t, v.cache.len(), 3)
	}
	require.Equal(t, 3, v.cache.len())
	for i := range 7 {
		_, ok := v.cache.get(tag(i))
		require.False(t, ok, "subject %d should have been evicted", i)
	}
	// Touch 7, add 10: 8 is the least recently used and goes.
	_, ok := v.cache.get(tag(7))
	require.True(t, ok)
	_, err := v.Seal(ctx, tag(10), nil, []byte("x"))
	require.NoError(t, err)
	_, ok = v.cache.get(tag(8))
	require.False(t, ok)
	for _, i := range []int{7, 9, 10} {
		_, ok := v.cache.get(tag(i))
		require.True(t, ok, "subject %d", i)
	}
	// Evicted keys are reloaded from the store.
	sealed, err := v.Seal(ctx, tag(0), nil, []byte("again"))
	require.NoError(t, err)
	pt, err := v.Open(ctx, tag(0), nil, sealed)
	require.NoError(t, err)
	require.Equal(t, "again", string(pt))
}

// Another Vault's erasure reaches this Vault's cache when the key expires.
func TestCachedKeysExpire(t *testing.T) {
	v := newTestVault(t, 0)
	now := time.Unix(1e9, 0)
	v.cache.now = func() time.Time { return now }
	ctx := t.Context()
	sealed, err := v.Seal(ctx, tag(1), nil, []byte("x"))
	require.NoError(t, err)
	require.NoError(t, v.keys.Delete(ctx, tag(1))) // erased behind the Vault's back
	now = now.Add(DefaultCacheTTL - time.Second)
	_, err = v.Open(ctx, tag(1), nil, sealed)
	require.NoError(t, err, "still cached")
	now = now.Add(time.Second)
	_, err = v.Open(ctx, tag(1), nil, sealed)
	require.ErrorIs(t, err, ErrErased, "expired: the store's tombstone is read")
	require.Equal(t, 0, v.cache.len())
}

func TestCacheDisabled(t *testing.T) {
	v := newTestVault(t, -1)
	_, err := v.Seal(t.Context(), tag(1), nil, []byte("x"))
	require.NoError(t, err)
	require.Equal(t, 0, v.cache.len())
	require.Nil(t, v.cache)
	require.Equal(t, DefaultCacheSize, newTestVault(t, 0).cache.max)
}

func TestEraseEvictsTheCachedKey(t *testing.T) {
	v := newTestVault(t, 0)
	_, err := v.Seal(t.Context(), tag(1), nil, []byte("x"))
	require.NoError(t, err)
	require.NoError(t, v.EraseSubject(t.Context(), tag(1)))
	_, ok := v.cache.get(tag(1))
	require.False(t, ok)
}
