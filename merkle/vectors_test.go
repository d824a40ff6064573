package merkle

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// updateVectors regenerates the generated vectors (testdata/tiles.json
// "encodings") from the naive reference tree, never from the code under test.
var updateVectors = flag.Bool("update-vectors", false, "rewrite generated test vectors in testdata/")

type hexHash string

func (h hexHash) hash(t *testing.T) Hash {
	t.Helper()
	b, err := hex.DecodeString(string(h))
	require.NoError(t, err)
	require.Len(t, b, HashSize)
	return Hash(b)
}

type rfc6962Vectors struct {
	Comment   string    `json:"comment"`
	Leaves    []string  `json:"leaves"`
	Roots     []hexHash `json:"roots"`
	Inclusion []struct {
		Index uint64   `json:"index"`
		Size  uint64   `json:"size"`
		Proof []string `json:"proof"`
	} `json:"inclusion"`
	Consistency []struct {
		First  uint64   `json:"first"`
		Second uint64   `json:"second"`
		Proof  []string `json:"proof"`
	} `json:"consistency"`
	t *testing.T
}

func (v *rfc6962Vectors) leafHashes() []Hash {
	out := make([]Hash, len(v.Leaves))
	for i, l := range v.Leaves {
		b, err := hex.DecodeString(l)
		require.NoError(v.t, err)
		out[i] = HashLeaf(b)
	}
	return out
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, v))
}

func loadRFC6962Vectors(t *testing.T) *rfc6962Vectors {
	t.Helper()
	v := &rfc6962Vectors{t: t}
	loadJSON(t, "rfc6962.json", v)
	require.Len(t, v.Leaves, 8)
	require.Len(t, v.Roots, 9)
	require.NotEmpty(t, v.Inclusion)
	require.NotEmpty(t, v.Consistency)
	return v
}

// TestRFC6962Vectors checks roots, proofs and both verifiers against the
// published Certificate Transparency vectors.
func TestRFC6962Vectors(t *testing.T) {
	v := loadRFC6962Vectors(t)
	leaves := v.leafHashes()
	require.Equal(t, v.Roots[0].hash(t), EmptyRoot())
	require.Equal(t, v.Roots[1].hash(t), HashLeaf(nil))
	g := growTree(t, leaves, 1)
	for n := uint64(1); n <= 8; n++ {
		got, err := RootHash(n, g.reader())
		require.NoError(t, err)
		require.Equal(t, v.Roots[n].hash(t), got, "root of size %d", n)
	}
	for _, c := range v.Inclusion {
		t.Run(fmt.Sprintf("inclusion/%d/%d", c.Index, c.Size), func(t *testing.T) {
			want := hashList(t, c.Proof)
			got, err := InclusionProof(c.Index, c.Size, g.reader())
			require.NoError(t, err)
			require.Equal(t, want, got)
			require.NoError(t, VerifyInclusion(leaves[c.Index], c.Index, c.Size, want, v.Roots[c.Size].hash(t)))
		})
	}
	for _, c := range v.Consistency {
		t.Run(fmt.Sprintf("consistency/%d/%d", c.First, c.Second), func(t *testing.T) {
			want := hashList(t, c.Proof)
			got, err := ConsistencyProof(c.First, c.Second, g.reader())
			require.NoError(t, err)
			require.Equal(t, len(want), len(got))
			if len(want) > 0 {
				require.Equal(t, want, got)
			}
			require.NoError(t, VerifyConsistency(c.First, c.Second, want, v.Roots[c.First].hash(t), v.Roots[c.Second].hash(t)))
		})
	}
}

type tileVectors struct {
	Comment string `json:"comment"`
	Paths   []struct {
		Level uint8  `json:"level"`
		Index uint64 `json:"index"`
		Width int    `json:"width"`
		Path  string `json:"path"`
	} `json:"paths"`
	Bundles []struct {
		Index uint64 `json:"index"`
		Width int    `json:"width"`
		Path  string `json:"path"`
	} `json:"bundles"`
	EncodingsComment string         `json:"encodings_comment"`
	Encodings        []tileEncoding `json:"encodings"`
}

// tileEncoding is tile 0/0 of the RFC 6962 vector tree at a width: the
// hashes of each level of the tile, bottom row first.
type tileEncoding struct {
	Width  int         `json:"width"`
	Levels [][]hexHash `json:"levels"`
}

func (e tileEncoding) bytes(t *testing.T) []byte {
	out := binary.BigEndian.AppendUint16(nil, uint16(e.Width))
	for _, level := range e.Levels {
		for _, h := range level {
			hh := h.hash(t)
			out = append(out, hh[:]...)
		}
	}
	return out
}

func TestTilePathVectors(t *testing.T) {
	var v tileVectors
	loadJSON(t, "tiles.json", &v)
	require.NotEmpty(t, v.Paths)
	require.NotEmpty(t, v.Bundles)
	for _, c := range v.Paths {
		t.Run(c.Path, func(t *testing.T) {
			require.Equal(t, c.Path, TileID{Level: c.Level, Index: c.Index}.Path(c.Width))
		})
	}
	for _, c := range v.Bundles {
		t.Run(c.Path, func(t *testing.T) {
			require.Equal(t, c.Path, EntryBundlePath(c.Index, c.Width))
		})
	}
}

// referenceTileEncodings derives tile 0/0 of the vector tree at several
// widths from the naive reference: level r of the tile holds the MTH of
// each aligned block of 2^r leaves.
func referenceTileEncodings(ref *refTree, widths []int) []tileEncoding {
	var out []tileEncoding
	for _, w := range widths {
		e := tileEncoding{Width: w}
		for r := 0; r < TileHeight && w>>r > 0; r++ {
			var level []hexHash
			for p := 0; p < w>>r; p++ {
				h := ref.MTH(uint64(p<<r), uint64((p+1)<<r))
				level = append(level, hexHash(hex.EncodeToString(h[:])))
			}
			e.Levels = append(e.Levels, level)
		}
		out = append(out, e)
	}
	return out
}

func TestTileEncodingVectors(t *testing.T) {
	rv := loadRFC6962Vectors(t)
	leaves := rv.leafHashes()
	ref := newRefTree(leaves)
	var v tileVectors
	loadJSON(t, "tiles.json", &v)
	if *updateVectors {
		v.Encodings = referenceTileEncodings(ref, []int{1, 2, 3, 5, 8})
		data, err := json.MarshalIndent(v, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join("testdata", "tiles.json"), append(data, '\n'), 0o644))
	}
	require.NotEmpty(t, v.Encodings)
	widths := make([]int, 0, len(v.Encodings))
	for _, e := range v.Encodings {
		widths = append(widths, e.Width)
	}
	require.Equal(t, referenceTileEncodings(ref, widths), v.Encodings, "vectors disagree with the reference tree")

	tiles := map[int]*Tile{}
	a, err := NewAppender(0, nil)
	require.NoError(t, err)
	for _, l := range leaves {
		for _, tile := range a.Append([]Hash{l}) {
			tiles[tile.Width()] = tile
		}
	}
	for _, e := range v.Encodings {
		t.Run(fmt.Sprint("width ", e.Width), func(t *testing.T) {
			want := e.bytes(t)
			got, err := tiles[e.Width].MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, want, got)
			dec, err := UnmarshalTile(TileID{}, want)
			require.NoError(t, err)
			require.Equal(t, e.Width, dec.Width())
			c2sp, err := TileFromC2SP(TileID{}, want[2:2+e.Width*HashSize])
			require.NoError(t, err)
			got, err = c2sp.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}
