// Package merkle is the tree math of healthledger's transparency log: an
// RFC 6962 / RFC 9162 Merkle tree kept as C2SP tlog-tiles, with inclusion
// and consistency proofs and their verification.
//
// The package is pure: it does no I/O, takes no context and keeps no global
// state. Storage is the caller's; the package reads tiles through the small
// [TileReader] and node hashes through [HashReader] interfaces, and an
// [Appender] returns the tiles each append changed for the caller to store.
//
// # Hashing
//
// Trees are hashed as in [RFC 9162, section 2.1.1] (identical to
// [RFC 6962, section 2.1]): SHA-256, a leaf is SHA-256(0x00 || data)
// ([HashLeaf]), an interior node SHA-256(0x01 || left || right)
// ([HashChildren]), and the tree of n leaves splits at the largest power of
// two smaller than n. The empty tree's root is SHA-256 of the empty string
// ([EmptyRoot]). A [Hash] prints and parses as standard base64, the form
// C2SP checkpoints use; [ParseHash] accepts only the canonical encoding, so
// a hash has exactly one text form.
//
// # Proofs
//
// [InclusionProof] and [ConsistencyProof] produce the proofs of
// [RFC 9162, section 2.1.3] and [section 2.1.4]; [VerifyInclusion] and
// [VerifyConsistency] are the verification algorithms of sections 2.1.3.2
// and 2.1.4.2. They do not allocate when a proof verifies. A proof that
// fails returns an error that wraps [ErrInvalidProof]: a
// [*RootMismatchError], carrying the expected and the computed root, when
// the proof has the right length but leads elsewhere, or a plain wrapped
// ErrInvalidProof when it has the wrong number of hashes. An index or size
// pair for which no proof exists (index >= size, a consistency proof to a
// smaller tree) is [ErrInvalidRange]; a node a reader cannot supply is
// [ErrMissingNode].
//
// Proofs and roots are interoperable: the tests check them, for every tree
// size up to 600 and sampled sizes up to 200,000, against a naive
// implementation of the RFC's recursive definitions, golang.org/x/mod's
// sumdb/tlog and github.com/transparency-dev/merkle, and against the
// published Certificate Transparency test vectors.
//
// # What verification does and does not prove
//
// A verified inclusion proof shows that a leaf hash is at an index of the
// tree whose root is given; a verified consistency proof that the tree of
// the first root is a prefix of the tree of the second. Both are only as
// good as the roots: this package does not know which roots to trust.
// Roots come from signed, witnessed checkpoints (package ledger), and the
// signature is what binds a root to its tree size. The root alone does
// not: a proof can verify for another claimed tree size when both trees
// have the same shape along the proved path (leaf 0 of a tree of 3 and of
// a tree of 4, for example), so a verifier must take the size from the
// same signed checkpoint as the root. From the empty tree every tree is
// consistent; VerifyConsistency with a first size of 0 does not look at
// the first root.
//
// Leaves must be hashed with [HashLeaf]: the leaf and node prefixes keep a
// leaf from being passed off as an interior node, but only if callers
// never feed an interior hash in as a leaf hash. Comparisons are not
// constant time; every hash here is public.
//
// # Tile layout
//
// The tree is stored as the tiles of [C2SP tlog-tiles] with height 8. Tile
// level L holds the hashes of tree level 8L; tile N of that level holds
// its hashes [256N, 256N+256). A tile with fewer than 256 hashes is a
// partial tile of width W, the right edge of the tree; it grows as leaves
// are appended (each version a prefix of the next) and never changes once
// full. [TileID.Path] names a tile as C2SP does, "tile/L/N" for a full
// tile and "tile/L/N.p/W" for a partial one, with N written in groups of
// three digits, all but the last prefixed with "x" (tile 1234067 of level
// 0 is "tile/0/x001/x234/067"); [EntryBundlePath] names entry bundles,
// "tile/entries/N[.p/W]". [TileOf] locates a tree node in its tile.
//
// A tile's C2SP content ([Tile.C2SP]) is its bottom row: W hashes of 32
// bytes, concatenated. Those are the bytes a static tlog-tiles server
// serves, and sumdb/tlog's authenticating tile client (tlog.TileHashReader
// with tile height 8, whose paths are the same with the height added,
// "tile/8/L/N") reads and verifies them; the tests do exactly that.
//
// For storage, [Tile.MarshalBinary] keeps the tile's interior as well, so
// that any node is one lookup and no proof needs rehashing: a 2-byte
// big-endian width W (1 to 256), then levels r = 0 to 7 of the tile,
// bottom row first, level r holding the floor(W/2^r) hashes of the perfect
// subtrees of height r inside the first W bottom hashes. A full tile is
// 2 + 510*32 = 16,322 bytes. The tile's own root, a level 8 node, is not
// in the tile but in the bottom row of the tile one level up.
// [NodeFromTileData] reads one node straight from that encoding.
//
// [UnmarshalTile] checks the length and every interior hash against its
// children, so a corrupted byte in a stored tile is reported with
// [ErrMalformedTile] anywhere but in one place: the last bottom hash of a
// tile of odd width, which no interior hash of the tile covers. That hash
// is on the right edge of the tree, so the root computed through the tile,
// and every proof that uses it, no longer matches the signed root: the
// root check catches what the tile check cannot. UnmarshalTile detects
// corruption, not forgery; a tile rewritten with consistent interior
// hashes decodes, and only verification against a trusted root exposes
// it.
//
// # Concurrency
//
// Tiles are immutable and may be shared between goroutines; so are the
// package's functions. An [Appender] is not safe for concurrent use.
//
// [RFC 9162, section 2.1.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
// [RFC 6962, section 2.1]: https://www.rfc-editor.org/rfc/rfc6962#section-2.1
// [RFC 9162, section 2.1.3]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3
// [section 2.1.4]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4
// [C2SP tlog-tiles]: https://c2sp.org/tlog-tiles
package merkle
