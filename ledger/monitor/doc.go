// Package monitor follows a healthledger log over its read path (C2SP
// tlog-tiles, see package ledger/tileserver) and re-derives everything the
// log serves, reporting each problem as a [Finding] that carries the
// signed checkpoints and the bytes involved, so that it can be shown to a
// third party and checked with nothing but the log's public key.
//
// On each [Monitor.Step] the monitor:
//
//   - fetches the checkpoint and proves it consistent with the last one
//     through package ledger/client and a ledger.Verifier; two histories
//     are a [Fork] finding and the step fails with the Verifier's
//     *ledger.InconsistencyError (fatal: the log is no longer trustworthy);
//   - reads every new entry bundle and recomputes the tree: the leaf
//     hashes, every hash tile, and the root, which must be the signed
//     root. It also rebuilds the tree from the served level-0 tiles;
//     whichever of the two has the signed root tells whether the log
//     altered a tile ([TileMismatch], with the served and the recomputed
//     tile) or an entry bundle ([BundleMismatch], with the served leaf and
//     the leaf hash the tree has); a signed root that matches neither is a
//     [RootMismatch]. If the served tiles cannot prove a new checkpoint
//     consistent, the step reports [ReadPathInvalid], checks the
//     checkpoint from the bundles, and moves on along the consistency
//     proof it computed itself;
//   - checks every entry: it decodes ([MalformedEntry]), an erasure record
//     is canonical ([MalformedErasure]), and its time is within the log's
//     clock skew of the log's signed times ([FutureDated], [BackDated];
//     see Config.EveryCheckpoint for what "the first checkpoint that
//     included it" can mean to a monitor that polls), and checkpoint times
//     never go back ([TimeWentBack]);
//   - records which of the configured witnesses cosigned which checkpoint
//     size ([Status].Witnessed) and reports a checkpoint that none of them
//     cosigned ([NotWitnessed]).
//
// # Threat model
//
// The log operator and its server are not trusted; the monitor trusts only
// the log's public key. What it cannot see: a split view shown to others
// but not to it (compare Status.Witnessed with what witnesses report, or
// require their cosignatures in verifiers), the payloads beside the tree
// (not part of the read path; erasure records are checked for form only),
// and anything the log did before the first checkpoint the monitor saw
// other than what the tree itself proves.
//
// Like package ledger/client, this package imports only the standard
// library, golang.org/x/mod and the ledger and merkle packages.
package monitor
