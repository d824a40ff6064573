// Package interop checks healthledger's read path against code nobody here
// wrote, and measures it.
//
// Tests: Tessera v1.0.4's client package (HTTPFetcher, LogStateTracker,
// ProofBuilder, GetEntryBundle) follows and verifies a healthledger log
// served by ledger/tileserver, with a note verifier of the log's key; and
// ledger/client follows and verifies a log written by Tessera's POSIX
// driver and served by Go's http.FileServer.
//
// Benchmarks: full tiles served per second by ledger/tileserver (memory
// and Pebble stores) next to http.FileServer serving Tessera's POSIX tile
// files, 256 keep-alive clients on 127.0.0.1, in the same run; and
// inclusion proofs per second built by ledger/client from a warm tile
// cache, next to Tessera's ProofBuilder over the same server.
package interop
