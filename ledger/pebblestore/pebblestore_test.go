package pebblestore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

const origin = "test.healthledger.example/pebble"

func entry(i int) *ledger.Entry {
	return &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("test", fmt.Sprint(i%5)),
		Writer:  "did:key:z6MkPebbleTest",
		Time:    time.Date(2026, 11, 22, 0, 0, 0, i, time.UTC),
		Digest:  ledger.Digest{byte(i), byte(i >> 8)},
		Body:    []byte(fmt.Sprintf("sealed body %d", i)),
	}
}

type fixture struct {
	dir    string
	signer *ledger.Signer
	v      note.Verifier
}

func newFixture(t *testing.T) *fixture {
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	s, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	return &fixture{dir: t.TempDir(), signer: s, v: v}
}

func (f *fixture) open(t *testing.T) (*Store, *ledger.Log) {
	st, err := Open(context.Background(), Config{Dir: f.dir})
	require.NoError(t, err)
	l, err := ledger.Open(context.Background(), ledger.Config{Store: st, Signer: f.signer, Origin: origin, Now: func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	return st, l
}

func TestReopenRestoresEverything(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st, l := f.open(t)
	var receipts []*ledger.Receipt
	for i := range 700 {
		r, err := l.Append(ctx, entry(i))
		require.NoError(t, err)
		receipts = append(receipts, r)
	}
	cp1, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.NoError(t, st.Close())

	st, l = f.open(t)
	defer st.Close()
	defer l.Close()
	cp2, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, cp1, cp2)
	for i, r := range receipts {
		leaf, err := l.Leaf(ctx, r.Index)
		require.NoError(t, err)
		require.Equal(t, r.Leaf, leaf, "entry %d", i)
	}
	// Appending after reopen continues the same tree; a duplicate is found.
	r, err := l.Append(ctx, entry(3))
	require.NoError(t, err)
	require.True(t, r.Existed)
	require.Equal(t, receipts[3].Index, r.Index)
	r, err = l.Append(ctx, entry(700))
	require.NoError(t, err)
	require.EqualValues(t, 700, r.Index)
	n, err := note.Open(r.Checkpoint, note.VerifierList(f.v))
	require.NoError(t, err)
	c, err := ledger.ParseCheckpoint([]byte(n.Text))
	require.NoError(t, err)
	require.NoError(t, merkle.VerifyInclusion(merkle.HashLeaf(r.Leaf), r.Index, c.Size, r.Proof, c.Root))
	idx, err := l.BySubject(ctx, entry(2).Subject, 0, 1000)
	require.NoError(t, err)
	require.Len(t, idx, 140)
	require.NoError(t, st.Check(ctx, f.v))
}

// flip flips one byte of the value stored under key, as a bad disk or an
// intruder would, bypassing the store.
func flip(t *testing.T, dir string, key []byte, at int) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	require.NoError(t, err)
	v, closer, err := db.Get(key)
	require.NoError(t, err)
	v = append([]byte(nil), v...)
	closer.Close()
	v[at%len(v)] ^= 0x40
	require.NoError(t, db.Set(key, v, pebble.Sync))
	require.NoError(t, db.Close())
}

func TestCheckFindsTampering(t *testing.T) {
	tests := []struct {
		name string
		key  []byte
		at   int
		what string
	}{
		{"leaf byte", leafKey(17), 60, "leaf"},
		{"tile bottom row", tileKey(merkle.TileID{Level: 0, Index: 0}), 2 + 32*5, "tile"},
		{"tile interior", tileKey(merkle.TileID{Level: 0, Index: 1}), 2 + 32*300, "tile"},
		// A byte in the base64 of the log's note signature, the line after
		// the body "<origin>\n300\n<44 base64 characters>\n".
		{"checkpoint signature", []byte{keyCheckpoint}, len(origin) + 1 + 4 + 45 + 1 + len("— "+origin+" ") + 20, "checkpoint"},
		{"checkpoint root", []byte{keyCheckpoint}, 45, "checkpoint"},
		{"hash index", hashKey(mustLeafHash(t, 5)), 7, "hash-index"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			st, l := f.open(t)
			for i := range 300 {
				_, err := l.Append(ctx, entry(i))
				require.NoError(t, err)
			}
			require.NoError(t, st.Check(ctx, f.v))
			l.Close()
			st.Close()
			at := tt.at
			if at < 0 {
				at = 1 << 20 // wraps: flip near the end
			}
			flip(t, f.dir, tt.key, at)
			st, err := Open(ctx, Config{Dir: f.dir})
			if err != nil {
				// A broken edge tile or head is refused at open.
				require.ErrorIs(t, err, ledger.ErrCorrupt)
				return
			}
			defer st.Close()
			err = st.Check(ctx, f.v)
			require.ErrorIs(t, err, ledger.ErrCorrupt)
			var ce *tilestore.CorruptionError
			require.ErrorAs(t, err, &ce)
			found := false
			for _, p := range ce.Problems {
				found = found || p.What == tt.what
			}
			require.True(t, found, "problems %v", ce.Problems)
			if tt.what == "leaf" {
				_, err := st.Leaf(ctx, 17)
				require.ErrorIs(t, err, ledger.ErrCorrupt, "a tampered leaf must not be served")
			}
		})
	}
}

func mustLeafHash(t *testing.T, i int) merkle.Hash {
	h, err := entry(i).LeafHash()
	require.NoError(t, err)
	return h
}
