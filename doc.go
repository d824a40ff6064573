// Package healthledger is an embeddable Go library for verifiable health
// ledgers. EHR software, labs, pharmacies and insurers use it to record
// facts about health records (a record was created, changed, read, shared;
// a patient granted or revoked consent; an identity rotated its keys) in an
// append-only Merkle transparency log that anyone holding the log's public
// key can audit.
//
// It is built the way certificate transparency builds verifiable logs: RFC
// 6962 Merkle trees kept as C2SP tlog-tiles, C2SP tlog-checkpoint signed
// notes, inclusion and consistency proofs, and witness cosignatures (C2SP
// tlog-cosignature), with no mining and no tokens.
//
// # Packages
//
//   - [github.com/healthledger/healthledger/merkle]: pure RFC 6962 tree math
//     over tiles: appending, roots, inclusion and consistency proofs and
//     their zero-allocation verification. No I/O.
//   - [github.com/healthledger/healthledger/ledger]: entries and their
//     encoding, the group-committed [ledger.Log], receipts, checkpoints,
//     cosignatures and the client-side [ledger.Verifier].
//   - ledger/memstore, ledger/pebblestore (the embedded durable default),
//     ledger/trillianstore (its own module, for Trillian deployments): the
//     storage backends, which all pass ledger/storetest.
//   - [github.com/healthledger/healthledger/identity]: did:hl identities
//     anchored in the ledger, with rotation and recovery.
//   - [github.com/healthledger/healthledger/consent]: FHIR-aligned consent
//     policies, a fail-closed evaluator and audited decisions.
//
// # Threat model
//
// The log operator may be dishonest: it may try to drop, alter, reorder or
// back-date entries, or show different histories to different parties.
// Checkpoint signatures, consistency proofs and witness cosignatures make
// each of those detectable by clients that verify. The log holds no PHI in
// clear: entries carry digests, pseudonymous subject tags and sealed
// payloads. The library cannot stop a compromised writer from recording
// false facts; it makes them attributable and permanent.
//
// # Example
//
//	store, _ := pebblestore.Open(ctx, pebblestore.Config{Dir: "ledger-data"})
//	signer, _ := ledger.NewSigner(signerKey)
//	log, _ := ledger.Open(ctx, ledger.Config{Store: store, Signer: signer, Origin: origin})
//	receipt, _ := log.Append(ctx, &ledger.Entry{Kind: ledger.KindRecordAnchored, ...})
//
//	// Anywhere, later, with only the public key:
//	v, _ := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: verifierKey})
//	entry, err := v.VerifyReceipt(receipt)
package healthledger
