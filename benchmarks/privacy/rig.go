// Package privacybench measures package privacy: sealing and opening a
// 1 KiB payload with the subject's data key cached and cold (unwrapped
// with the KEK on every call), computing subject tags, and erasing a
// subject on the memory and the durable file key stores.
//
//	cd benchmarks
//	go test -run '^$' -bench . -benchmem -count 5 ./privacy
package privacybench

import (
	"context"
	"fmt"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/privacy"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// payloadSize is the size of a sealed payload's plaintext.
const payloadSize = 1024

const origin = "bench.example/log"

// newVault returns a Vault over keys with a fresh local KEK. cacheSize as
// VaultConfig.CacheSize: negative disables the cache (every call unwraps).
func newVault(keys privacy.KeyStore, cacheSize int) (*privacy.Vault, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, err
	}
	kek, err := aead.New(h)
	if err != nil {
		return nil, err
	}
	return privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: keys, CacheSize: cacheSize})
}

// subject returns the i-th benchmark subject.
func subject(i int) ledger.SubjectTag { return ledger.DeriveSubjectTag("bench", fmt.Sprint(i)) }

// seedKeys stores a wrapped key for subjects [0, n) directly in keys (the
// bytes are never unwrapped: erasure does not read them).
func seedKeys(ctx context.Context, keys privacy.KeyStore, n int) error {
	wrapped := make([]byte, 150) // about the size of a wrapped AES256-GCM keyset
	wrapped[0] = 1
	for i := range n {
		if err := keys.Put(ctx, subject(i), wrapped); err != nil {
			return err
		}
	}
	return nil
}
