package privacy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/privacy"
	"github.com/stretchr/testify/require"
)

func TestSealOpenRoundTrip(t *testing.T) {
	kek, _ := newKEK(t)
	v := newVault(t, kek, privacy.NewMemoryKeyStore())
	big := make([]byte, 64<<10)
	_, _ = rand.Read(big)
	for _, tt := range []struct {
		name   string
		ad, pt []byte
	}{
		{"empty", nil, nil},
		{"1 KiB", []byte("kind=0x0101"), bytes.Repeat([]byte("phi "), 256)},
		{"64 KiB", []byte("ctx"), big},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := subject(tt.name)
			sealed, err := v.Seal(t.Context(), s, tt.ad, tt.pt)
			require.NoError(t, err)
			require.Len(t, sealed, len(tt.pt)+privacy.SealOverhead)
			if len(tt.pt) > 0 {
				require.NotContains(t, string(sealed), string(tt.pt))
			}
			again, err := v.Seal(t.Context(), s, tt.ad, tt.pt)
			require.NoError(t, err)
			require.NotEqual(t, sealed, again, "sealing is randomized")
			pt, err := v.Open(t.Context(), s, tt.ad, sealed)
			require.NoError(t, err)
			require.Equal(t, len(tt.pt), len(pt))
			require.True(t, bytes.Equal(tt.pt, pt))
		})
	}
}

// keyState snapshots what a Vault may have changed: the stored wrapped keys
// of subjects.
func keyState(t *testing.T, keys privacy.KeyStore, subjects ...ledger.SubjectTag) []string {
	var out []string
	for _, s := range subjects {
		w, err := keys.Get(context.Background(), s)
		out = append(out, fmt.Sprintf("%x %v", w, err))
	}
	return out
}

func TestOpenBadInputIsTypedAndChangesNothing(t *testing.T) {
	kek, _ := newKEK(t)
	keys := privacy.NewMemoryKeyStore()
	v := newVault(t, kek, keys)
	ctx := t.Context()
	alice, bob, carol := subject("alice"), subject("bob"), subject("carol")
	ad := []byte("kind=0x0101;consent")
	sealed, err := v.Seal(ctx, alice, ad, []byte("alice's consent"))
	require.NoError(t, err)
	bobs, err := v.Seal(ctx, bob, ad, []byte("bob's consent"))
	require.NoError(t, err)
	// A payload re-sealed: Alice's sealed bytes sealed again as a plaintext.
	resealed, err := v.Seal(ctx, alice, ad, sealed)
	require.NoError(t, err)

	otherKEK, _ := newKEK(t)
	otherVault := newVault(t, otherKEK, privacy.NewMemoryKeyStore())
	foreign, err := otherVault.Seal(ctx, alice, ad, []byte("alice elsewhere"))
	require.NoError(t, err)
	otherOrigin, err := privacy.NewVault(privacy.VaultConfig{Origin: "clinic.example/log", KEK: kek, Keys: keys})
	require.NoError(t, err)

	flip := func(i int) []byte { b := bytes.Clone(sealed); b[i] ^= 1; return b }
	tests := []struct {
		name    string
		v       *privacy.Vault
		subject ledger.SubjectTag
		ad      []byte
		sealed  []byte
		want    error
	}{
		{"moved to another subject", v, bob, ad, sealed, privacy.ErrNotAuthentic},
		{"other associated data", v, alice, []byte("kind=0x0102;consent"), sealed, privacy.ErrNotAuthentic},
		{"no associated data", v, alice, nil, sealed, privacy.ErrNotAuthentic},
		{"another subject's payload", v, alice, ad, bobs, privacy.ErrNotAuthentic},
		{"another deployment's key", v, alice, ad, foreign, privacy.ErrNotAuthentic},
		{"read under another origin", otherOrigin, alice, ad, sealed, privacy.ErrWrappedKey},
		{"truncated by one byte", v, alice, ad, sealed[:len(sealed)-1], privacy.ErrNotAuthentic},
		{"truncated to the minimum", v, alice, ad, sealed[:privacy.SealOverhead], privacy.ErrNotAuthentic},
		{"truncated below the minimum", v, alice, ad, sealed[:privacy.SealOverhead-1], privacy.ErrMalformed},
		{"empty", v, alice, ad, nil, privacy.ErrMalformed},
		{"unknown version", v, alice, ad, flip(0), privacy.ErrMalformed},
		{"altered key ID", v, alice, ad, flip(3), privacy.ErrNotAuthentic},
		{"altered nonce", v, alice, ad, flip(8), privacy.ErrNotAuthentic},
		{"altered ciphertext", v, alice, ad, flip(20), privacy.ErrNotAuthentic},
		{"altered tag", v, alice, ad, flip(len(sealed) - 1), privacy.ErrNotAuthentic},
		{"never-sealed subject", v, carol, ad, sealed, privacy.ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := keyState(t, keys, alice, bob, carol)
			pt, err := tt.v.Open(ctx, tt.subject, tt.ad, tt.sealed)
			require.Nil(t, pt)
			require.ErrorIs(t, err, tt.want)
			var se *privacy.SubjectError
			require.ErrorAs(t, err, &se)
			require.Equal(t, "open", se.Op)
			require.Equal(t, tt.subject, se.Subject)
			require.NotContains(t, err.Error(), "consent", "an error repeats no plaintext or associated data")
			require.Equal(t, before, keyState(t, keys, alice, bob, carol), "a failed Open changed the key store")
		})
	}
	// Re-sealed bytes open to the inner sealed bytes, never to the plaintext.
	inner, err := v.Open(ctx, alice, ad, resealed)
	require.NoError(t, err)
	require.Equal(t, sealed, inner)
	// After all that, the good payload still opens.
	pt, err := v.Open(ctx, alice, ad, sealed)
	require.NoError(t, err)
	require.Equal(t, "alice's consent", string(pt))
	st, err := v.Status(ctx, carol)
	require.NoError(t, err)
	require.Equal(t, privacy.SubjectAbsent, st, "Open must not create a key")
}

// corruptStore returns stored wrapped keys with one byte flipped.
type corruptStore struct {
	privacy.KeyStore
	at int
}

func (c corruptStore) Get(ctx context.Context, s ledger.SubjectTag) ([]byte, error) {
	w, err := c.KeyStore.Get(ctx, s)
	if err == nil {
		w[c.at%len(w)] ^= 0x40
	}
	return w, err
}

func TestBadWrappedKeyIsTypedAndChangesNothing(t *testing.T) {
	kek, _ := newKEK(t)
	keys := privacy.NewMemoryKeyStore()
	v := newVault(t, kek, keys)
	ctx := t.Context()
	alice, bob := subject("alice"), subject("bob")
	sealed, err := v.Seal(ctx, alice, nil, []byte("x"))
	require.NoError(t, err)
	wrapped, err := keys.Get(ctx, alice)
	require.NoError(t, err)

	t.Run("corrupted", func(t *testing.T) {
		for _, at := range []int{0, 1, 10, len(wrapped) / 2, len(wrapped) - 1} {
			cs := corruptStore{KeyStore: keys, at: at}
			cv := newVault(t, kek, cs)
			_, err := cv.Open(ctx, alice, nil, sealed)
			require.ErrorIs(t, err, privacy.ErrWrappedKey, "flip at %d", at)
			_, err = cv.Seal(ctx, alice, nil, []byte("y"))
			require.ErrorIs(t, err, privacy.ErrWrappedKey, "Seal must not replace a key it cannot unwrap")
			again, err := keys.Get(ctx, alice)
			require.NoError(t, err)
			require.Equal(t, wrapped, again)
		}
	})
	t.Run("moved to another subject", func(t *testing.T) {
		moved := privacy.NewMemoryKeyStore()
		require.NoError(t, moved.Put(ctx, bob, wrapped))
		mv := newVault(t, kek, moved)
		_, err := mv.Open(ctx, bob, nil, sealed)
		require.ErrorIs(t, err, privacy.ErrWrappedKey)
	})
	t.Run("another KEK", func(t *testing.T) {
		otherKEK, _ := newKEK(t)
		ov := newVault(t, otherKEK, keys)
		_, err := ov.Open(ctx, alice, nil, sealed)
		require.ErrorIs(t, err, privacy.ErrWrappedKey)
	})
}

func TestEraseSubject(t *testing.T) {
	kek, _ := newKEK(t)
	keys := privacy.NewMemoryKeyStore()
	v := newVault(t, kek, keys)
	ctx := t.Context()
	alice, bob, never := subject("alice"), subject("bob"), subject("never")
	sa, err := v.Seal(ctx, alice, nil, []byte("alice"))
	require.NoError(t, err)
	sb, err := v.Seal(ctx, bob, nil, []byte("bob"))
	require.NoError(t, err)
	// Alice's key is in the cache now: erasure must evict it.
	require.NoError(t, v.EraseSubject(ctx, alice))

	_, err = v.Open(ctx, alice, nil, sa)
	require.ErrorIs(t, err, privacy.ErrErased)
	require.NotErrorIs(t, err, privacy.ErrNoKey)
	var se *privacy.SubjectError
	require.ErrorAs(t, err, &se)
	require.Equal(t, alice, se.Subject)

	_, err = v.Seal(ctx, alice, nil, []byte("again"))
	require.ErrorIs(t, err, privacy.ErrErased, "an erased subject gets no new key")
	_, err = v.Open(ctx, alice, nil, sa)
	require.ErrorIs(t, err, privacy.ErrErased, "a refused Seal must not revive the subject")

	pt, err := v.Open(ctx, bob, nil, sb)
	require.NoError(t, err, "erasing one subject leaves the others")
	require.Equal(t, "bob", string(pt))

	for _, tt := range []struct {
		s    ledger.SubjectTag
		want privacy.SubjectState
	}{{alice, privacy.SubjectErased}, {bob, privacy.SubjectKeyed}, {never, privacy.SubjectAbsent}} {
		st, err := v.Status(ctx, tt.s)
		require.NoError(t, err)
		require.Equal(t, tt.want, st)
	}
	_, err = v.Open(ctx, never, nil, sa)
	require.ErrorIs(t, err, privacy.ErrNoKey)
	require.NotErrorIs(t, err, privacy.ErrErased)

	require.NoError(t, v.EraseSubject(ctx, alice), "erasure is idempotent")
	require.NoError(t, v.EraseSubject(ctx, never))
	st, err := v.Status(ctx, never)
	require.NoError(t, err)
	require.Equal(t, privacy.SubjectErased, st, "erasing a subject without key leaves a tombstone")
	_, err = v.Seal(ctx, never, nil, []byte("x"))
	require.ErrorIs(t, err, privacy.ErrErased)
}

func TestEraseIsSeenByAnotherVaultOnTheStore(t *testing.T) {
	kek, _ := newKEK(t)
	keys := privacy.NewMemoryKeyStore()
	writer := newVault(t, kek, keys)
	reader, err := privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: keys, CacheSize: -1})
	require.NoError(t, err)
	ctx := t.Context()
	s := subject("alice")
	sealed, err := writer.Seal(ctx, s, nil, []byte("x"))
	require.NoError(t, err)
	_, err = reader.Open(ctx, s, nil, sealed)
	require.NoError(t, err)
	require.NoError(t, writer.EraseSubject(ctx, s))
	_, err = reader.Open(ctx, s, nil, sealed)
	require.ErrorIs(t, err, privacy.ErrErased)
}

func TestCancelledContext(t *testing.T) {
	kek, _ := newKEK(t)
	keys := privacy.NewMemoryKeyStore()
	v, err := privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: keys, CacheSize: -1})
	require.NoError(t, err)
	s := subject("alice")
	sealed, err := v.Seal(t.Context(), s, nil, []byte("x"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = v.Seal(ctx, subject("bob"), nil, []byte("x"))
	require.ErrorIs(t, err, context.Canceled)
	_, err = v.Open(ctx, s, nil, sealed)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, v.EraseSubject(ctx, s), context.Canceled)
	st, err := v.Status(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, privacy.SubjectKeyed, st)
	st, err = v.Status(t.Context(), subject("bob"))
	require.NoError(t, err)
	require.Equal(t, privacy.SubjectAbsent, st)
}

func TestNewVaultRefuses(t *testing.T) {
	kek, _ := newKEK(t)
	keys := privacy.NewMemoryKeyStore()
	for _, cfg := range []privacy.VaultConfig{
		{KEK: kek, Keys: keys},
		{Origin: origin, Keys: keys},
		{Origin: origin, KEK: kek},
	} {
		_, err := privacy.NewVault(cfg)
		require.ErrorIs(t, err, privacy.ErrInvalidConfig)
	}
}

// Many goroutines create, use and erase keys at once (run with -race):
// every subject ends with one key, every payload sealed before its
// subject's erasure began opens until then, and none opens after.
func TestConcurrentSealOpenErase(t *testing.T) {
	kek, _ := newKEK(t)
	keys := privacy.NewMemoryKeyStore()
	// Two Vaults on one store stand for two processes racing to create
	// keys. The second caches nothing, so that it sees the first's erasures
	// (a cache is per Vault).
	v1, err := privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: keys, CacheSize: 4})
	require.NoError(t, err)
	v2, err := privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: keys, CacheSize: -1})
	require.NoError(t, err)
	vaults := []*privacy.Vault{v1, v2}
	ctx := t.Context()
	const subjects, workers, rounds = 8, 16, 20

	var mu sync.Mutex
	sealed := map[int][][]byte{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			v := vaults[w%2]
			for r := range rounds {
				i := (w + r) % subjects
				s, err := v.Seal(ctx, subject(fmt.Sprint(i)), []byte("ad"), []byte(fmt.Sprint(i)))
				if errors.Is(err, privacy.ErrErased) {
					continue
				}
				require.NoError(t, err)
				pt, err := v.Open(ctx, subject(fmt.Sprint(i)), []byte("ad"), s)
				if err == nil {
					require.Equal(t, fmt.Sprint(i), string(pt))
				} else {
					require.ErrorIs(t, err, privacy.ErrErased)
				}
				mu.Lock()
				sealed[i] = append(sealed[i], s)
				mu.Unlock()
			}
		})
	}
	var erased atomic.Int32
	wg.Go(func() {
		for i := 0; i < subjects; i += 2 {
			// Through the caching Vault: the other caches nothing. (A
			// cache sees another Vault's erasure only after CacheTTL,
			// TestCachedKeysExpire.)
			require.NoError(t, v1.EraseSubject(ctx, subject(fmt.Sprint(i))))
			erased.Add(1)
		}
	})
	wg.Wait()
	require.Equal(t, int32(subjects/2), erased.Load())
	for i, list := range sealed {
		for _, s := range list {
			for _, v := range vaults {
				pt, err := v.Open(ctx, subject(fmt.Sprint(i)), []byte("ad"), s)
				if i%2 == 0 {
					require.ErrorIs(t, err, privacy.ErrErased)
					continue
				}
				require.NoError(t, err, "a payload sealed by either Vault opens with both: one key per subject")
				require.Equal(t, fmt.Sprint(i), string(pt))
			}
		}
	}
}

// consentSealer is consent.Sealer's method set, copied so that this test
// needs no import of package consent.
type consentSealer interface {
	Seal(ctx context.Context, subject ledger.SubjectTag, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, subject ledger.SubjectTag, sealed []byte) ([]byte, error)
}

func TestBoundSealer(t *testing.T) {
	kek, _ := newKEK(t)
	v := newVault(t, kek, privacy.NewMemoryKeyStore())
	ctx := t.Context()
	ad := []byte("healthledger/consent/v1")
	var cs consentSealer = v.Bind(ad)
	s := subject("alice")
	sealed, err := cs.Seal(ctx, s, []byte("grant"))
	require.NoError(t, err)
	pt, err := cs.Open(ctx, s, sealed)
	require.NoError(t, err)
	require.Equal(t, "grant", string(pt))
	pt, err = v.Open(ctx, s, ad, sealed)
	require.NoError(t, err, "a bound sealer is the Vault with fixed associated data")
	require.Equal(t, "grant", string(pt))

	other := v.Bind([]byte("healthledger/access/v1"))
	_, err = other.Open(ctx, s, sealed)
	require.ErrorIs(t, err, privacy.ErrNotAuthentic, "payloads of two purposes do not mix")
	_, err = cs.Open(ctx, subject("bob"), sealed)
	require.Error(t, err)
	ad[0] = 'X' // Bind copied its argument
	_, err = cs.Open(ctx, s, sealed)
	require.NoError(t, err)
}

// laxStore breaks the KeyStore contract: Put replaces tombstones.
type laxStore struct {
	mu   sync.Mutex
	keys map[ledger.SubjectTag][]byte // nil value: tombstone
}

func (l *laxStore) Get(_ context.Context, s ledger.SubjectTag) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.keys[s]
	if !ok {
		return nil, privacy.ErrNoKey
	}
	if w == nil {
		return nil, privacy.ErrErased
	}
	return bytes.Clone(w), nil
}

func (l *laxStore) Put(_ context.Context, s ledger.SubjectTag, w []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys[s] = bytes.Clone(w)
	return nil
}

func (l *laxStore) Delete(_ context.Context, s ledger.SubjectTag) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys[s] = nil
	return nil
}

// The Vault itself refuses to seal for an erased subject, not only the
// KeyStore: a store that would accept a new key does not revive it.
func TestSealAfterEraseRefusedByTheVaultItself(t *testing.T) {
	kek, _ := newKEK(t)
	v := newVault(t, kek, &laxStore{keys: map[ledger.SubjectTag][]byte{}})
	ctx := t.Context()
	s := subject("alice")
	_, err := v.Seal(ctx, s, nil, []byte("x"))
	require.NoError(t, err)
	require.NoError(t, v.EraseSubject(ctx, s))
	_, err = v.Seal(ctx, s, nil, []byte("y"))
	require.ErrorIs(t, err, privacy.ErrErased)
	st, err := v.Status(ctx, s)
	require.NoError(t, err)
	require.Equal(t, privacy.SubjectErased, st)
}
