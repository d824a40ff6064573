package privacybench

import (
	"errors"
	"testing"

	"github.com/healthledger/healthledger/privacy"
	"github.com/healthledger/healthledger/privacy/filekeystore"
	"github.com/stretchr/testify/require"
)

// `go test ./privacy` checks the benchmark bodies' setup without timing
// anything: seeded keys erase, cold Vaults open what cached ones sealed.

func TestSeedAndErase(t *testing.T) {
	ctx := t.Context()
	for _, keys := range []privacy.KeyStore{privacy.NewMemoryKeyStore(), func() privacy.KeyStore {
		s, err := filekeystore.Open(filekeystore.Config{Dir: t.TempDir()})
		require.NoError(t, err)
		return s
	}()} {
		require.NoError(t, seedKeys(ctx, keys, 10))
		v, err := newVault(keys, 0)
		require.NoError(t, err)
		for i := range 10 {
			require.NoError(t, v.EraseSubject(ctx, subject(i)))
			st, err := v.Status(ctx, subject(i))
			require.NoError(t, err)
			require.Equal(t, privacy.SubjectErased, st)
		}
	}
}

func TestColdVaultUnwrapsEveryCall(t *testing.T) {
	ctx := t.Context()
	keys := privacy.NewMemoryKeyStore()
	v, err := newVault(keys, -1)
	require.NoError(t, err)
	sealed, err := v.Seal(ctx, subject(0), nil, make([]byte, payloadSize))
	require.NoError(t, err)
	require.Contains(t, v.String(), "0 data keys cached")
	pt, err := v.Open(ctx, subject(0), nil, sealed)
	require.NoError(t, err)
	require.Len(t, pt, payloadSize)
	require.NoError(t, keys.Delete(ctx, subject(0)))
	_, err = v.Open(ctx, subject(0), nil, sealed)
	require.True(t, errors.Is(err, privacy.ErrErased), "a cold Vault reads the store on every call")
}
