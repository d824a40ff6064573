// Package trillianstore is a [ledger.Store] on a Trillian log tree
// (github.com/google/trillian v1.8.0), for deployments whose ledger
// outgrows one machine: many stateless Trillian frontends, a sequencer with
// leader election, and storage on PostgreSQL, MySQL/MariaDB, CockroachDB or
// Cloud Spanner.
//
// # Who does what
//
// Trillian sequences leaves, stores them and the RFC 6962 tree (RFC 9162
// hashing is identical), and serves inclusion and consistency proofs. Its
// roots are unsigned. This package adds what Trillian leaves to its
// "personality": it signs C2SP tlog-checkpoint notes
// (https://c2sp.org/tlog-checkpoint) for Trillian's roots with the ledger's
// [ledger.SignFunc], verifies every root it sees against the previous one
// with a consistency proof before signing it, verifies every inclusion proof
// it hands out, deduplicates leaves exactly, and keeps the subject index
// and a checked copy of the tree's hash tiles that proofs are served from. Entries, receipts, witnesses and the domain packages are
// unchanged: a [ledger.Log] over this store behaves like one over the
// native stores.
//
// # Tree modes
//
// [ModeLog] uses a LOG tree: any number of frontends (Stores in different
// processes) may append; each leaf is one QueueLeaf RPC (fanned out
// concurrently), Trillian's sequencer assigns indices (the store finds
// them by reading the leaves integrated since it queued), and Trillian
// deduplicates by leaf identity hash, which this package sets to the RFC
// 6962 leaf hash, so deduplication is exact across frontends (on every
// durable Trillian storage; Trillian's test-only storage/memory does not
// deduplicate). Trillian, not the caller, orders the leaves of a batch.
//
// [ModePreordered] uses a PREORDERED_LOG tree: a single writing Store
// assigns indices and sends whole batches with AddSequencedLeaves (one RPC
// per batch, then polls of the root until the signer integrated it), which
// is several times faster. Deduplication is this package's own: before
// assigning indices, every leaf is looked up by hash in the integrated
// tree. Readers may be many; writers MUST be one per tree.
//
// # Guarantees and their limits
//
// When Add returns nil, every leaf is in Trillian's tree (its storage
// transaction committed), its inclusion proof against the returned head
// was verified, and the head is signed. Trillian commits leaves before the
// tree head that covers them exists, so Add is not all-or-nothing: after an
// error (a timeout, an unreachable server, Close) some leaves may still be
// integrated later. None is ever duplicated: a retried Add reports them as
// existing, with their index.
//
// The signed checkpoint is not stored in Trillian: the newest one is kept in
// memory, and a checkpoint for a head observed outside Add (after a
// restart, or after another frontend appended) is re-signed with
// Config.Sign. The re-signed checkpoint is for the same tree head, with a
// new signed time (see ledger/SPEC.md, "Checkpoint time"). Set Config.Sign
// (see [SignWith]) on every Store whose Log must open a non-empty tree, and
// give that Log a durable ledger.Config.Guard: Trillian keeps no signed
// checkpoint, so only the Log's checkpoint guard can notice a database
// restored to an older state.
//
// The subject index is built in memory from the log (leaf ExtraData, which
// is outside the Merkle tree); it costs a read of the log on first use and
// about 8 bytes per entry.
//
// # Proofs from the store's own tiles
//
// Each Store keeps a mirror of the tree's hashes as C2SP tlog-tiles (the
// right edge, and the newest Config.TileCacheSize full tiles, about 16 KiB
// each), and computes inclusion and consistency proofs, roots and hash
// tiles from it instead of asking Trillian for each. Nothing enters the
// mirror unchecked: it grows by the hashes of leaves read from Trillian,
// or sent by this store, and the root it then computes must be the root
// of a Trillian head that is proven consistent with every head seen before
// (by a consistency proof, or by being exactly the previous head plus
// those leaves). A store that opens a non-empty tree reads the mirror's
// edge from Trillian, checked the same way, and tiles older than that, or
// evicted, are read from Trillian and checked against a head's root when
// a proof needs them. Every proof is verified against the root of its
// tree size before it is returned. The mirror follows leaves appended by
// other frontends: they are read when a newer head is seen.
//
// Trillian is not trusted: a root that is not consistent with an earlier
// one, a proof that does not verify, or a leaf that does not hash to its
// Merkle leaf hash is reported as [ledger.ErrCorrupt]. Errors never carry
// leaf contents.
//
// # Failures
//
// Every RPC has a timeout (Config.RPCTimeout) and is retried with
// exponential backoff on transient gRPC codes (Unavailable,
// DeadlineExceeded, ResourceExhausted, Aborted); all of this package's RPCs
// are idempotent. When retries are spent the error is an [*RPCError] that
// matches [ErrUnavailable] for an unreachable server. Close cancels every
// call in flight and returns without waiting for Trillian.
package trillianstore
