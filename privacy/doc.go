// Package privacy keeps personal data off the healthledger log: keyed
// pseudonymous subject tags ([Tagger]), payloads sealed per subject with
// envelope encryption ([Vault]), and erasure by destroying a subject's key
// ([Vault.EraseSubject], crypto-shredding).
//
// It builds on Tink (github.com/tink-crypto/tink-go/v2): keys live in Tink
// keysets and never leave Tink's handles and primitives through this
// package. It imports package ledger for [ledger.SubjectTag] and nothing
// above it.
//
// # Subject tags: who can compute which tag
//
// A [Tagger] holds a deployment secret, an HMAC-SHA256 PRF keyset, and
// computes
//
//	tag = HMAC-SHA256(key, field(TagNamespace) field(origin) field(namespace) field(identifier) epoch)
//
// (exact bytes in SPEC.md, vectors in testdata/tag_vectors.json).
//
//   - The deployment holding the PRF keyset computes the tag of any
//     identifier it knows, and so finds every entry about a patient whose
//     MRN or DID it has. Whoever can use the keyset (or the KEK that wraps
//     it) has this power: guard it like the data.
//   - A patient who knows their own MRN or DID cannot compute their tag;
//     they learn it from the deployment (for example on a report).
//   - A reader of the log sees tags, not identifiers. Without the key they
//     cannot test a guessed identifier (unlike a plain hash such as
//     [ledger.DeriveSubjectTag], which anyone can compute), and cannot link
//     the tags of one person in two deployments: each deployment has its
//     own key and origin, and the tags are unrelated. They can still see
//     that entries share a tag, and so link the entries of one subject
//     within one deployment and one epoch.
//   - Epochs ([Tagger.TagAt]) bound that linkage over time: tags of one
//     identifier in two epochs (two years, two rotation counters) are
//     unrelated to a reader of the log. The deployment, holding the key,
//     can still compute both.
//
// Rotating the PRF key changes every tag; there is no way to recompute a
// tag without the key it was made with, so keep old keysets as long as
// their tags must be found, and prefer epochs to bound linkage.
//
// # Sealed payloads
//
// A [Vault] gives every subject its own AES256-GCM data key (a Tink
// keyset), created on the subject's first [Vault.Seal], wrapped by a
// key-encryption AEAD (the KEK: a KMS key through Tink's
// registry.KMSClient in production, a local Tink keyset in development)
// and stored in a [KeyStore]. A sealed payload is bound by its associated
// data to the deployment origin, the subject tag and the caller's
// associated data (for example the entry kind and a context string), so a
// payload moved to another subject or entry kind fails to open
// ([ErrNotAuthentic]). A wrapped key is bound to its origin and subject
// the same way ([ErrWrappedKey]). Every failure is a typed error and
// changes nothing.
//
// # Erasure: what it promises and what it does not
//
// [Vault.EraseSubject] removes the subject's key from the Vault's cache and
// has the KeyStore destroy the wrapped key and leave a small tombstone (no
// key material), so that "erased" ([ErrErased], [SubjectErased]) is told
// apart from "never existed" ([ErrNoKey], [SubjectAbsent]). Afterwards no
// payload ever sealed for the subject can be opened through this Vault,
// nor through other Vaults on the same KeyStore once the key has left
// their caches (VaultConfig.CacheTTL, a minute by default), and the Vault
// refuses to seal for the subject again: erasure is final for a tag. Facts about the same
// person recorded later need a new tag (a new epoch).
//
// Erasure cannot reach copies outside the KeyStore: backups and snapshots
// of the key store (useless without the KEK, so rotate or destroy the KEK
// when old backups must become unreadable too), unwrapped keys other
// processes hold in their caches, plaintexts that readers opened and kept,
// memory the Go runtime has not reused yet, and blocks a disk remapped
// (see package privacy/filekeystore). It does not remove sealed payloads
// or log entries: the ciphertexts stay where they are and become
// unreadable. Recording the erasure on the log is the caller's job.
//
// # Secrets in output
//
// Every type holding a key implements String, GoString, fmt.Formatter and
// slog.LogValuer to show only public parts (origin, key IDs, counts).
// Errors name operations and subject tags, never plaintext, associated
// data or key bytes. Logging goes only to VaultConfig.Logger.
//
// # Concurrency
//
// Tagger, Vault, MemoryKeyStore and the KeyStores of the subpackages are
// safe for concurrent use. The Vault serializes the loading, creation and
// erasure of one subject's key (striped locks), and its cache of unwrapped
// keys is bounded in size (VaultConfig.CacheSize, least recently used out,
// exactly up to 32 keys and by sampling beyond) and in age
// (VaultConfig.CacheTTL). Reading a cached key takes only a shared read lock.
package privacy
