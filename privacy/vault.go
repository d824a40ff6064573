package privacy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Defaults of VaultConfig.
const (
	// DefaultCacheSize is the default VaultConfig.CacheSize.
	DefaultCacheSize = 4096
	// DefaultCacheTTL is the default VaultConfig.CacheTTL.
	DefaultCacheTTL = time.Minute
)

// Format versions (SPEC: "Sealed payloads"). A sealed payload is
//
//	0x01 || Tink AEAD ciphertext (0x01 || key ID (4) || nonce (12) || ciphertext || tag (16))
//
// and a wrapped data key, as handed to the KeyStore, is
//
//	0x01 || Tink EncryptedKeyset (binary), encrypted under the KEK with dataKeyAD.
const (
	sealedVersion  byte = 1
	wrappedVersion byte = 1
	// minSealedSize is the version byte, Tink's 5-byte prefix, the 12-byte
	// AES-GCM nonce and the 16-byte tag.
	minSealedSize = 1 + 5 + 12 + 16
	// SealOverhead is how many bytes Seal adds to a plaintext.
	SealOverhead = minSealedSize
)

// lockStripes is the number of per-subject locks; subjects are spread over
// them by the first byte of their tag (tags are uniformly distributed).
const lockStripes = 256

// VaultConfig configures a [Vault]. The zero value of every optional field
// means its documented default.
type VaultConfig struct {
	// Origin names the deployment (for example the log's origin). Wrapped
	// keys and sealed payloads are bound to it. Required.
	Origin string
	// KEK is the key-encryption AEAD that wraps every data key: in
	// production a KMS key (registry.KMSClient.GetAEAD), in development an
	// AEAD from a local Tink keyset (aead.New on an AES256-GCM keyset,
	// itself stored encrypted). Required.
	KEK tink.AEAD
	// Keys stores the wrapped data keys and tombstones. Required: a
	// [MemoryKeyStore] for tests, a durable store (privacy/filekeystore)
	// otherwise.
	Keys KeyStore
	// CacheSize bounds the number of unwrapped data keys kept in memory
	// (least recently used first out: exactly for up to 32 keys, else the
	// least recently used of 32 sampled). 0 means DefaultCacheSize; a negative
	// value disables the cache, so that every Seal and Open unwraps the
	// subject's key with the KEK (one KMS call each in production).
	CacheSize int
	// CacheTTL bounds how long an unwrapped key stays cached after it was
	// loaded from the KeyStore, and so how long a Vault keeps opening a
	// subject that another Vault (another process) erased. 0 means
	// DefaultCacheTTL; a negative value keeps keys until evicted.
	CacheTTL time.Duration
	// Logger receives key creation and erasure events (subject tags only,
	// never payloads or keys). Nil is silent.
	Logger *slog.Logger
}

// Vault seals payloads per subject with envelope encryption: each subject
// has its own AES256-GCM data key in a Tink keyset, created on its first
// Seal, wrapped by the KEK and kept in a [KeyStore]. Erasing the subject
// destroys its wrapped key (crypto-shredding), so that every payload ever
// sealed for it can no longer be opened.
//
// Sealed payloads are bound to the deployment origin, to the subject tag
// and to caller-chosen associated data: a payload moved to another subject,
// another deployment or other associated data fails to open with
// [ErrNotAuthentic].
//
// Unwrapped data keys are cached (VaultConfig.CacheSize) as AES-GCM key
// schedules only (read once from the Tink keyset through Tink's
// insecuresecretdataaccess path, so that Seal can write its ciphertext in
// place; the ciphertexts are Tink's). There is no accessor for the key
// material, and String,
// every fmt verb and slog show only the origin and the cache use. A Vault
// is safe for concurrent use. Several Vaults (processes) may share a
// KeyStore; an erasure made through one reaches the others' caches only
// when the key expires there (VaultConfig.CacheTTL).
type Vault struct {
	origin string
	kek    tink.AEAD
	keys   KeyStore
	cache  *keyCache                // nil when disabled; safe for concurrent use
	locks  *[lockStripes]sync.Mutex // serialize loading, creating and erasing one subject's key
	adBufs *sync.Pool               // of *[]byte: payload associated data, reused across calls
	log    *slog.Logger
}

// maxPooledAD bounds the associated-data buffers a Vault keeps for reuse,
// so that one huge associatedData is not held forever.
const maxPooledAD = 4 << 10

// NewVault returns a Vault. It fails with ErrInvalidConfig if a required
// field is missing.
func NewVault(cfg VaultConfig) (*Vault, error) {
	switch {
	case cfg.Origin == "":
		return nil, fmt.Errorf("%w: VaultConfig.Origin is required", ErrInvalidConfig)
	case cfg.KEK == nil:
		return nil, fmt.Errorf("%w: VaultConfig.KEK is required", ErrInvalidConfig)
	case cfg.Keys == nil:
		return nil, fmt.Errorf("%w: VaultConfig.Keys is required", ErrInvalidConfig)
	}
	size, ttl := cfg.CacheSize, cfg.CacheTTL
	if size == 0 {
		size = DefaultCacheSize
	}
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Vault{
		origin: cfg.Origin,
		kek:    cfg.KEK,
		keys:   cfg.Keys,
		cache:  newKeyCache(size, ttl, time.Now),
		locks:  new([lockStripes]sync.Mutex),
		adBufs: &sync.Pool{New: func() any { return new([]byte) }},
		log:    log,
	}, nil
}

// Origin returns the deployment name sealed payloads are bound to.
func (v *Vault) Origin() string { return v.origin }

// Seal encrypts plaintext for subject, bound to associatedData (which is
// authenticated, not encrypted, and must be presented again to Open; for
// example the entry kind and a context string). The subject's data key is
// created and stored on its first Seal. Seal for an erased subject fails
// with ErrErased and stores nothing: an erased subject stays erased (to
// record new facts about the same person, tag them anew, for example in a
// new epoch with [Tagger.TagAt]). Errors are *SubjectError.
func (v *Vault) Seal(ctx context.Context, subject ledger.SubjectTag, associatedData, plaintext []byte) ([]byte, error) {
	k, err := v.dataKey(ctx, subject, true)
	if err != nil {
		return nil, subjectErr("seal", subject, err)
	}
	// One allocation: the version byte and the key's ciphertext are written
	// into the result in place.
	out := make([]byte, 1, len(plaintext)+SealOverhead)
	out[0] = sealedVersion
	ad := v.payloadAD(subject, associatedData)
	out, err = k.seal(out, plaintext, *ad)
	v.releaseAD(ad)
	if err != nil {
		return nil, subjectErr("seal", subject, fmt.Errorf("privacy: encryption failed: %w", err))
	}
	return out, nil
}

// payloadAD returns a pooled buffer holding the associated data of
// subject's payloads with associatedData (appendPayloadAD); hand it back
// with releaseAD once the AEAD call returned (the AEAD does not keep it).
func (v *Vault) payloadAD(subject ledger.SubjectTag, associatedData []byte) *[]byte {
	p := v.adBufs.Get().(*[]byte)
	*p = appendPayloadAD((*p)[:0], v.origin, subject, associatedData)
	return p
}

func (v *Vault) releaseAD(p *[]byte) {
	if cap(*p) > maxPooledAD {
		return
	}
	clear(*p) // associated data is not secret, but leave nothing behind anyway
	v.adBufs.Put(p)
}

// Open decrypts a payload sealed by [Vault.Seal] for subject with the same
// associatedData. It fails, changing nothing, with a *SubjectError wrapping
// ErrMalformed (not a sealed payload of a known version), ErrErased (the
// subject was erased), ErrNoKey (the subject never had a key),
// ErrWrappedKey (the stored key cannot be unwrapped) or ErrNotAuthentic
// (wrong subject, origin, associated data or key; truncated or altered).
func (v *Vault) Open(ctx context.Context, subject ledger.SubjectTag, associatedData, sealed []byte) ([]byte, error) {
	if len(sealed) < minSealedSize {
		return nil, subjectErr("open", subject, fmt.Errorf("%w: %d bytes is too short", ErrMalformed, len(sealed)))
	}
	if sealed[0] != sealedVersion {
		return nil, subjectErr("open", subject, fmt.Errorf("%w: unknown version %d", ErrMalformed, sealed[0]))
	}
	k, err := v.dataKey(ctx, subject, false)
	if err != nil {
		return nil, subjectErr("open", subject, err)
	}
	ad := v.payloadAD(subject, associatedData)
	pt, err := k.open(sealed[1:], *ad)
	v.releaseAD(ad)
	if err != nil {
		return nil, subjectErr("open", subject, ErrNotAuthentic)
	}
	return pt, nil
}

// EraseSubject destroys subject's data key (crypto-shredding): it drops the
// unwrapped key from the cache and has the KeyStore destroy the wrapped key
// and leave a tombstone. When it returns nil, Open of every payload ever
// sealed for subject fails with ErrErased, and Seal is refused with
// ErrErased, through this Vault at once and through other Vaults on the
// same store once the key leaves their caches (at most CacheTTL). It is
// idempotent, and erasing a subject that never had a key leaves a
// tombstone too. A Seal or Open running concurrently may still use the
// key; a payload it seals can never be opened. See the package
// documentation for what erasure does not reach.
func (v *Vault) EraseSubject(ctx context.Context, subject ledger.SubjectTag) error {
	if err := ctx.Err(); err != nil {
		return subjectErr("erase", subject, err)
	}
	mu := &v.locks[subject[0]]
	mu.Lock()
	defer mu.Unlock()
	v.cache.remove(subject)
	if err := v.keys.Delete(ctx, subject); err != nil {
		return subjectErr("erase", subject, err)
	}
	v.log.LogAttrs(ctx, slog.LevelInfo, "privacy: subject erased", slog.String("subject", subject.String()))
	return nil
}

// SubjectState is the state of a subject's data key.
type SubjectState int

// Subject states. A subject moves only Absent -> Keyed -> Erased (or
// Absent -> Erased).
const (
	// SubjectAbsent: the subject never had a key and was never erased.
	SubjectAbsent SubjectState = iota
	// SubjectKeyed: the subject has a data key.
	SubjectKeyed
	// SubjectErased: the subject's key was destroyed; a tombstone remains.
	SubjectErased
)

// String returns "absent", "keyed" or "erased".
func (s SubjectState) String() string {
	switch s {
	case SubjectAbsent:
		return "absent"
	case SubjectKeyed:
		return "keyed"
	case SubjectErased:
		return "erased"
	default:
		return "SubjectState(" + strconv.Itoa(int(s)) + ")"
	}
}

// Status tells an erased subject from one that never had a key, from the
// KeyStore (its tombstone). It does not unwrap the key.
func (v *Vault) Status(ctx context.Context, subject ledger.SubjectTag) (SubjectState, error) {
	_, err := v.keys.Get(ctx, subject)
	switch {
	case err == nil:
		return SubjectKeyed, nil
	case errors.Is(err, ErrErased):
		return SubjectErased, nil
	case errors.Is(err, ErrNoKey):
		return SubjectAbsent, nil
	default:
		return 0, subjectErr("status", subject, err)
	}
}

// dataKey returns subject's data key from the cache or the KeyStore,
// creating the key if create is set and the subject has none. Loading and
// creating hold the subject's stripe lock, as does EraseSubject, so that no
// key is put in the cache after its subject's erasure.
func (v *Vault) dataKey(ctx context.Context, subject ledger.SubjectTag, create bool) (*dataKey, error) {
	if a, ok := v.cache.get(subject); ok {
		return a, nil
	}
	mu := &v.locks[subject[0]]
	mu.Lock()
	defer mu.Unlock()
	if a, ok := v.cache.get(subject); ok {
		return a, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	wrapped, err := v.keys.Get(ctx, subject)
	switch {
	case err == nil:
	case create && errors.Is(err, ErrNoKey) && !errors.Is(err, ErrErased):
		return v.createKey(ctx, subject)
	default:
		return nil, err
	}
	a, err := v.unwrap(subject, wrapped)
	if err != nil {
		return nil, err
	}
	v.cache.put(subject, a)
	return a, nil
}

// createKey makes, wraps and stores a new data key for subject. If another
// writer stored one first (ErrKeyExists), that key is used instead.
func (v *Vault) createKey(ctx context.Context, subject ledger.SubjectTag) (*dataKey, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("privacy: generating data key: %w", err)
	}
	a, err := newDataKey(h)
	if err != nil {
		return nil, fmt.Errorf("privacy: data key primitive: %v", err)
	}
	var buf bytes.Buffer
	buf.WriteByte(wrappedVersion)
	if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), v.kek, dataKeyAD(v.origin, subject)); err != nil {
		return nil, fmt.Errorf("privacy: wrapping data key with the KEK: %w", err)
	}
	err = v.keys.Put(ctx, subject, buf.Bytes())
	if errors.Is(err, ErrKeyExists) {
		wrapped, err := v.keys.Get(ctx, subject)
		if err != nil {
			return nil, err
		}
		if a, err = v.unwrap(subject, wrapped); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	} else {
		v.log.LogAttrs(ctx, slog.LevelDebug, "privacy: data key created", slog.String("subject", subject.String()))
	}
	v.cache.put(subject, a)
	return a, nil
}

// unwrap decrypts a wrapped data keyset with the KEK and checks that it
// is an AES256-GCM keyset (newDataKey).
func (v *Vault) unwrap(subject ledger.SubjectTag, wrapped []byte) (*dataKey, error) {
	if len(wrapped) < 2 || wrapped[0] != wrappedVersion {
		return nil, fmt.Errorf("%w: unknown format", ErrWrappedKey)
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(wrapped[1:])), v.kek, dataKeyAD(v.origin, subject))
	if err != nil {
		// Tink's message names the failing step (KEK decryption, parsing),
		// never key bytes; keep it for operators facing a KMS outage.
		return nil, fmt.Errorf("%w: %v", ErrWrappedKey, err)
	}
	k, err := newDataKey(h)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWrappedKey, err)
	}
	return k, nil
}

// String describes the Vault without key material. It and the methods
// below have value receivers so that a Vault value prints safely too.
func (v Vault) String() string {
	return "privacy.Vault(origin " + strconv.Quote(v.origin) + ", " +
		strconv.Itoa(v.cache.len()) + " data keys cached)"
}

// GoString is String, so that %#v shows no secret either.
func (v Vault) GoString() string { return v.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (v Vault) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, v.String()) }

// LogValue implements slog.LogValuer: logs show only the description.
func (v Vault) LogValue() slog.Value { return slog.StringValue(v.String()) }

// Bind returns a sealer that seals and opens with the fixed associated data
// ad (copied), for callers whose interface has no associated data. (A
// *Vault itself is a consent.Sealer, which passes per-entry associated
// data.)
//
// A fixed string binds payloads to their subject and to the purpose, not to
// one entry; prefer per-entry associated data ([Vault.Seal]) where the
// caller can pass it.
func (v *Vault) Bind(ad []byte) *BoundSealer {
	return &BoundSealer{v: v, ad: bytes.Clone(ad)}
}

// BoundSealer is a [Vault] with fixed associated data, see [Vault.Bind].
type BoundSealer struct {
	v  *Vault
	ad []byte
}

// Seal is Vault.Seal with the bound associated data.
func (b *BoundSealer) Seal(ctx context.Context, subject ledger.SubjectTag, plaintext []byte) ([]byte, error) {
	return b.v.Seal(ctx, subject, b.ad, plaintext)
}

// Open is Vault.Open with the bound associated data.
func (b *BoundSealer) Open(ctx context.Context, subject ledger.SubjectTag, sealed []byte) ([]byte, error) {
	return b.v.Open(ctx, subject, b.ad, sealed)
}

// String describes the sealer and its Vault without key material.
func (b BoundSealer) String() string {
	return "privacy.BoundSealer(" + strconv.Itoa(len(b.ad)) + " bytes of associated data, " + b.v.String() + ")"
}

// GoString is String.
func (b BoundSealer) GoString() string { return b.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (b BoundSealer) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, b.String()) }

// LogValue implements slog.LogValuer.
func (b BoundSealer) LogValue() slog.Value { return slog.StringValue(b.String()) }
