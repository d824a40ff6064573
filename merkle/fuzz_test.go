package merkle

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// fuzzTree is a small tree whose tiles, proofs and roots seed the fuzzers.
func fuzzTree(f *testing.F, n int) *grownTree { return growTree(f, testLeaves(n), 37) }

func hashFrom(b []byte) Hash {
	var h Hash
	copy(h[:], b)
	return h
}

func hashesFrom(b []byte) []Hash {
	out := make([]Hash, len(b)/HashSize)
	for i := range out {
		copy(out[i][:], b[i*HashSize:])
	}
	return out
}

func concat(hs []Hash) []byte {
	var out []byte
	for _, h := range hs {
		out = append(out, h[:]...)
	}
	return out
}

func FuzzUnmarshalTile(f *testing.F) {
	// Small tiles only: the fuzzer mutates and minimizes large inputs
	// slowly, and widths up to 19 reach every level but the top one.
	g := fuzzTree(f, 19)
	for _, w := range []int{1, 2, 3, 4, 5, 8, 19} {
		tile, _ := extendTile(nil, TileID{Level: 1, Index: 3}, g.leaves[:w]).MarshalBinary()
		f.Add(tile, uint8(1), uint64(3))
	}
	f.Add([]byte{}, uint8(0), uint64(0))
	f.Add([]byte{0, 1}, uint8(0), uint64(0))
	f.Add([]byte{1, 0}, uint8(9), uint64(1<<63))
	f.Fuzz(func(t *testing.T, data []byte, level uint8, index uint64) {
		id := TileID{Level: level, Index: index}
		tile, err := UnmarshalTile(id, data)
		if err != nil {
			if !errors.Is(err, ErrMalformedTile) {
				t.Fatalf("error %v is not ErrMalformedTile", err)
			}
			return
		}
		w := tile.Width()
		if w < 1 || w > TileWidth || len(data) != 2+tileHashes(w)*HashSize || tile.ID() != id {
			t.Fatalf("accepted %d bytes as a tile of width %d", len(data), w)
		}
		// Every interior hash was checked, so rebuilding the interior
		// from the bottom row gives back the same bytes.
		rebuilt, err := TileFromC2SP(id, tile.C2SP())
		if err != nil {
			t.Fatal(err)
		}
		again, _ := rebuilt.MarshalBinary()
		if !bytes.Equal(again, data) {
			t.Fatal("accepted tile differs from the tile rebuilt from its bottom row")
		}
		for r := range uint8(TileHeight) {
			n := TileNode{Level: r, Pos: (w >> r) - 1}
			h1, ok1 := tile.Hash(n)
			h2, ok2 := NodeFromTileData(data, n)
			if ok1 != (n.Pos >= 0) || ok1 != ok2 || h1 != h2 {
				t.Fatalf("node %d/%d: Hash %v %v, NodeFromTileData %v %v", r, n.Pos, h1, ok1, h2, ok2)
			}
		}
	})
}

func FuzzTileFromC2SP(f *testing.F) {
	g := fuzzTree(f, 19)
	for _, w := range []int{1, 2, 5, 19} {
		f.Add(concat(g.leaves[:w]), uint8(0), uint64(2), uint8(w))
	}
	f.Add([]byte{}, uint8(0), uint64(0), uint8(0))
	f.Add(make([]byte, 31), uint8(0), uint64(0), uint8(1))
	f.Add(make([]byte, 257*HashSize), uint8(0), uint64(0), uint8(1))
	f.Fuzz(func(t *testing.T, content []byte, level uint8, index uint64, cut uint8) {
		id := TileID{Level: level, Index: index}
		tile, err := TileFromC2SP(id, content)
		valid := len(content) > 0 && len(content)%HashSize == 0 && len(content) <= TileWidth*HashSize
		if err != nil {
			if valid || !errors.Is(err, ErrMalformedTile) {
				t.Fatalf("%d bytes: %v", len(content), err)
			}
			return
		}
		if !valid || tile.Width() != len(content)/HashSize || !bytes.Equal(tile.C2SP(), content) {
			t.Fatalf("%d bytes accepted as width %d", len(content), tile.Width())
		}
		data, _ := tile.MarshalBinary()
		back, err := UnmarshalTile(id, data)
		if err != nil {
			t.Fatalf("UnmarshalTile of a built tile: %v", err)
		}
		if !bytes.Equal(back.C2SP(), content) {
			t.Fatal("round trip changed the bottom row")
		}
		w := 1 + int(cut)%tile.Width()
		p, err := tile.Prefix(w)
		if err != nil {
			t.Fatal(err)
		}
		direct, _ := TileFromC2SP(id, content[:w*HashSize])
		pd, _ := p.MarshalBinary()
		dd, _ := direct.MarshalBinary()
		if !bytes.Equal(pd, dd) {
			t.Fatalf("prefix %d of width %d differs from the tile built from the prefix", w, tile.Width())
		}
	})
}

func FuzzParseHash(f *testing.F) {
	h := HashLeaf([]byte("seed"))
	s := h.String()
	f.Add(s)
	f.Add(s[:40] + "\n" + s[40:])
	f.Add(s[:42] + "B=") // non-zero padding bits
	f.Add(base64.RawStdEncoding.EncodeToString(h[:]))
	f.Add(base64.URLEncoding.EncodeToString(h[:]))
	f.Add("")
	f.Add("====")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v is not ErrMalformedHash", err)
			}
			return
		}
		if h.String() != s {
			t.Fatalf("accepted %q, which is not the canonical %q", s, h.String())
		}
	})
}

func FuzzVerifyInclusion(f *testing.F) {
	g := fuzzTree(f, 300)
	for _, c := range []struct{ i, n uint64 }{{0, 1}, {0, 2}, {5, 8}, {100, 257}, {256, 257}, {299, 300}} {
		p, err := InclusionProof(c.i, c.n, g.reader())
		if err != nil {
			f.Fatal(err)
		}
		root, _ := RootHash(c.n, g.reader())
		f.Add(g.leaves[c.i][:], c.i, c.n, concat(p), root[:])
	}
	f.Add([]byte{}, uint64(1<<63), ^uint64(0), make([]byte, 64*HashSize), []byte{})
	f.Fuzz(func(t *testing.T, leafB []byte, index, size uint64, proofB, rootB []byte) {
		leaf, root, p := hashFrom(leafB), hashFrom(rootB), hashesFrom(proofB)
		err := VerifyInclusion(leaf, index, size, p, root)
		if err != nil && !errors.Is(err, ErrInvalidProof) && !errors.Is(err, ErrInvalidRange) {
			t.Fatalf("untyped error %v", err)
		}
		tdErr := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leaf[:], toBytes(p), root[:])
		if (err == nil) != (tdErr == nil) {
			t.Fatalf("index %d size %d, %d hashes: ours %v, transparency-dev %v", index, size, len(p), err, tdErr)
		}
	})
}

func FuzzVerifyConsistency(f *testing.F) {
	g := fuzzTree(f, 300)
	for _, c := range []struct{ m, n uint64 }{{1, 1}, {1, 2}, {4, 8}, {6, 8}, {100, 257}, {256, 257}, {299, 300}} {
		p, err := ConsistencyProof(c.m, c.n, g.reader())
		if err != nil {
			f.Fatal(err)
		}
		rm, _ := RootHash(c.m, g.reader())
		rn, _ := RootHash(c.n, g.reader())
		f.Add(c.m, c.n, concat(p), rm[:], rn[:])
	}
	f.Add(uint64(0), uint64(0), []byte{}, []byte{}, []byte{})
	f.Add(uint64(1<<63), ^uint64(0), make([]byte, 64*HashSize), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, m, n uint64, proofB, rootMB, rootNB []byte) {
		rootM, rootN, p := hashFrom(rootMB), hashFrom(rootNB), hashesFrom(proofB)
		err := VerifyConsistency(m, n, p, rootM, rootN)
		if err != nil && !errors.Is(err, ErrInvalidProof) && !errors.Is(err, ErrInvalidRange) {
			t.Fatalf("untyped error %v", err)
		}
		tdErr := proof.VerifyConsistency(rfc6962.DefaultHasher, m, n, toBytes(p), rootM[:], rootN[:])
		if (err == nil) != (tdErr == nil) {
			t.Fatalf("sizes %d to %d, %d hashes: ours %v, transparency-dev %v", m, n, len(p), err, tdErr)
		}
	})
}
