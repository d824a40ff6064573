// Package ledger holds the benchmarks of the ledger core: group-committed
// appends on the memory and Pebble stores, inclusion-proof generation on a
// log of 2^20 entries, and receipt and proof verification. Each benchmark
// reports the throughput metric of its target (entries/s, proofs/s,
// verifications/s) and, for appends, the p50 and p99 latency of one Append
// in milliseconds (see package loadgen). benchmarks/README.md describes the
// workload exactly and the targets each figure is compared with.
//
// The package holds benchmarks and their smoke tests only; see the test
// files.
package ledger
