package merkle

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"
)

// c2spServer serves tiles the way a static tlog-tiles server would: the
// C2SP bytes of every tile version an Appender returned, at its
// [TileID.Path]. It implements tlog.TileReader, translating tlog's paths
// ("tile/8/L/N[.p/W]", with the height) to C2SP ones ("tile/L/N[.p/W]"), so
// a tile tlog asks for is found only if both libraries name it alike.
type c2spServer struct {
	files   map[string][]byte
	corrupt string // a path whose bytes are served with one bit flipped
	reads   int
}

func (s *c2spServer) add(tiles []*Tile) {
	for _, t := range tiles {
		s.files[t.ID().Path(t.Width())] = t.C2SP()
	}
}

func (s *c2spServer) Height() int { return TileHeight }

func (s *c2spServer) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		path, ok := strings.CutPrefix(t.Path(), fmt.Sprintf("tile/%d/", TileHeight))
		if !ok {
			return nil, fmt.Errorf("unexpected tlog path %s", t.Path())
		}
		path = "tile/" + path
		data, ok := s.files[path]
		if !ok {
			return nil, fmt.Errorf("no tile at %s", path)
		}
		if path == s.corrupt {
			data = append([]byte(nil), data...)
			data[len(data)/2] ^= 0x10
		}
		out[i] = data
		s.reads++
	}
	return out, nil
}

func (s *c2spServer) SaveTiles([]tlog.Tile, [][]byte) {}

// TestC2SPTilesServeTlog serves our tiles to sumdb/tlog's tile client and
// checks that tlog, which authenticates every tile it reads against the
// tree hash, computes our roots and proves and verifies records and tree
// prefixes from them.
func TestC2SPTilesServeTlog(t *testing.T) {
	const total = 66_000
	leaves := testLeaves(total)
	srv := &c2spServer{files: map[string][]byte{}}
	a, err := NewAppender(0, nil)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(5, 6))
	roots := map[uint64]Hash{}
	var sizes []uint64
	for a.Size() < total {
		n := min(uint64(1+rng.IntN(2500)), total-a.Size())
		if a.Size() < 600 {
			n = min(n, uint64(1+rng.IntN(40)))
		}
		srv.add(a.Append(leaves[a.Size() : a.Size()+n]))
		roots[a.Size()] = a.Root()
		sizes = append(sizes, a.Size())
	}
	checkServedTilesDecode(t, srv)
	ref := newRefTree(leaves)

	for _, n := range sizes {
		if n > 600 && n != total && rng.IntN(4) != 0 {
			continue
		}
		t.Run(fmt.Sprint("size ", n), func(t *testing.T) {
			root := roots[n]
			hr := tlog.TileHashReader(tlog.Tree{N: int64(n), Hash: tlog.Hash(root)}, srv)
			th, err := tlog.TreeHash(int64(n), hr)
			require.NoError(t, err)
			require.Equal(t, root, Hash(th))
			for range 4 {
				i := rng.Uint64N(n)
				p, err := tlog.ProveRecord(int64(n), int64(i), hr)
				require.NoError(t, err)
				require.NoError(t, tlog.CheckRecord(p, int64(n), tlog.Hash(root), int64(i), tlog.Hash(leaves[i])))
				require.NoError(t, VerifyInclusion(leaves[i], i, n, fromTlog(p), root))

				m := 1 + rng.Uint64N(n)
				tp, err := tlog.ProveTree(int64(n), int64(m), hr)
				require.NoError(t, err)
				require.NoError(t, tlog.CheckTree(tp, int64(n), tlog.Hash(root), int64(m), tlog.Hash(ref.Root(m))))
			}
		})
	}

	t.Run("corrupted tile is refused", func(t *testing.T) {
		n := sizes[len(sizes)-1]
		tree := tlog.Tree{N: int64(n), Hash: tlog.Hash(roots[n])}
		_, err := tlog.ProveRecord(int64(n), 3*TileWidth+7, tlog.TileHashReader(tree, srv))
		require.NoError(t, err, "control: the intact tile serves the proof")
		srv.corrupt = TileID{Level: 0, Index: 3}.Path(TileWidth)
		defer func() { srv.corrupt = "" }()
		_, err = tlog.ProveRecord(int64(n), 3*TileWidth+7, tlog.TileHashReader(tree, srv))
		require.ErrorContains(t, err, "downloaded inconsistent tile")
	})
}

// checkServedTilesDecode decodes every served tile with TileFromC2SP and
// checks that the rebuilt tile keeps the served bytes.
func checkServedTilesDecode(t *testing.T, srv *c2spServer) {
	t.Helper()
	require.NotEmpty(t, srv.files)
	for path, data := range srv.files {
		tile, err := TileFromC2SP(TileID{}, data)
		require.NoError(t, err)
		require.Equal(t, data, tile.C2SP(), path)
	}
}

func fromTlog(hs []tlog.Hash) []Hash {
	out := make([]Hash, len(hs))
	for i, h := range hs {
		out[i] = Hash(h)
	}
	return out
}

// TestTileIDPathMatchesTlog checks TileID.Path against tlog's Tile.Path for
// many levels, indexes and widths.
func TestTileIDPathMatchesTlog(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	indexes := []uint64{0, 1, 999, 1000, 1001, 999_999, 1_000_000, 1_234_067, 1 << 40}
	for range 50 {
		indexes = append(indexes, rng.Uint64N(1<<50))
	}
	for _, n := range indexes {
		for _, w := range []int{1, 2, 17, 128, 255, 256} {
			for _, l := range []uint8{0, 1, 2, 5} {
				tt := tlog.Tile{H: TileHeight, L: int(l), N: int64(n), W: w}
				want := "tile/" + strings.TrimPrefix(tt.Path(), "tile/8/")
				require.Equal(t, want, TileID{Level: l, Index: n}.Path(w))
			}
			dt := tlog.Tile{H: TileHeight, L: -1, N: int64(n), W: w}
			want := "tile/entries/" + strings.TrimPrefix(dt.Path(), "tile/8/data/")
			require.Equal(t, want, EntryBundlePath(n, w))
		}
	}
}

// TestTileOfMatchesTlog checks that TileOf places every stored node where
// tlog.TileForIndex places it.
func TestTileOfMatchesTlog(t *testing.T) {
	for level := uint(0); level < 3*TileHeight; level++ {
		for _, n := range []uint64{0, 1, 2, 255, 256, 257, 65535, 65536, 123_456_789} {
			tt := tlog.TileForIndex(TileHeight, tlog.StoredHashIndex(int(level), int64(n)))
			id, node := TileOf(NodeID{Level: level, Index: n})
			require.Equal(t, TileID{Level: uint8(tt.L), Index: uint64(tt.N)}, id, "node %d/%d", level, n)
			// tlog names the tile just wide enough to hold the node: all
			// the bottom hashes under it.
			require.Equal(t, tt.W, (node.Pos+1)<<node.Level, "node %d/%d", level, n)
		}
	}
}
