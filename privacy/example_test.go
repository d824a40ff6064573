package privacy_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/healthledger/healthledger/privacy"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

func Example() {
	ctx := context.Background()
	// The KEK: in production a KMS key (registry.KMSClient.GetAEAD); here a
	// local Tink keyset, as in development.
	kekHandle, _ := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	kek, _ := aead.New(kekHandle)

	// The deployment secret for subject tags.
	prfKeyset, _ := privacy.NewTaggerKeyset()
	tagger, _ := privacy.NewTagger(prfKeyset, "hospital.example/log")
	patient, _ := tagger.Tag("mrn", "000123456")

	vault, _ := privacy.NewVault(privacy.VaultConfig{
		Origin: "hospital.example/log",
		KEK:    kek,
		Keys:   privacy.NewMemoryKeyStore(), // privacy/filekeystore for real
	})
	ad := []byte("kind=0x0101;healthledger/consent/v1")
	sealed, _ := vault.Seal(ctx, patient, ad, []byte(`{"grantee":"did:hl:clinic"}`))
	body, _ := vault.Open(ctx, patient, ad, sealed)
	fmt.Println(string(body))

	// Erasure: the key is destroyed, the payload stays sealed forever.
	_ = vault.EraseSubject(ctx, patient)
	_, err := vault.Open(ctx, patient, ad, sealed)
	fmt.Println(errors.Is(err, privacy.ErrErased))
	state, _ := vault.Status(ctx, patient)
	fmt.Println(state)
	// Output:
	// {"grantee":"did:hl:clinic"}
	// true
	// erased
}

func ExampleTagger_TagAt() {
	prfKeyset, _ := privacy.NewTaggerKeyset()
	tagger, _ := privacy.NewTagger(prfKeyset, "hospital.example/log")
	a, _ := tagger.TagAt("mrn", "000123456", 2025)
	b, _ := tagger.TagAt("mrn", "000123456", 2026)
	fmt.Println(a == b)
	// Output: false
}

func ExampleVault_Bind() {
	kekHandle, _ := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	kek, _ := aead.New(kekHandle)
	vault, _ := privacy.NewVault(privacy.VaultConfig{Origin: "hospital.example/log", KEK: kek, Keys: privacy.NewMemoryKeyStore()})
	// A sealer with consent.Sealer's method set, for consent.RegistryConfig.Sealer.
	sealer := vault.Bind([]byte("healthledger/consent/v1"))
	fmt.Println(sealer)
	// Output: privacy.BoundSealer(23 bytes of associated data, privacy.Vault(origin "hospital.example/log", 0 data keys cached))
}
