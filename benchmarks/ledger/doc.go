// Package ledger holds the benchmarks of the ledger core: group-committed
// appends on the memory and Pebble stores, inclusion-proof generation on a
// log of 2^20 entries, and receipt and proof verification. Each benchmark
// reports the throughput metric of its target (entries/s, proofs/s,
// verifications/s) and, for appends, the p50 and p99 latency of one Append
// in milliseconds (see package loadgen) and the process's CPU time per
// entry. benchmarks/README.md describes the workload exactly and the
// targets each figure is compared with.
//
// It also measures what issues 9 and 10 ask for: appends with sealing off
// and on (BenchmarkAppendSealing: 1 KiB of data in the leaf, as a clear
// payload, or sealed per subject with a privacy.Vault in the writer
// goroutine), the erasure of a subject with 10,000 entries on Pebble
// (BenchmarkErase), and appends whose checkpoints 0, 1 or 3 witnesses
// cosign over HTTP on 127.0.0.1 before receipts are released
// (BenchmarkAppendWitnessed).
//
// It also measures the limits issue 12 compares appends with, in the same
// run: durable 1 KiB writes straight into Pebble in synced batches of 256,
// with pebblestore's options (BenchmarkRawPebble), and SHA-256 leaf hashing
// of 1 KiB leaves from GOMAXPROCS goroutines (BenchmarkHashLeaf).
//
// The package holds benchmarks and their smoke tests only; see the test
// files.
package ledger
