// Package tessera measures Tessera (github.com/transparency-dev/tessera)
// with its POSIX storage driver, as the baseline the ledger's append
// benchmarks are compared with in benchmarks/README.md.
//
// The benchmarks append 1024-byte entries from 1 and 256 concurrent writers
// into a fresh log in a temporary directory (under $TMPDIR, the same
// filesystem the Pebble benchmarks use) and report entries/s and the p50 and
// p99 latency of one append, measured by the same harness as the ledger's
// own benchmarks (package loadgen). Two completion points are measured:
//
//   - durable: the Add future resolved with an index. With the POSIX driver
//     the entry is then fsynced and integrated into the tile tree, but no
//     signed checkpoint that covers it need exist yet.
//   - published: the entry is additionally covered by a published signed
//     checkpoint (tessera.PublicationAwaiter), which is what a ledger
//     Append guarantees when it returns its receipt.
//
// The package holds benchmarks only; see the test files.
package tessera
