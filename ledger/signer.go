package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// CheckpointSigner is what a [Log] signs checkpoints with: an Ed25519 note
// signer whose public key is known, so that the log can also timestamp its
// checkpoints (see [Signer]) and check, when it opens a store, that the
// stored checkpoint was signed by this very key. [NewSigner],
// [NewSignerFunc] and package ledger/tinksigner return one.
type CheckpointSigner interface {
	note.Signer
	// PublicKey returns the Ed25519 public key of the signer (a copy).
	PublicKey() ed25519.PublicKey
}

// Signer signs checkpoints with an Ed25519 key: the log's C2SP
// tlog-checkpoint signature (note signature type 0x01) and the log's own
// timestamp line (a C2SP tlog-cosignature/v1 by the same key, type 0x04,
// see SPEC.md). The private key never leaves it: String, GoString, Format
// and LogValue show the key name, key ID and public key only. It is safe
// for concurrent use. Make one with NewSigner (a note signer key),
// NewSignerFunc (a key held elsewhere) or ledger/tinksigner (a Tink
// keyset).
type Signer struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
	vkey string
	sign func([]byte) ([]byte, error)
}

var _ CheckpointSigner = (*Signer)(nil)

// NewSigner returns the checkpoint signer for a signer key made by
// [GenerateKey] (the note signer key form
// "PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>"). The error never
// contains the key.
func NewSigner(signerKey string) (*Signer, error) {
	rest, ok := strings.CutPrefix(signerKey, signerKeyPrefix)
	if !ok {
		return nil, errors.New("ledger: malformed checkpoint signer key")
	}
	name, seed, err := parseTypedKey(rest, ed25519.SeedSize, func(seed []byte) ed25519.PublicKey {
		return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	})
	if err != nil || typedAlg(rest) != noteEd25519Alg {
		return nil, errors.New("ledger: malformed checkpoint signer key")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return newSigner(name, priv.Public().(ed25519.PublicKey), func(msg []byte) ([]byte, error) {
		return ed25519.Sign(priv, msg), nil
	})
}

// typedAlg returns the type byte of a "<name>+<id>+<base64(type || key)>"
// key that parseTypedKey accepted.
func typedAlg(key string) byte {
	_, rest, _ := strings.Cut(key, "+")
	_, b64, _ := strings.Cut(rest, "+")
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func newSigner(name string, pub ed25519.PublicKey, sign func([]byte) ([]byte, error)) (*Signer, error) {
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, fmt.Errorf("ledger: checkpoint key name: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("ledger: checkpoint verifier key: %w", err)
	}
	return &Signer{name: name, hash: v.KeyHash(), pub: pub, vkey: vkey, sign: sign}, nil
}

// Name returns the key name.
func (s *Signer) Name() string { return s.name }

// KeyHash returns the note key ID of the checkpoint signature.
func (s *Signer) KeyHash() uint32 { return s.hash }

// Sign signs msg with Ed25519.
func (s *Signer) Sign(msg []byte) ([]byte, error) { return s.sign(msg) }

// PublicKey returns a copy of the Ed25519 public key.
func (s *Signer) PublicKey() ed25519.PublicKey {
	return ed25519.PublicKey(append([]byte(nil), s.pub...))
}

// VerifierKey returns the note verifier key to publish to clients.
func (s *Signer) VerifierKey() string { return s.vkey }

// String returns the public verifier key: the key name, key ID and public
// key. Never the private key.
func (s *Signer) String() string { return "ledger.Signer(" + s.vkey + ")" }

// GoString is String, so %#v shows no private key either.
func (s *Signer) GoString() string { return s.String() }

// Format prints String for every verb, so %v, %+v, %#v, %s, %x and %q of a
// Signer show only public parts.
func (s *Signer) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue logs the public verifier key only.
func (s *Signer) LogValue() slog.Value { return slog.StringValue(s.vkey) }

// NewSignerFunc returns a checkpoint signer named name for an Ed25519 key
// held elsewhere (a KMS, an HSM, a Tink keyset: see package
// ledger/tinksigner): sign must return plain RFC 8032 Ed25519 signatures of
// its argument by the private key of pub. A probe signature is made and
// checked first, so a sign function of another algorithm or key is
// refused here rather than producing checkpoints nobody can verify.
func NewSignerFunc(name string, pub ed25519.PublicKey, sign func(msg []byte) ([]byte, error)) (*Signer, error) {
	if len(pub) != ed25519.PublicKeySize || sign == nil {
		return nil, fmt.Errorf("%w: an Ed25519 public key and a sign function are required", ErrInvalidConfig)
	}
	s, err := newSigner(name, ed25519.PublicKey(bytes.Clone(pub)), sign)
	if err != nil {
		return nil, err
	}
	probe := []byte("healthledger/signer-probe/v1\n")
	sig, err := s.Sign(probe)
	if err != nil || !ed25519.Verify(s.pub, probe, sig) {
		return nil, errors.New("ledger: the sign function does not produce Ed25519 signatures by the given public key")
	}
	return s, nil
}
