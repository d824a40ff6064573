// Package tinksigner makes a log's checkpoint signer from a Tink keyset, so
// that the log's private key can live in a keyset encrypted under a KMS key
// and never in a plain file.
//
// It is a package of its own so that what only writers need (Tink and its
// protobuf dependencies) stays out of package ledger, which verifiers,
// clients and auditors import: a program that only checks receipts links
// no Tink.
package tinksigner

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/healthledger/healthledger/ledger"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/signature"
	tinked25519 "github.com/tink-crypto/tink-go/v2/signature/ed25519"
)

// New returns a checkpoint signer named name whose signatures are made by
// the primary key of h, and the note verifier key to publish. The primary
// key MUST be an Ed25519 key with the RAW output prefix (Tink template
// signature.ED25519KeyWithoutPrefixTemplate), so that its signatures are
// plain RFC 8032 signatures of the note text; any other key type or prefix
// is refused. The key material stays inside the handle.
func New(h *keyset.Handle, name string) (*ledger.Signer, string, error) {
	if h == nil {
		return nil, "", errors.New("tinksigner: nil Tink keyset handle")
	}
	entry, err := h.Primary()
	if err != nil {
		return nil, "", fmt.Errorf("tinksigner: the keyset has no primary key: %w", err)
	}
	priv, ok := entry.Key().(*tinked25519.PrivateKey)
	if !ok {
		return nil, "", errors.New("tinksigner: the primary key is not an Ed25519 private key")
	}
	params, ok := priv.Parameters().(*tinked25519.Parameters)
	if !ok || params.Variant() != tinked25519.VariantNoPrefix {
		return nil, "", errors.New("tinksigner: the Ed25519 key must use the RAW output prefix")
	}
	pubKey, err := priv.PublicKey()
	if err != nil {
		return nil, "", fmt.Errorf("tinksigner: public key: %w", err)
	}
	pub, ok := pubKey.(*tinked25519.PublicKey)
	if !ok {
		return nil, "", errors.New("tinksigner: the public key is not Ed25519")
	}
	prim, err := signature.NewSigner(h)
	if err != nil {
		return nil, "", fmt.Errorf("tinksigner: %w", err)
	}
	s, err := ledger.NewSignerFunc(name, ed25519.PublicKey(pub.KeyBytes()), prim.Sign)
	if err != nil {
		return nil, "", err
	}
	return s, s.VerifierKey(), nil
}
