// Command healthledger serves, verifies, checks and monitors healthledger
// logs.
//
//	go install github.com/healthledger/healthledger/cmd/healthledger@latest
//
// Usage:
//
//	healthledger keygen  --origin NAME --out FILE [--cosigner]
//	healthledger serve   --dir DIR --origin NAME --log-key KEY [--addr 127.0.0.1:8080]
//	                     [--witness-key FILE [--witness-log ORIGIN=KEY ...] [--witness-state FILE]]
//	healthledger verify  --origin NAME --log-key KEY [--witness KEY ... [--threshold K] | --policy FILE]
//	                     [--integration-time] RECEIPT
//	healthledger check   --dir DIR --log-key KEY
//	healthledger monitor --origin NAME --log-key KEY [--witness KEY ...]
//	                     [--follow [--interval 30s] [--metrics-addr ADDR]] [--every-checkpoint] URL
//	healthledger inspect (--dir DIR | --url URL) --origin NAME --log-key KEY [--subject HEX]
//
// Every command takes --json to print one JSON document (monitor --follow:
// one JSON line per finding, then a summary) instead of text, and -h for
// its flags. A KEY argument is a public key itself or a file holding one.
// Progress and diagnostics go to standard error.
//
//   - keygen writes a new private key to FILE (mode 0600, never
//     overwriting a file) and its public key to FILE.pub, and prints the
//     public key: a log key (C2SP signed-note Ed25519, named by the log's
//     origin) or, with --cosigner, a witness key (C2SP tlog-cosignature).
//   - serve serves a Pebble ledger directory's read path (C2SP tlog-tiles,
//     package ledger/tileserver) after checking that its checkpoint is
//     signed by the log key, and, with --witness-key, a C2SP tlog-witness
//     endpoint (POST /add-checkpoint) that cosigns the given logs (default:
//     the served one), keeping its state in a file. It needs no private
//     log key: it serves what is stored. Pebble locks its directory, so
//     serve is for a directory no writer has open (a replica, a backup, a
//     log written in batches); a live writer mounts tileserver.Handler in
//     its own process next to its ledger.Log, which also serves the
//     witness cosignatures it collected. serve also exposes its counters
//     at GET /metrics in the Prometheus text format
//     (healthledger_tileserver_responses_total by kind and status,
//     healthledger_witness_requests_total by status).
//   - verify checks a receipt file (C2SP tlog-proof text) offline: the
//     log's signature and signed time, the witness quorum (--witness and
//     --threshold, or a C2SP tlog-policy file), the inclusion proof, and
//     the entry's time; with --integration-time also that the entry is not
//     back-dated (for the receipt Append returned).
//   - check walks a Pebble ledger directory (not open elsewhere) and checks
//     every leaf, index and tile against each other and the checkpoint
//     and its timestamp line against the log key (fsck).
//   - monitor follows a log over its read path (package ledger/monitor):
//     consistency of every checkpoint, every tile recomputed from the
//     entries, entry times, erasure records, witness cosignatures; it prints
//     each finding. Once, or with --follow until interrupted; with
//     --metrics-addr it serves its counters (findings by kind, steps by
//     result, entries checked) at GET /metrics for alerting.
//   - inspect shows a log's verified checkpoint, and with --subject the
//     entries of a subject tag, from a directory or over HTTP.
//
// # Exit codes
//
//	0  success: verified, no problems, no findings
//	1  verification failed: a bad signature or proof, a corrupt store,
//	   monitor findings (the evidence is printed)
//	2  usage: unknown command, bad or missing flags or arguments
//	3  I/O: a file, directory or server could not be read or written
//	4  any other error
package main
