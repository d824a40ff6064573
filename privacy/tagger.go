package privacy

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/healthledger/healthledger/ledger"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/prf/hmacprf"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// MaxTagFieldSize bounds each of a tag's text inputs (origin, namespace,
// identifier), in bytes.
const MaxTagFieldSize = 64 << 10

// Tagger computes keyed pseudonymous subject tags under a deployment
// secret held in a Tink PRF keyset (HMAC-SHA256):
//
//	tag = HMAC-SHA256(key, field(TagNamespace) field(origin) field(namespace) field(identifier) epoch)
//
// (the exact encoding is in SPEC.md, with vectors in testdata). Only a
// holder of the keyset can compute a tag; see the package documentation for
// who can link what. Tags are computed with the keyset's primary key:
// rotating the primary key changes every tag, so bound linkage over time
// with epochs instead, and keep the keyset.
//
// The key stays inside the Tink handle: there is no accessor for it, and
// String, every fmt verb and slog show only the origin and the key ID. The
// keyset is persisted only encrypted ([Tagger.WriteEncrypted]). A Tagger
// is immutable and safe for concurrent use.
type Tagger struct {
	origin string
	handle *keyset.Handle
	prf    prf.PRF
	keyID  uint32
}

// NewTaggerKeyset generates a fresh Tagger keyset: one HMAC-SHA256 PRF key
// of 32 bytes (template prf.HMACSHA256PRFKeyTemplate). Generate it once per
// deployment and keep it, encrypted, for as long as its tags are used.
func NewTaggerKeyset() (*keyset.Handle, error) {
	h, err := keyset.NewHandle(prf.HMACSHA256PRFKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("privacy: generating PRF keyset: %w", err)
	}
	return h, nil
}

// NewTagger returns a Tagger for the deployment named origin (for example
// the log's origin line) whose tags are computed with the primary key of h.
// The primary key MUST be an HMAC PRF key with SHA-256 and at least 32
// bytes; any other key fails with ErrInvalidInput.
func NewTagger(h *keyset.Handle, origin string) (*Tagger, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil PRF keyset handle", ErrInvalidInput)
	}
	if origin == "" || len(origin) > MaxTagFieldSize {
		return nil, fmt.Errorf("%w: origin must be 1 to %d bytes", ErrInvalidInput, MaxTagFieldSize)
	}
	primary, err := h.Primary()
	if err != nil {
		return nil, fmt.Errorf("%w: PRF keyset has no primary key", ErrInvalidInput)
	}
	k, ok := primary.Key().(*hmacprf.Key)
	if !ok {
		return nil, fmt.Errorf("%w: primary key is not an HMAC PRF key", ErrInvalidInput)
	}
	p, ok := k.Parameters().(*hmacprf.Parameters)
	if !ok || p.HashType() != hmacprf.SHA256 || p.KeySizeInBytes() < 32 {
		return nil, fmt.Errorf("%w: HMAC PRF key must be SHA-256 with at least 32 bytes", ErrInvalidInput)
	}
	set, err := prf.NewPRFSet(h)
	if err != nil {
		return nil, fmt.Errorf("%w: PRF keyset: %v", ErrInvalidInput, err)
	}
	f, ok := set.PRFs[set.PrimaryID]
	if !ok {
		return nil, fmt.Errorf("%w: PRF keyset has no primary PRF", ErrInvalidInput)
	}
	t := &Tagger{origin: origin, handle: h, prf: f, keyID: set.PrimaryID}
	// A self-test, so that Tag fails only on bad input.
	if _, err := t.compute(tagInput(origin, "self-test", "self-test", 0, false)); err != nil {
		return nil, err
	}
	return t, nil
}

// Origin returns the deployment name the tags are bound to.
func (t *Tagger) Origin() string { return t.origin }

// KeyID returns the Tink key ID of the primary PRF key (public metadata).
func (t *Tagger) KeyID() uint32 { return t.keyID }

// Tag returns the subject tag of identifier in namespace, with no epoch.
// namespace says what kind of identifier it is ("mrn", "did", ...): the
// same identifier in two namespaces gives unrelated tags. Identifiers are
// compared byte for byte: normalise them (case, leading zeros, Unicode
// form) before tagging. Empty or oversized inputs fail with ErrInvalidInput.
func (t *Tagger) Tag(namespace, identifier string) (ledger.SubjectTag, error) {
	return t.tag(namespace, identifier, 0, false)
}

// TagAt returns the subject tag of identifier in namespace in epoch (a
// year, a rotation counter): tags of one identifier in two epochs are
// unlinkable to anyone without the key, which bounds how long a reader of
// the log can follow one subject. TagAt(ns, id, 0) differs from Tag(ns, id).
func (t *Tagger) TagAt(namespace, identifier string, epoch uint64) (ledger.SubjectTag, error) {
	return t.tag(namespace, identifier, epoch, true)
}

func (t *Tagger) tag(namespace, identifier string, epoch uint64, hasEpoch bool) (ledger.SubjectTag, error) {
	if namespace == "" || len(namespace) > MaxTagFieldSize {
		return ledger.SubjectTag{}, fmt.Errorf("%w: tag namespace must be 1 to %d bytes", ErrInvalidInput, MaxTagFieldSize)
	}
	if identifier == "" || len(identifier) > MaxTagFieldSize {
		return ledger.SubjectTag{}, fmt.Errorf("%w: identifier must be 1 to %d bytes", ErrInvalidInput, MaxTagFieldSize)
	}
	return t.compute(tagInput(t.origin, namespace, identifier, epoch, hasEpoch))
}

func (t *Tagger) compute(input []byte) (ledger.SubjectTag, error) {
	var tag ledger.SubjectTag
	out, err := t.prf.ComputePRF(input, uint32(len(tag)))
	if err != nil {
		// The error of a PRF says nothing about its input; still, do not
		// repeat it verbatim.
		return ledger.SubjectTag{}, fmt.Errorf("privacy: computing tag with PRF key %d failed", t.keyID)
	}
	copy(tag[:], out)
	return tag, nil
}

// WriteEncrypted writes the Tagger's keyset in Tink's binary format,
// encrypted under the key-encryption AEAD kek (a KMS key in production)
// with associated data binding it to its purpose and origin
// (field(TaggerKeysetNamespace) field(origin)): it reads back only as the
// Tagger keyset of the same origin.
func (t *Tagger) WriteEncrypted(w io.Writer, kek tink.AEAD) error {
	if kek == nil {
		return fmt.Errorf("%w: WriteEncrypted needs a key-encryption AEAD", ErrInvalidInput)
	}
	var buf bytes.Buffer
	if err := t.handle.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), kek, taggerKeysetAD(t.origin)); err != nil {
		return fmt.Errorf("privacy: encrypting tagger keyset: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("privacy: writing tagger keyset: %w", err)
	}
	return nil
}

// ReadTagger reads a keyset written by [Tagger.WriteEncrypted] for origin.
// A keyset written for another origin, under another KEK, or altered fails
// with ErrWrappedKey.
func ReadTagger(r io.Reader, kek tink.AEAD, origin string) (*Tagger, error) {
	if kek == nil {
		return nil, fmt.Errorf("%w: ReadTagger needs a key-encryption AEAD", ErrInvalidInput)
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(r), kek, taggerKeysetAD(origin))
	if err != nil {
		return nil, fmt.Errorf("%w: tagger keyset for origin %q", ErrWrappedKey, origin)
	}
	return NewTagger(h, origin)
}

// String describes the Tagger without key material.
func (t Tagger) String() string {
	return "privacy.Tagger(origin " + strconv.Quote(t.origin) + ", HMAC-SHA256 PRF key " + strconv.FormatUint(uint64(t.keyID), 10) + ")"
}

// GoString is String, so that %#v shows no secret either.
func (t Tagger) GoString() string { return t.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (t Tagger) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, t.String()) }

// LogValue implements slog.LogValuer: logs show only the description.
func (t Tagger) LogValue() slog.Value { return slog.StringValue(t.String()) }
