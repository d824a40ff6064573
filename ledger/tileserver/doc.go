// Package tileserver serves a healthledger log's read path over HTTP in
// the C2SP tlog-tiles layout (https://c2sp.org/tlog-tiles), so that any
// tile client (package ledger/client, Tessera's client, sumdb/tlog-style
// readers) can follow and verify the log without trusting the server.
//
// A [Handler] serves, for GET and HEAD:
//
//   - /checkpoint: the log's latest signed checkpoint as the Log returns
//     it, with the witness cosignatures a [ledger.Log] configured with
//     witnesses collected (text/plain; charset=utf-8, Cache-Control:
//     no-store);
//   - /tile/<L>/<N>[.p/<W>]: hash tiles, the 32-byte hashes of tree level
//     8L at positions [256N, 256N+W);
//   - /tile/entries/<N>[.p/<W>]: entry bundles, each leaf (the entry's
//     binary encoding, SPEC.md section 1) as a big-endian uint16 length
//     and its bytes.
//
// N is written in groups of three digits, all but the last prefixed with
// "x" (x001/x234/067 is 1234067); .p/<W> names a partial tile of width
// 1 to 255. Paths are parsed strictly: a non-canonical spelling of a valid
// request (leading zeros, x000 groups, .p/256, percent-escapes) is
// refused with 400, so every resource has exactly one URL. A tile or
// bundle the tree does not have is 404. Tiles and bundles are
// application/octet-stream with Access-Control-Allow-Origin: *; full ones
// never change and are served with Cache-Control: public,
// max-age=31536000, immutable, partial ones with a short max-age
// (Config.PartialMaxAge).
//
// # What it guarantees and what it does not
//
// The handler adds no trust: a client verifies the checkpoint's signature
// and cosignatures and checks every tile and entry against the signed root
// (package ledger/client does). The handler's job is to be exact, fast and
// bounded: every request reads at most one tile (8 KiB) or one entry
// bundle (at most 256 entries of at most 64 KiB) from the store, and error
// responses carry a status text only, never an error message.
//
// Entries are public on the read path: everyone who can reach the handler
// can read every leaf. Leaves carry digests, pseudonymous subject tags and
// commitments, not PHI in clear (see package ledger). Payloads kept beside
// the tree (encoding version 2: typically sealed consent and record
// bodies, erasable) are not part of tlog-tiles and are not served unless
// Config.Payloads is set; then /payload/<index> (decimal) serves the salt
// and data the leaf commits to, with Cache-Control: no-store and no CORS
// header, and an erased payload is 410 Gone with the erasure entry's index
// in X-Erased-By. Serve payloads only behind the deployment's access
// control. Erasure changes nothing else the handler serves: every tile,
// bundle and checkpoint stays byte-identical.
package tileserver
