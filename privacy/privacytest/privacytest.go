// Package privacytest gives tests of packages that seal and tag (consent,
// records, the read path) a real privacy.Vault and privacy.Tagger, set up
// the way a development deployment is: a fresh local key-encryption key,
// data keys in memory, a fresh PRF key. Nothing survives the test.
package privacytest

import (
	"testing"

	"github.com/healthledger/healthledger/privacy"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// Vault returns a Vault for origin under a fresh local AES-256-GCM
// key-encryption key, its data keys in a MemoryKeyStore.
func Vault(t testing.TB, origin string) *privacy.Vault {
	t.Helper()
	kh, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	require.NoError(t, err)
	kek, err := aead.New(kh)
	require.NoError(t, err)
	v, err := privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: privacy.NewMemoryKeyStore()})
	require.NoError(t, err)
	return v
}

// Tagger returns a Tagger for origin under a fresh PRF key.
func Tagger(t testing.TB, origin string) *privacy.Tagger {
	t.Helper()
	h, err := privacy.NewTaggerKeyset()
	require.NoError(t, err)
	tg, err := privacy.NewTagger(h, origin)
	require.NoError(t, err)
	return tg
}
