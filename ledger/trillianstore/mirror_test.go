package trillianstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
)

// Two frontends append in turns to one LOG tree; each serves proofs,
// roots and tiles from its own mirror, which must follow the leaves the
// other one added. A third store opens the tree late (its mirror starts at
// a non-empty tree and reads older tiles from Trillian when asked) with a
// cache of one tile, so that tiles are evicted and read again.
func TestMirrorFollowsOtherFrontends(t *testing.T) {
	mirrorFrontends(t, memEnv(t).ClientConn)
}

func mirrorFrontends(t *testing.T, cc grpc.ClientConnInterface) {
	ctx := context.Background()
	sign, verifier := signerOf(t)
	tree := newTree(t, cc, ModeLog)
	a := openStore(t, cc, tree, ModeLog, sign)
	b := openStore(t, cc, tree, ModeLog, sign)
	leaves := makeLeaves(t, "mirror", 560, 3, 120)
	var heads []ledger.TreeHead
	for i := 0; i < len(leaves); i += 70 {
		s := a
		if i/70%2 == 1 {
			s = b
		}
		res, err := s.Add(ctx, leaves[i:i+70], sign)
		require.NoError(t, err)
		verifyResult(t, leaves[i:i+70], res, verifier)
		heads = append(heads, res.Head)
	}
	late, err := Open(ctx, Config{Conn: cc, TreeID: tree, Sign: sign, TileCacheSize: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = late.Close() })
	final := heads[len(heads)-1]
	for _, s := range []*Store{a, b, late} {
		_, err := s.Checkpoint(ctx) // every store sees the final head
		require.NoError(t, err)
	}
	for name, s := range map[string]*Store{"a": a, "b": b, "late": late} {
		t.Run(name, func(t *testing.T) {
			for _, h := range heads {
				root, err := s.RootHash(ctx, h.Size)
				require.NoError(t, err)
				require.Equal(t, h.Root, root, "root of size %d", h.Size)
				p, err := s.ConsistencyProof(ctx, h.Size, final.Size)
				require.NoError(t, err)
				require.NoError(t, merkle.VerifyConsistency(h.Size, final.Size, p, h.Root, final.Root))
			}
			for _, i := range []uint64{0, 1, 255, 256, 300, 511, 512, final.Size - 1} {
				idx, err := s.IndexOf(ctx, leaves[i].Hash)
				require.NoError(t, err)
				for _, h := range heads {
					if idx >= h.Size {
						continue
					}
					p, err := s.InclusionProof(ctx, idx, h.Size)
					require.NoError(t, err)
					require.NoError(t, merkle.VerifyInclusion(leaves[i].Hash, idx, h.Size, p, h.Root),
						fmt.Sprintf("leaf %d in size %d", idx, h.Size))
				}
			}
			for _, tc := range []struct {
				level uint8
				index uint64
				width int
			}{{0, 0, 256}, {0, 1, 256}, {0, 2, int(final.Size - 512)}, {1, 0, 2}} {
				got, err := s.Tile(ctx, tc.level, tc.index, tc.width)
				require.NoError(t, err)
				want, err := a.Tile(ctx, tc.level, tc.index, tc.width)
				require.NoError(t, err)
				require.Equal(t, want, got, "tile %d/%d", tc.level, tc.index)
			}
		})
	}
	// The late store's mirror started at a non-empty tree and kept at most
	// one full tile.
	late.mirror.mu.Lock()
	defer late.mirror.mu.Unlock()
	require.LessOrEqual(t, len(late.mirror.full), 1)
}

func TestPostgresMirrorFollowsOtherFrontends(t *testing.T) {
	mirrorFrontends(t, dialReal(t, realTrillian(t)))
}

// The tile cache evicts the oldest level-0 tiles first and keeps the
// tiles above them, which cost 256 RPCs each to read again.
func TestMirrorEvictsLevelZeroFirst(t *testing.T) {
	m := &mirror{limit: 3}
	tile := func(level uint8, index uint64) *merkle.Tile {
		content := make([]byte, merkle.TileWidth*merkle.HashSize)
		content[0] = byte(index)
		tl, err := merkle.TileFromC2SP(merkle.TileID{Level: level, Index: index}, content)
		require.NoError(t, err)
		return tl
	}
	m.keep(tile(0, 0), tile(1, 0), tile(0, 1), tile(0, 2), tile(0, 3))
	require.Len(t, m.full, 3)
	require.NotNil(t, m.full[merkle.TileID{Level: 1, Index: 0}])
	require.NotNil(t, m.full[merkle.TileID{Level: 0, Index: 3}])
	require.NotNil(t, m.full[merkle.TileID{Level: 0, Index: 2}])
	require.Nil(t, m.full[merkle.TileID{Level: 0, Index: 0}])
	require.Nil(t, m.full[merkle.TileID{Level: 0, Index: 1}])
}
