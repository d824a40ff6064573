package identity

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/signature"
	tinkecdsa "github.com/tink-crypto/tink-go/v2/signature/ecdsa"
	tinked25519 "github.com/tink-crypto/tink-go/v2/signature/ed25519"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// PrivateKey is a signing key held in a Tink keyset. The secret never leaves
// the keyset handle through this package: there is no accessor for it, and
// String, fmt verbs and slog show only the key type and the public key.
// The keyset can be persisted only encrypted, see [PrivateKey.WriteEncrypted].
// A PrivateKey is safe for concurrent use.
type PrivateKey struct {
	handle *keyset.Handle
	signer tink.Signer
	pub    PublicKey
}

// GenerateKey generates a new key of type t in a fresh Tink keyset
// (template ED25519 without prefix, or ECDSA P-256 SHA-256 IEEE P1363
// without prefix).
func GenerateKey(t KeyType) (*PrivateKey, error) {
	var h *keyset.Handle
	var err error
	switch t {
	case KeyTypeEd25519:
		h, err = keyset.NewHandle(signature.ED25519KeyWithoutPrefixTemplate())
	case KeyTypeP256:
		h, err = keyset.NewHandle(signature.ECDSAP256RawKeyTemplate())
	default:
		return nil, fmt.Errorf("%w: %d", ErrUnknownKeyType, uint8(t))
	}
	if err != nil {
		return nil, fmt.Errorf("identity: generating %s keyset: %w", t, err)
	}
	return NewPrivateKey(h)
}

// NewPrivateKey wraps a Tink keyset handle whose primary key is an Ed25519
// key without output prefix or an ECDSA P-256/SHA-256 key with IEEE P1363
// encoding without output prefix. Other keys fail with ErrUnknownKeyType.
func NewPrivateKey(h *keyset.Handle) (*PrivateKey, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil keyset handle", ErrUnknownKeyType)
	}
	pubHandle, err := h.Public()
	if err != nil {
		return nil, fmt.Errorf("%w: keyset has no private signing key", ErrUnknownKeyType)
	}
	primary, err := pubHandle.Primary()
	if err != nil {
		return nil, fmt.Errorf("%w: keyset has no primary key", ErrUnknownKeyType)
	}
	pub, err := publicFromTink(primary)
	if err != nil {
		return nil, err
	}
	s, err := signature.NewSigner(h)
	if err != nil {
		return nil, fmt.Errorf("%w: keyset is not a signing keyset", ErrUnknownKeyType)
	}
	return &PrivateKey{handle: h, signer: s, pub: pub}, nil
}

// publicFromTink converts the public key of a Tink keyset entry.
func publicFromTink(e *keyset.Entry) (PublicKey, error) {
	switch k := e.Key().(type) {
	case *tinked25519.PublicKey:
		p, ok := k.Parameters().(*tinked25519.Parameters)
		if !ok || p.Variant() != tinked25519.VariantNoPrefix {
			return PublicKey{}, fmt.Errorf("%w: Ed25519 keys must have no output prefix", ErrUnknownKeyType)
		}
		return NewPublicKey(KeyTypeEd25519, k.KeyBytes())
	case *tinkecdsa.PublicKey:
		p, ok := k.Parameters().(*tinkecdsa.Parameters)
		if !ok || p.CurveType() != tinkecdsa.NistP256 || p.HashType() != tinkecdsa.SHA256 ||
			p.SignatureEncoding() != tinkecdsa.IEEEP1363 || p.Variant() != tinkecdsa.VariantNoPrefix {
			return PublicKey{}, fmt.Errorf("%w: ECDSA keys must be P-256, SHA-256, IEEE P1363, no prefix", ErrUnknownKeyType)
		}
		c, err := compressP256(k.PublicPoint())
		if err != nil {
			return PublicKey{}, err
		}
		return NewPublicKey(KeyTypeP256, c)
	default:
		return PublicKey{}, fmt.Errorf("%w: %T", ErrUnknownKeyType, k)
	}
}

// Public returns the public key.
func (k *PrivateKey) Public() PublicKey { return k.pub }

// Type returns the key type.
func (k *PrivateKey) Type() KeyType { return k.pub.typ }

// Sign signs msg. P-256 signatures are returned in low-s form.
func (k *PrivateKey) Sign(msg []byte) ([]byte, error) {
	sig, err := k.signer.Sign(msg)
	if err != nil {
		return nil, fmt.Errorf("identity: signing with %s key: %w", k.pub.typ, err)
	}
	if k.pub.typ == KeyTypeP256 {
		sig = normalizeP256(sig)
	}
	return sig, nil
}

// WriteEncrypted writes the keyset in Tink's binary format, encrypted under
// the key-encryption AEAD kek (for example a KMS client's AEAD) with the
// given associated data, which must be presented again to read it.
func (k *PrivateKey) WriteEncrypted(w io.Writer, kek tink.AEAD, associatedData []byte) error {
	if kek == nil {
		return fmt.Errorf("identity: WriteEncrypted needs a key-encryption AEAD")
	}
	if err := k.handle.WriteWithAssociatedData(keyset.NewBinaryWriter(w), kek, associatedData); err != nil {
		return fmt.Errorf("identity: writing encrypted keyset: %w", err)
	}
	return nil
}

// ReadPrivateKey reads a keyset written by [PrivateKey.WriteEncrypted].
func ReadPrivateKey(r io.Reader, kek tink.AEAD, associatedData []byte) (*PrivateKey, error) {
	if kek == nil {
		return nil, fmt.Errorf("identity: ReadPrivateKey needs a key-encryption AEAD")
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(r), kek, associatedData)
	if err != nil {
		return nil, fmt.Errorf("identity: reading encrypted keyset: %w", err)
	}
	return NewPrivateKey(h)
}

// String describes the key without secret material.
func (k PrivateKey) String() string {
	return "identity.PrivateKey(" + k.pub.typ.String() + ", public " + k.pub.Multibase() + ")"
}

// GoString is String, so that %#v shows no secret either.
func (k PrivateKey) GoString() string { return k.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (k PrivateKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue implements slog.LogValuer: logs show only the public description.
func (k PrivateKey) LogValue() slog.Value { return slog.StringValue(k.String()) }
