package merkle_test

import (
	"errors"
	"fmt"

	"github.com/healthledger/healthledger/merkle"
)

// tileStore keeps the newest version of every tile, as a storage backend
// would. It implements merkle.TileReader.
type tileStore map[merkle.TileID]*merkle.Tile

func (s tileStore) ReadTile(id merkle.TileID, width int) (*merkle.Tile, error) {
	t, ok := s[id]
	if !ok || t.Width() < width {
		return nil, fmt.Errorf("tile %v: %w", id, merkle.ErrMissingNode)
	}
	return t, nil
}

func (s tileStore) save(tiles []*merkle.Tile) {
	for _, t := range tiles {
		s[t.ID()] = t
	}
}

// Example builds a tree, proves that a record is in it and that an older
// tree is a prefix of it, and verifies both proofs as a client would.
func Example() {
	store := tileStore{}
	app, err := merkle.NewAppender(0, store)
	if err != nil {
		panic(err)
	}
	records := []string{"alpha", "bravo", "charlie", "delta", "echo"}
	var leaves []merkle.Hash
	for _, r := range records {
		leaves = append(leaves, merkle.HashLeaf([]byte(r)))
	}

	// The first three records, then the other two: each Append returns
	// the tiles to store.
	store.save(app.Append(leaves[:3]))
	oldSize, oldRoot := app.Size(), app.Root()
	store.save(app.Append(leaves[3:]))
	size, root := app.Size(), app.Root()
	fmt.Println("size", size, "root", root)

	// The log proves "charlie" (index 2) is in the tree of size 5 ...
	reader := merkle.TileHashReader{Tiles: store}
	incl, err := merkle.InclusionProof(2, size, reader)
	if err != nil {
		panic(err)
	}
	// ... and a client holding only the leaf, the index and the root
	// (from a signed checkpoint) verifies it.
	fmt.Println("inclusion:", merkle.VerifyInclusion(merkle.HashLeaf([]byte("charlie")), 2, size, incl, root))

	// The log proves the tree of size 3 is a prefix of the tree of size 5.
	cons, err := merkle.ConsistencyProof(oldSize, size, reader)
	if err != nil {
		panic(err)
	}
	fmt.Println("consistency:", merkle.VerifyConsistency(oldSize, size, cons, oldRoot, root))

	// A record that is not there fails with a typed error.
	err = merkle.VerifyInclusion(merkle.HashLeaf([]byte("mallory")), 2, size, incl, root)
	var mismatch *merkle.RootMismatchError
	fmt.Println("forged record rejected:", errors.As(err, &mismatch), errors.Is(err, merkle.ErrInvalidProof))
	// Output:
	// size 5 root J/tawbfXKLV4YvjbWtH9s/b4+SgVUoQsIkLPq6l/hkY=
	// inclusion: <nil>
	// consistency: <nil>
	// forged record rejected: true true
}

// ExampleVerifyInclusion checks a proof against the RFC 6962 test tree of
// eight leaves (the Certificate Transparency test vectors).
func ExampleVerifyInclusion() {
	leaf := merkle.HashLeaf([]byte{0x40, 0x41, 0x42, 0x43}) // leaf 5
	proof := []merkle.Hash{
		mustParse("vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="),
		mustParse("yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA="),
		mustParse("037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="),
	}
	root := mustParse("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=")
	fmt.Println(merkle.VerifyInclusion(leaf, 5, 8, proof, root))
	fmt.Println(merkle.VerifyInclusion(leaf, 4, 8, proof, root) != nil)
	// Output:
	// <nil>
	// true
}

// ExampleVerifyConsistency checks that the RFC 6962 test tree of six
// leaves is a prefix of the tree of eight.
func ExampleVerifyConsistency() {
	proof := []merkle.Hash{
		mustParse("DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o="),
		mustParse("yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA="),
		mustParse("037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="),
	}
	root6 := mustParse("duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=")
	root8 := mustParse("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=")
	fmt.Println(merkle.VerifyConsistency(6, 8, proof, root6, root8))
	fmt.Println(errors.Is(merkle.VerifyConsistency(6, 8, proof, root8, root6), merkle.ErrInvalidProof))
	// Output:
	// <nil>
	// true
}

// ExampleTileID_Path shows where C2SP tlog-tiles serves tiles and bundles.
func ExampleTileID_Path() {
	// The node of tree level 0 and index 1234567 is in tile 0/4822.
	id, node := merkle.TileOf(merkle.NodeID{Level: 0, Index: 1234567})
	fmt.Println(id, node.Pos)
	fmt.Println(id.Path(merkle.TileWidth))
	fmt.Println(id.Path(136))
	fmt.Println(merkle.EntryBundlePath(id.Index, 136))
	// Output:
	// 0/4822 135
	// tile/0/x004/822
	// tile/0/x004/822.p/136
	// tile/entries/x004/822.p/136
}

// ExampleUnmarshalTile stores a tile and reads it back; a corrupted
// interior is refused.
func ExampleUnmarshalTile() {
	app, _ := merkle.NewAppender(0, nil)
	tiles := app.Append([]merkle.Hash{
		merkle.HashLeaf([]byte("a")), merkle.HashLeaf([]byte("b")),
		merkle.HashLeaf([]byte("c")), merkle.HashLeaf([]byte("d")),
	})
	data, _ := tiles[0].MarshalBinary()
	t, err := merkle.UnmarshalTile(tiles[0].ID(), data)
	fmt.Println(t.ID(), t.Width(), len(data), err)

	bad := append([]byte(nil), data...)
	bad[len(bad)-1] ^= 1 // the tile's top hash
	_, err = merkle.UnmarshalTile(tiles[0].ID(), bad)
	fmt.Println(errors.Is(err, merkle.ErrMalformedTile))
	// Output:
	// 0/0 4 226 <nil>
	// true
}

func mustParse(s string) merkle.Hash {
	h, err := merkle.ParseHash(s)
	if err != nil {
		panic(err)
	}
	return h
}
