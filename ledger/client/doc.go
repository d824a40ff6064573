// Package client follows a remote healthledger log (or any C2SP
// tlog-tiles log) over HTTP and serves reads that it has verified: the
// light client of healthledger's read path (see package ledger/tileserver
// for the server side and SPEC.md, "Read path").
//
// A [Client] fetches the log's checkpoint and verifies it with a
// [CheckpointVerifier]: a *ledger.Verifier for a healthledger log (the
// log's key, its signed time and the witness quorum of
// ledger.VerifierConfig, WitnessThreshold or Policy), or a [NoteVerifier]
// for logs written by other software. It proves, from tiles, that each new
// checkpoint is consistent with the one it trusted before
// ([Client.Update]); builds inclusion and consistency proofs from tiles;
// and reads leaves from entry bundles, checking each against the tree.
// Full tiles, which never change, are kept in a bounded cache
// (Config.TileCacheSize); the partial tiles of the trusted tree are kept
// until the tree grows.
//
// The Client implements the interfaces other packages read a ledger
// through, so a remote party can work from the read path alone:
// identity.Ledger (resolve did:hl DIDs: Checkpoint, BySubject, Leaf,
// InclusionProof, and ConsistencyProof for the resolver's cache) and the
// read side of consent.Log (Entry, Receipt, BySubject; Append fails with
// [ErrReadOnly]). Tiles carry no subject index, so [Client.BySubject]
// builds one by reading every verified entry bundle once (see its doc).
// Consent bodies are payloads kept beside the tree: with Config.Payloads
// the Client reads them from a server that serves them (tileserver
// Config.Payloads) and checks each against its leaf's commitment, so an
// auditor holding the deployment's keys can replay consents remotely; an
// erased payload is a *ledger.ErasedError whose erasure entry the Client
// checked in the log.
//
// # Threat model
//
// The server is not trusted. Every hash the Client uses is tied to the
// trusted checkpoint's root before use (the method of sumdb/tlog's
// TileHashReader: a full tile must hash to its entry in its parent tile,
// and the right edge must hash to the root), and every leaf must hash to
// its level-0 tile entry. A tile, bundle or checkpoint the server altered
// is an error wrapping ledger.ErrInvalidProof (tiles and bundles) or
// ledger.ErrBadSignature (checkpoints), and a server that shows two
// histories is caught with the Verifier's *ledger.InconsistencyError;
// neither is ever a wrong answer. Only tiles verified against a trusted
// checkpoint are cached. What the Client cannot know is whether the
// server shows everyone the same history: require witness cosignatures in
// the Verifier for that.
//
// The package is light: it imports the standard library,
// golang.org/x/mod, package ledger and package merkle only, and links no
// Tink, protobuf, gRPC or Pebble (a test checks it).
//
// A log that is not a healthledger (Tessera's POSIX driver, for example)
// is read the same way with a NoteVerifier: [Client.Leaf] returns raw
// leaves and the proofs work on any RFC 6962 tree; only Entry and
// BySubject need healthledger entries.
package client
