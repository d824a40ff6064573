package merkle

import (
	"fmt"

	"github.com/transparency-dev/merkle/proof"
)

// HashReader supplies the hashes of perfect nodes of a tree. ReadHashes
// fills out[i] with the hash of ids[i]; len(out) == len(ids).
type HashReader interface {
	ReadHashes(ids []NodeID, out []Hash) error
}

// TileHashReader adapts a TileReader to a HashReader.
type TileHashReader struct {
	Tiles TileReader
}

// ReadHashes implements HashReader, reading each distinct tile once.
func (r TileHashReader) ReadHashes(ids []NodeID, out []Hash) error {
	var last *Tile
	for i, id := range ids {
		tid, n := TileOf(id)
		w := n.Pos<<n.Level + 1<<n.Level
		if last == nil || last.id != tid || last.width < w {
			t, err := r.Tiles.ReadTile(tid, w)
			if err != nil {
				return fmt.Errorf("merkle: reading tile %v: %w", tid, err)
			}
			last = t
		}
		h, ok := last.Hash(n)
		if !ok {
			return fmt.Errorf("%w: node %d/%d not in tile %v of width %d", ErrMissingNode, id.Level, id.Index, tid, last.width)
		}
		out[i] = h
	}
	return nil
}

// RootHash returns the root of the tree of the given size.
func RootHash(size uint64, r HashReader) (Hash, error) {
	if size == 0 {
		return EmptyRoot(), nil
	}
	ids := compactNodes(size)
	hashes := make([]Hash, len(ids))
	if err := r.ReadHashes(ids, hashes); err != nil {
		return Hash{}, err
	}
	root := hashes[len(hashes)-1]
	for i := len(hashes) - 2; i >= 0; i-- {
		root = HashChildren(hashes[i], root)
	}
	return root, nil
}

// InclusionProof returns the RFC 9162 inclusion proof of leaf index in the
// tree of the given size.
func InclusionProof(index, size uint64, r HashReader) ([]Hash, error) {
	if index >= size {
		return nil, fmt.Errorf("%w: index %d not below size %d", ErrInvalidRange, index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRange, err)
	}
	return fetchAndRehash(nodes, r)
}

// ConsistencyProof returns the RFC 9162 consistency proof between the trees
// of sizes m and n, 0 < m <= n. It is empty when m == n.
func ConsistencyProof(m, n uint64, r HashReader) ([]Hash, error) {
	if m == 0 || m > n {
		return nil, fmt.Errorf("%w: consistency from size %d to %d", ErrInvalidRange, m, n)
	}
	nodes, err := proof.Consistency(m, n)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRange, err)
	}
	return fetchAndRehash(nodes, r)
}

func fetchAndRehash(nodes proof.Nodes, r HashReader) ([]Hash, error) {
	hashes := make([]Hash, len(nodes.IDs))
	if err := r.ReadHashes(nodes.IDs, hashes); err != nil {
		return nil, err
	}
	// Replace the block of nodes under the ephemeral node (if any) by their
	// hash, folding from the lowest (rightmost) node leftwards.
	_, begin, end := nodes.Ephem()
	if end-begin < 2 {
		return hashes, nil
	}
	h := hashes[begin]
	for i := begin + 1; i < end; i++ {
		h = HashChildren(hashes[i], h)
	}
	hashes[begin] = h
	return append(hashes[:begin+1], hashes[end:]...), nil
}
