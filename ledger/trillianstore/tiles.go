package trillianstore

import (
	"context"
	"fmt"
	"math/bits"

	"github.com/google/trillian"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Trillian keeps no tiles: the read path's tiles are computed from what
// its API serves and checked against the signed head's root before they
// are served.
//
//   - A level-0 tile (and an entry bundle) is the leaves of one
//     GetLeavesByRange, checked by splitting the range into its perfect
//     subtrees (at most 8) and verifying each subtree's hash with the
//     inclusion proof of its first leaf.
//   - A tile of level L > 0 holds nodes of tree level 8L, each the root of
//     2^(8L) leaves: each node is read from GetEntryAndProof of its first
//     leaf (the first 8L proof hashes lie inside the node), and the whole
//     proof is verified. That is one RPC per node, run in parallel.
//
// The tiles computed this way are only what the store's mirror (mirror.go)
// lacks: its edge is kept from the leaves the store sees integrated, and
// full tiles are cached there.

// tileHead returns a signed head whose tree has tile id at the given width,
// or ErrNotFound.
func (s *Store) tileHead(ctx context.Context, id merkle.TileID, width int) (ledger.TreeHead, error) {
	if width < 1 || width > merkle.TileWidth {
		return ledger.TreeHead{}, notFoundf("tile %v of width %d", id, width)
	}
	head, err := s.bound(ctx, 1)
	if err != nil {
		return ledger.TreeHead{}, err
	}
	if merkle.TileWidthAt(head.Size, id) < width {
		if head, _, err = s.signed(ctx); err != nil {
			return ledger.TreeHead{}, err
		}
	}
	if avail := merkle.TileWidthAt(head.Size, id); width > avail {
		return ledger.TreeHead{}, notFoundf("tile %v of width %d in a tree of size %d", id, width, head.Size)
	}
	return head, nil
}

// Tile implements ledger.Store, from the store's mirror of the tree (see
// mirror.go), which reads from Trillian only what it lacks.
func (s *Store) Tile(ctx context.Context, level uint8, index uint64, width int) ([]byte, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	id := merkle.TileID{Level: level, Index: index}
	head, err := s.tileHead(ctx, id, width)
	if err != nil {
		return nil, err
	}
	r, err := s.tilesAt(ctx, head.Size)
	if err != nil {
		return nil, err
	}
	t, err := r.ReadTile(id, width)
	if err != nil {
		return nil, r.failure(fmt.Sprintf("tile %v", id), err)
	}
	return t.C2SP()[:width*merkle.HashSize], nil
}

// EntryBundle implements ledger.Store, from one checked GetLeavesByRange.
func (s *Store) EntryBundle(ctx context.Context, index uint64, width int) ([]byte, error) {
	ctx, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	head, err := s.tileHead(ctx, merkle.TileID{Level: 0, Index: index}, width)
	if err != nil {
		return nil, err
	}
	leaves, _, err := s.checkedLeaves(ctx, head, index, width)
	if err != nil {
		return nil, err
	}
	b, err := ledger.EncodeEntryBundle(leaves)
	if err != nil {
		return nil, corruptf("entry bundle %d: %v", index, err)
	}
	return b, nil
}

// checkedLeaves reads the leaves [256*index, 256*index+width) and checks
// them against head's root: the range splits into perfect subtrees, one per
// bit of width, and each subtree's hash, computed from the leaves, must be
// the node the inclusion proof of its first leaf passes through.
func (s *Store) checkedLeaves(ctx context.Context, head ledger.TreeHead, index uint64, width int) ([][]byte, []merkle.Hash, error) {
	first := index * merkle.TileWidth
	got, err := s.leavesByRange(ctx, first, width)
	if err != nil {
		return nil, nil, err
	}
	leaves := make([][]byte, width)
	hashes := make([]merkle.Hash, width)
	for i, l := range got {
		leaves[i] = l.LeafValue
		hashes[i] = merkle.HashLeaf(l.LeafValue)
	}
	type subtree struct {
		lo    int // offset of the first leaf in the range
		level int // height: 2^level leaves
	}
	var subtrees []subtree
	for lo, rest := 0, width; rest > 0; {
		lvl := bits.Len(uint(rest)) - 1
		subtrees = append(subtrees, subtree{lo: lo, level: lvl})
		lo += 1 << lvl
		rest -= 1 << lvl
	}
	err = s.fanOut(ctx, len(subtrees), func(ctx context.Context, i int) error {
		st := subtrees[i]
		leaf := first + uint64(st.lo)
		proof, err := s.inclusionProof(ctx, leaf, head.Size)
		if err != nil {
			return err
		}
		if err := merkle.VerifyInclusion(hashes[st.lo], leaf, head.Size, proof, head.Root); err != nil {
			return corruptf("leaf %d does not verify against the signed root: %v", leaf, err)
		}
		if len(proof) < st.level || subtreeHash(hashes[st.lo:st.lo+1<<st.level]) != foldRight(hashes[st.lo], proof[:st.level]) {
			return corruptf("leaves [%d, %d) do not match the tree", leaf, leaf+1<<st.level)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return leaves, hashes, nil
}

// upperTile computes the first width nodes of tile id (level > 0) of the
// tree of head, each from the entry and inclusion proof of its first leaf.
func (s *Store) upperTile(ctx context.Context, head ledger.TreeHead, id merkle.TileID, width int) ([]merkle.Hash, error) {
	height := int(id.Level) * merkle.TileHeight
	out := make([]merkle.Hash, width)
	err := s.fanOut(ctx, width, func(ctx context.Context, p int) error {
		leaf := (id.Index*merkle.TileWidth + uint64(p)) << height
		var resp *trillian.GetEntryAndProofResponse
		err := s.call(ctx, "GetEntryAndProof", func(ctx context.Context) (err error) {
			resp, err = s.log.GetEntryAndProof(ctx, &trillian.GetEntryAndProofRequest{
				LogId: s.cfg.TreeID, LeafIndex: int64(leaf), TreeSize: int64(head.Size),
			})
			if err == nil && (resp.Proof == nil || resp.Leaf == nil) {
				err = status.Error(codes.Unavailable, "tree size not yet known to this replica")
			}
			return err
		})
		if err != nil {
			return err
		}
		proof, err := toHashes(resp.Proof.Hashes)
		if err != nil {
			return err
		}
		lh := merkle.HashLeaf(resp.Leaf.LeafValue)
		if err := merkle.VerifyInclusion(lh, leaf, head.Size, proof, head.Root); err != nil {
			return corruptf("leaf %d does not verify against the signed root: %v", leaf, err)
		}
		if len(proof) < height {
			return corruptf("inclusion proof of leaf %d too short for level %d", leaf, height)
		}
		out[p] = foldRight(lh, proof[:height])
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// foldRight hashes h with right siblings: the root of the perfect subtree
// whose leftmost leaf is h, given the first hashes of that leaf's proof.
func foldRight(h merkle.Hash, siblings []merkle.Hash) merkle.Hash {
	for _, p := range siblings {
		h = merkle.HashChildren(h, p)
	}
	return h
}

// subtreeHash returns the root of a perfect subtree (len(hs) a power of two).
func subtreeHash(hs []merkle.Hash) merkle.Hash {
	if len(hs) == 1 {
		return hs[0]
	}
	half := len(hs) / 2
	return merkle.HashChildren(subtreeHash(hs[:half]), subtreeHash(hs[half:]))
}
