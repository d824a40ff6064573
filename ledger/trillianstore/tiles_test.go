package trillianstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/trillian"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// A Trillian that serves a different leaf, with a Merkle leaf hash to
// match, cannot make the store serve a wrong tile or bundle: tiles and
// bundles are checked against the signed root, and fail with ErrCorrupt.
func TestTilesCheckedAgainstRoot(t *testing.T) {
	env := memEnv(t)
	tree := newTree(t, env.ClientConn, ModeLog)
	sign, _ := signerOf(t)
	honest := openStore(t, env.ClientConn, tree, ModeLog, sign)
	leaves := makeLeaves(t, "tiles", 300, 3, 200)
	_, err := honest.Add(context.Background(), leaves, sign)
	require.NoError(t, err)

	forge := func(l *trillian.LogLeaf, at ...int64) {
		if l == nil || !slices.Contains(at, l.LeafIndex) {
			return
		}
		l.LeafValue = append([]byte("forged"), l.LeafValue...)
		h := merkle.HashLeaf(l.LeafValue)
		l.MerkleLeafHash = h[:]
	}
	s, err := Open(context.Background(), Config{
		Conn: &hookConn{inner: env.ClientConn, hook: func(ctx context.Context, method string, reply any, invoke func() error) error {
			if err := invoke(); err != nil {
				return err
			}
			switch r := reply.(type) {
			case *trillian.GetLeavesByRangeResponse:
				for _, l := range r.Leaves {
					forge(l, 5, 256)
				}
			case *trillian.GetEntryAndProofResponse:
				forge(r.Leaf, 0) // the first leaf of level-1 node 0
			}
			return nil
		}},
		TreeID: tree, Mode: ModeLog, Sign: sign,
		RPCTimeout: time.Second, MaxAttempts: 2, MinBackoff: time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"tile 0/000", func() error { _, err := s.Tile(ctx, 0, 0, 256); return err }},
		{"tile 0/000.p/6", func() error { _, err := s.Tile(ctx, 0, 0, 6); return err }},
		{"tile 0/001.p/44", func() error { _, err := s.Tile(ctx, 0, 1, 44); return err }},
		{"tile 1/000.p/1", func() error { _, err := s.Tile(ctx, 1, 0, 1); return err }},
		{"bundle 000.p/6", func() error { _, err := s.EntryBundle(ctx, 0, 6); return err }},
		{"bundle 001.p/1", func() error { _, err := s.EntryBundle(ctx, 1, 1); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.call(), ledger.ErrCorrupt)
		})
	}
	// What the forgery does not touch is still served, and equals the
	// honest store's.
	got, err := s.EntryBundle(ctx, 0, 5)
	require.NoError(t, err)
	want, err := honest.EntryBundle(ctx, 0, 5)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.False(t, strings.Contains(string(got), "forged"))
}
