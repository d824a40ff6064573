// Package trillian holds the benchmarks that compare the Trillian store
// (ledger/trillianstore, both tree modes, on PostgreSQL 15) with the Pebble
// store in one run: durable appends through ledger.Log with receipts, and
// inclusion proofs. The Trillian cases need a running Trillian: start one
// with .ci/trillian.sh up and set HEALTHLEDGER_TRILLIAN to the state file it
// prints (make bench-trillian does both); without it they are skipped and
// say so. It is a module of its own so that Trillian and gRPC stay out of
// the library's go.mod.
package trillian
