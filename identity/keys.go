package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

// KeyType is the algorithm of a key. The numeric values are part of the
// operation encoding (SPEC.md) and never change.
type KeyType uint8

// Key types. Signatures are Ed25519 (RFC 8032) or ECDSA P-256 with SHA-256
// in the 64-byte IEEE P1363 form r||s with a low s (s <= n/2).
const (
	KeyTypeEd25519 KeyType = 1
	KeyTypeP256    KeyType = 2
)

// String returns "Ed25519" or "P-256".
func (t KeyType) String() string {
	switch t {
	case KeyTypeEd25519:
		return "Ed25519"
	case KeyTypeP256:
		return "P-256"
	default:
		return fmt.Sprintf("KeyType(%d)", uint8(t))
	}
}

// publicKeySize returns the size of the canonical public key bytes of t:
// 32 for Ed25519, 33 (SEC 1 compressed point) for P-256.
func (t KeyType) publicKeySize() (int, error) {
	switch t {
	case KeyTypeEd25519:
		return ed25519.PublicKeySize, nil
	case KeyTypeP256:
		return 33, nil
	default:
		return 0, fmt.Errorf("%w: %d", ErrUnknownKeyType, uint8(t))
	}
}

// SignatureSize is the size of every signature this package makes or
// accepts: 64 bytes for both key types.
const SignatureSize = 64

// PublicKey is a verification key: a type and its canonical bytes (32 bytes
// for Ed25519, the 33-byte compressed point for P-256). The zero value is not
// a valid key. PublicKey values are immutable and safe for concurrent use.
type PublicKey struct {
	typ KeyType
	raw []byte
	ec  *ecdsa.PublicKey // parsed form of a P-256 key
}

// NewPublicKey returns the public key of type t with canonical bytes raw.
// It fails with ErrUnknownKeyType or ErrMalformedKey.
func NewPublicKey(t KeyType, raw []byte) (PublicKey, error) {
	size, err := t.publicKeySize()
	if err != nil {
		return PublicKey{}, err
	}
	if len(raw) != size {
		return PublicKey{}, fmt.Errorf("%w: %s key must be %d bytes", ErrMalformedKey, t, size)
	}
	k := PublicKey{typ: t, raw: bytes.Clone(raw)}
	if t == KeyTypeP256 {
		x, y := elliptic.UnmarshalCompressed(elliptic.P256(), raw)
		if x == nil {
			return PublicKey{}, fmt.Errorf("%w: not a compressed P-256 point", ErrMalformedKey)
		}
		unc := make([]byte, 65)
		unc[0] = 4
		x.FillBytes(unc[1:33])
		y.FillBytes(unc[33:])
		ec, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), unc)
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: invalid P-256 point", ErrMalformedKey)
		}
		k.ec = ec
	}
	return k, nil
}

// compressP256 converts an uncompressed SEC 1 point to the compressed form.
func compressP256(unc []byte) ([]byte, error) {
	if len(unc) != 65 || unc[0] != 4 {
		return nil, fmt.Errorf("%w: not an uncompressed P-256 point", ErrMalformedKey)
	}
	out := make([]byte, 33)
	out[0] = 2 | unc[64]&1
	copy(out[1:], unc[1:33])
	return out, nil
}

// Type returns the key type.
func (k PublicKey) Type() KeyType { return k.typ }

// Bytes returns a copy of the canonical key bytes.
func (k PublicKey) Bytes() []byte { return bytes.Clone(k.raw) }

// IsZero reports whether k is the zero value.
func (k PublicKey) IsZero() bool { return k.typ == 0 }

// Equal reports whether k and o are the same key, in constant time with
// respect to the key bytes.
func (k PublicKey) Equal(o PublicKey) bool {
	return k.typ == o.typ && len(k.raw) == len(o.raw) && subtle.ConstantTimeCompare(k.raw, o.raw) == 1
}

// String returns the key's multibase form (public information).
func (k PublicKey) String() string {
	if k.IsZero() {
		return "identity.PublicKey(zero)"
	}
	return k.Multibase()
}

// Multibase returns the key as a W3C Multikey publicKeyMultibase value:
// 'z' followed by base58btc(multicodec varint || key bytes), with multicodec
// 0xed (ed25519-pub) or 0x1200 (p256-pub, compressed point).
func (k PublicKey) Multibase() string {
	code := uint64(multicodecEd25519Pub)
	if k.typ == KeyTypeP256 {
		code = multicodecP256Pub
	}
	b := appendUvarint(nil, code)
	b = append(b, k.raw...)
	return "z" + base58Encode(b)
}

// ParseMultibase parses a publicKeyMultibase value made by [PublicKey.Multibase].
func ParseMultibase(s string) (PublicKey, error) {
	if len(s) < 2 || s[0] != 'z' {
		return PublicKey{}, fmt.Errorf("%w: multibase must start with 'z' (base58btc)", ErrMalformedKey)
	}
	b, err := base58Decode(s[1:])
	if err != nil {
		return PublicKey{}, err
	}
	code, n, err := readUvarint(b)
	if err != nil {
		return PublicKey{}, err
	}
	switch code {
	case multicodecEd25519Pub:
		return NewPublicKey(KeyTypeEd25519, b[n:])
	case multicodecP256Pub:
		return NewPublicKey(KeyTypeP256, b[n:])
	default:
		return PublicKey{}, fmt.Errorf("%w: multicodec 0x%x", ErrUnknownKeyType, code)
	}
}

// JWK is a public JSON Web Key (RFC 7517): an OKP Ed25519 key (RFC 8037) or
// an EC P-256 key. It never holds a private part.
type JWK struct {
	// Kty is "OKP" (Ed25519) or "EC" (P-256).
	Kty string `json:"kty"`
	// Crv is "Ed25519" or "P-256".
	Crv string `json:"crv"`
	// X is the base64url public key (Ed25519) or x coordinate (P-256).
	X string `json:"x"`
	// Y is the base64url y coordinate (P-256 only).
	Y string `json:"y,omitempty"`
}

// JWK returns the key as a public JWK.
func (k PublicKey) JWK() JWK {
	enc := base64.RawURLEncoding
	if k.typ == KeyTypeP256 {
		unc, err := k.ec.Bytes()
		if err != nil || len(unc) != 65 {
			return JWK{}
		}
		return JWK{Kty: "EC", Crv: "P-256", X: enc.EncodeToString(unc[1:33]), Y: enc.EncodeToString(unc[33:])}
	}
	return JWK{Kty: "OKP", Crv: "Ed25519", X: enc.EncodeToString(k.raw)}
}

// PublicKey converts a JWK to a key. It fails with ErrUnknownKeyType for
// other key types and curves, and ErrMalformedKey for bad coordinates.
func (j JWK) PublicKey() (PublicKey, error) {
	enc := base64.RawURLEncoding
	x, err := enc.DecodeString(j.X)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: JWK x", ErrMalformedKey)
	}
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		if j.Y != "" {
			return PublicKey{}, fmt.Errorf("%w: Ed25519 JWK with y", ErrMalformedKey)
		}
		return NewPublicKey(KeyTypeEd25519, x)
	case j.Kty == "EC" && j.Crv == "P-256":
		y, err := enc.DecodeString(j.Y)
		if err != nil || len(x) != 32 || len(y) != 32 {
			return PublicKey{}, fmt.Errorf("%w: JWK P-256 coordinates", ErrMalformedKey)
		}
		unc := append(append([]byte{4}, x...), y...)
		if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), unc); err != nil {
			return PublicKey{}, fmt.Errorf("%w: JWK P-256 point", ErrMalformedKey)
		}
		c, err := compressP256(unc)
		if err != nil {
			return PublicKey{}, err
		}
		return NewPublicKey(KeyTypeP256, c)
	default:
		return PublicKey{}, fmt.Errorf("%w: JWK kty/crv", ErrUnknownKeyType)
	}
}

// ParseJWK parses a public JWK in JSON form.
func ParseJWK(b []byte) (PublicKey, error) {
	var j JWK
	if err := json.Unmarshal(b, &j); err != nil {
		return PublicKey{}, fmt.Errorf("%w: JWK JSON", ErrMalformedKey)
	}
	return j.PublicKey()
}

// p256HalfOrder is n/2 for the P-256 group order n.
func p256HalfOrder() *big.Int {
	return new(big.Int).Rsh(elliptic.P256().Params().N, 1)
}

// Verify checks sig over msg. It returns nil or an error wrapping
// ErrBadSignature. P-256 signatures must be 64-byte r||s with s <= n/2.
func (k PublicKey) Verify(msg, sig []byte) error {
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: signature must be %d bytes", ErrBadSignature, SignatureSize)
	}
	switch k.typ {
	case KeyTypeEd25519:
		if !ed25519.Verify(ed25519.PublicKey(k.raw), msg, sig) {
			return ErrBadSignature
		}
		return nil
	case KeyTypeP256:
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		if s.Cmp(p256HalfOrder()) > 0 {
			return fmt.Errorf("%w: high-s ECDSA signature", ErrBadSignature)
		}
		digest := sha256.Sum256(msg)
		if !ecdsa.Verify(k.ec, digest[:], r, s) {
			return ErrBadSignature
		}
		return nil
	default:
		return fmt.Errorf("%w: %d", ErrUnknownKeyType, uint8(k.typ))
	}
}

// normalizeP256 rewrites a 64-byte r||s signature to its low-s form.
func normalizeP256(sig []byte) []byte {
	if len(sig) != SignatureSize {
		return sig
	}
	s := new(big.Int).SetBytes(sig[32:])
	if s.Cmp(p256HalfOrder()) <= 0 {
		return sig
	}
	s.Sub(elliptic.P256().Params().N, s)
	out := bytes.Clone(sig)
	s.FillBytes(out[32:])
	return out
}
