// Package ledger is the verifiable log at the heart of healthledger:
// entries and their encoding, the group-committed [Log], receipts, signed
// checkpoints, witness cosignatures and the client-side [Verifier].
//
// # Guarantees
//
// When [Log.Append] returns a [Receipt], the entry is durable (as durable as
// the configured [Store]: the Pebble store syncs its write-ahead log), it is
// in the Merkle tree at Receipt.Index, and Receipt.Checkpoint is a signed
// checkpoint whose tree contains it, with the inclusion proof in
// Receipt.Proof. There is no "integrated later" window. Appending an entry
// whose encoding is already in the log returns the existing index.
//
// Anyone holding the log's origin and public verifier key can check a
// receipt offline with a [Verifier], and can check with consistency proofs
// that every checkpoint extends the ones seen before. Two checkpoints that
// cannot both be true (same size and different roots, or no valid
// consistency proof between them) produce an [*InconsistencyError] that
// carries both signed checkpoints and the proof: evidence that can be shown
// to anyone.
//
// # Threat model
//
// The log operator is not trusted: it may try to drop, alter, reorder or
// back-date entries, or show different histories to different clients.
// Signatures make alteration detectable, consistency proofs make rewriting
// history detectable, and witness cosignatures (k of n, [VerifierConfig])
// make split views detectable by clients that require them. A Log
// configured with witnesses (Config.Witnesses, reached over C2SP
// tlog-witness by package ledger/witness, with a threshold or a C2SP
// tlog-policy quorum, see [ParsePolicy]) releases a receipt only after the
// quorum cosigned its checkpoint, so a receipt alone proves that k
// independent parties saw the same history; below the quorum, appends fail
// with [*WitnessQuorumError] and the entries stay stored.
//
// Time is the log's, not the writer's: [Log.Append] refuses entries dated
// more than Config.MaxClockSkew from its clock in either direction, and
// every checkpoint carries the log's signed time ([CheckpointTime]), so a
// receipt bounds when its entry was integrated ([Verifier.VerifyIntegrationTime]).
// See SPEC.md, "Checkpoint time", for what a deployment can rely on with
// and without these checks.
//
// The log never signs two roots for one tree size. It keeps its latest
// signed checkpoint apart from the store, in a [CheckpointGuard] (a
// [FileGuard] by default), writes it before any receipt is released, and
// refuses to open a store that is behind or disagrees ([*RollbackError]),
// signed by another key ([ErrWrongKey]) or whose checkpoint does not match
// its tree ([ErrCorrupt]). A store that lost data must be restored, never
// extended from a smaller size. The ledger
// does not judge whether a fact is true: a writer can record a false fact,
// but it is attributable (Entry.Writer, optionally Entry.Signature checked
// by a [WriterVerifier]) and permanent. Entries must not carry PHI in
// clear: use digests, pseudonymous subject tags (keyed, see
// [DeriveSubjectTag]) and sealed bodies. Error messages never include entry
// contents or key material.
//
// # Formats
//
// The tree is RFC 9162 (RFC 6962) with SHA-256, stored as C2SP tlog-tiles
// (https://c2sp.org/tlog-tiles). Checkpoints are C2SP tlog-checkpoint signed
// notes (https://c2sp.org/tlog-checkpoint) with Ed25519 keys, readable by
// golang.org/x/mod/sumdb/note. Cosignatures follow C2SP tlog-cosignature
// (https://c2sp.org/tlog-cosignature), Ed25519 only (see SPEC.md on
// ML-DSA-44), witness policies C2SP tlog-policy
// (https://c2sp.org/tlog-policy) and receipts C2SP tlog-proof
// (https://c2sp.org/tlog-proof). The entry encoding is versioned and
// specified, with test vectors, in SPEC.md beside this package.
//
// # Concurrency and overload
//
// A Log is safe for concurrent use. Appends queue for a single sequencer
// goroutine that commits everything waiting as one batch with one
// checkpoint signature. The queue is bounded by Config.MaxPending; when it
// is full, Append fails at once with [ErrPushback] rather than wait.
// [Log.Close] fails every queued append with [ErrClosed].
//
// # Errors
//
// Every error wraps one of the sentinels (ErrNotFound, ErrInvalidEntry,
// ErrMalformed, ErrTooLarge, ErrBadSignature, ErrInvalidProof,
// ErrStaleCheckpoint, ErrCorrupt, ...) or is a typed error such as
// [*FieldError] or [*InconsistencyError]; match them with errors.Is and
// errors.As.
package ledger
