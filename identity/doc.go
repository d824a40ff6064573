// Package identity implements DID-style identities anchored in a
// healthledger ledger: the did:hl method, did:key resolution, keys in Tink
// keysets, signed requests, and a [ledger.WriterVerifier] that makes a Log
// require every entry to be signed by its writer's DID key.
//
// # The did:hl method
//
// A did:hl identity is a chain of signed operations, modelled on did:plc
// but enforced by the ledger's Merkle log instead of a trusted directory.
// The genesis operation ([OpCreate]) sets the full state: 1 to 5
// priority-ordered rotation keys, verification methods with their
// relationships, services and alsoKnownAs URIs. The DID is
// "did:hl:" + base32(SHA-256(domain || signed genesis)[:25]), so nobody
// without a genesis rotation key can make the operation a DID names. Each
// later operation ([OpUpdate], [OpRotate], [OpDeactivate]) carries the full
// new state, names the previous operation's hash, and is signed by a
// rotation key of the state it replaces. A rotation key may override the
// operations after some point of the history within a recovery window
// (72 h by default) if it has strictly higher priority than the signer of
// every one of them; overridden operations stay in the ledger and are
// reported as nullified. SPEC.md defines the encoding and every rule,
// with test vectors in testdata/.
//
// Every operation is a ledger entry of kind KindIdentityFirst+type, with
// subject tag [SubjectTag](did), writer the DID, body the operation's
// encoding and digest SHA-256(body). A [Resolver] replays a DID's entries
// through the ledger's subject index, checks each entry's inclusion in the
// ledger's checkpoint (and, if configured, the checkpoint's signature),
// verifies every operation with the pure state machine [Chain], and returns
// a W3C DID Core [Document] at the latest version, as of a past time
// ([Resolver.ResolveAt]) or as of a past ledger size
// ([Resolver.ResolveAtSize]). A signature made with a key that was valid at
// its time keeps verifying after the key is rotated away.
//
// # Threat model
//
// The ledger operator cannot forge operations (they are signed by rotation
// keys the holder keeps), cannot reorder them (each is checked at its index
// by an inclusion proof against a signed checkpoint, replay follows index
// order, and a subject index listed out of order fails the resolution), and
// cannot make a DID for someone else's genesis. A Resolver finds a DID's
// entries through the ledger's subject index, which is not itself proven:
// a ledger could leave an entry out of it, which only a reader of every
// entry would notice. Anyone may append entries to a DID's subject tag;
// invalid ones are recorded as rejected and ignored, so they cannot block a
// DID. A writer signature is checked against the key valid at the entry's
// time, so a removed key can still sign entries dated back to when it was
// valid (on a ledger that checks entry times, no further back than its
// skew; see Time), unless Config.CurrentWriterKeys is set. An operation
// signed with a stolen rotation key can be overridden for the length of the
// recovery window by a key that outranks every signer of the operations it
// nullifies (on a ledger that checks entry times; see Time); one signed
// with a stolen highest-priority key cannot. The package does not protect
// keys on the holder's device beyond keeping them in Tink keysets, which
// can be stored encrypted under a KMS key.
//
// # Time
//
// Recovery windows are measured on operation times. An operation's time is
// its ledger entry's time, operations are applied in ledger index order
// (the ledger's integration order), and the state machine refuses an
// operation dated before the head of the history it extends or overrides
// ([ErrTimeOrder]). On a ledger that refuses entries dated more than a skew
// (5 minutes by default) before or after its own clock, operation times are
// integration times to within that skew: a window of W runs for W after the
// overridden operation was integrated, give or take twice the skew, and
// nobody can move it afterwards. On a ledger without that check, times are
// asserted by their signers: [Resolver.VerifyWriter] refuses operations
// dated more than MaxClockSkew in the future, but a signer can back-date an
// operation up to the time of the DID's latest operation. A thief with a
// lower-priority key can then date a takeover so that its recovery window
// has already closed when it is integrated, and a higher-priority key can
// date an override into a window that closed long ago if nothing followed.
// SPEC.md ("Time") gives the bounds.
//
// Private keys never appear in errors, logs or String/fmt output.
package identity
