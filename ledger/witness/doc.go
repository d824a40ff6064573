// Package witness speaks the C2SP tlog-witness protocol
// (https://c2sp.org/tlog-witness) over HTTP: a [Handler] that serves a
// [ledger.Witness] at POST /add-checkpoint, and a [Client] that asks a
// witness (ours, or any other implementation, such as litewitness) to
// cosign a checkpoint. A Client is a [ledger.CheckpointCosigner], so a
// [ledger.Log] configured with Clients collects cosignatures before it
// releases receipts (see ledger.Config.Witnesses).
//
// # Protocol
//
// The request body is an old size line ("old <decimal>\n"), zero to 63
// consistency proof lines (base64 hashes), an empty line and the signed
// checkpoint with all its signature lines. The Handler answers:
//
//   - 200 with the witness's cosignature line (text/plain);
//   - 400 for a malformed request or an old size above the checkpoint's;
//   - 403 for a checkpoint with no valid signature by the log's key;
//   - 404 for an origin the witness does not cosign for;
//   - 409, Content-Type text/x.tlog.size, body "<size>\n", when the old
//     size is not the size the witness last cosigned, and when the
//     checkpoint has that size but another root (as the specification
//     says; the size in the body is then the old size itself, which is how
//     a Client tells a fork from a stale old size);
//   - 413 for a body above [MaxRequestSize];
//   - 422 for a consistency proof that does not verify;
//   - 500 if the witness could not persist its state.
//
// # Threat model
//
// The Handler trusts nothing in a request: the checkpoint must be signed
// by a key the witness was configured with for its origin, and the witness
// cosigns only checkpoints consistent with everything it cosigned before
// (ledger.Witness keeps that rule; this package only carries bytes). There
// is no authentication of the caller, as in the specification; put rate
// limits in front of a public witness. Bodies and read times are bounded.
// Error bodies never echo the request.
//
// A Client trusts nothing in a response: it bounds its size, checks that it
// is made of signature lines, and maps status codes to errors; callers (the
// Log) keep only lines that verify under the witness's configured key.
//
// This package imports only the standard library, x/mod (through ledger)
// and the ledger and merkle packages.
package witness
