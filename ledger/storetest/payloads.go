package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// payloadLeaves returns n version 2 leaves, every other one with a payload
// (the others are version 1), all under subj.
func payloadLeaves(t testing.TB, tag string, subj ledger.SubjectTag, n int) ([]ledger.Leaf, map[int][]byte) {
	t.Helper()
	leaves := make([]ledger.Leaf, n)
	payloads := map[int][]byte{}
	for i := range n {
		e := &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: subj, Writer: "did:key:z6MkStoretestWriter",
			Time: time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC)}
		var raw []byte
		if i%2 == 0 {
			require.NoError(t, e.SetPayload([]byte(fmt.Sprintf("%s payload %d", tag, i))))
			raw = append(append([]byte(nil), e.Payload.Salt[:]...), e.Payload.Data...)
			payloads[i] = raw
		} else {
			e.Digest[0] = byte(i)
		}
		data, err := e.MarshalBinary()
		require.NoError(t, err)
		leaves[i] = ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: subj, Payload: raw}
	}
	return leaves, payloads
}

// testPayloads checks payloads kept beside the tree: stored with their
// leaves, read back exactly, absent for a leaf without one, erased (with
// the erasing entry recorded) without any leaf changing, durable across a
// reopen.
func (s *suite) testPayloads(t *testing.T) {
	ctx := context.Background()
	st := s.h.Open(t)
	defer func() { st.Close() }()
	subj := subject(11)
	leaves, payloads := payloadLeaves(t, "payloads", subj, 8)
	res, err := st.Add(ctx, leaves, s.newSigner().Sign)
	require.NoError(t, err)
	index := func(i int) uint64 { return res.Indices[i] }

	check := func(st ledger.Store, erased map[int]uint64) {
		t.Helper()
		for i := range leaves {
			got, err := st.Payload(ctx, index(i))
			want, has := payloads[i]
			switch by, gone := erased[i]; {
			case gone:
				var ee *ledger.ErasedError
				require.ErrorAs(t, err, &ee, "leaf %d", i)
				require.ErrorIs(t, err, ledger.ErrErased)
				require.Equal(t, index(i), ee.Index)
				require.Equal(t, by, ee.ErasedBy)
				require.Nil(t, got)
			case has:
				require.NoError(t, err, "leaf %d", i)
				require.Equal(t, want, got, "leaf %d", i)
			default:
				require.ErrorIs(t, err, ledger.ErrNotFound, "leaf %d has no payload", i)
			}
			leaf, err := st.Leaf(ctx, index(i))
			require.NoError(t, err)
			require.Equal(t, leaves[i].Data, leaf, "erasure never changes a leaf")
		}
	}
	check(st, nil)
	_, err = st.Payload(ctx, res.Head.Size)
	require.ErrorIs(t, err, ledger.ErrNotFound, "beyond the log")

	// A duplicate keeps the payload stored first.
	dup := leaves[0]
	dup.Payload = []byte("another payload for the same leaf")
	_, err = st.Add(ctx, []ledger.Leaf{dup}, s.newSigner().Sign)
	require.NoError(t, err)
	check(st, nil)

	// Out-of-range erasures erase nothing.
	require.ErrorIs(t, st.ErasePayloads(ctx, []uint64{index(0), res.Head.Size + 5}, index(7)), ledger.ErrNotFound)
	require.ErrorIs(t, st.ErasePayloads(ctx, []uint64{index(0)}, res.Head.Size+5), ledger.ErrNotFound)
	check(st, nil)

	// Erase two payloads and a leaf without one (skipped), twice.
	by := index(7)
	for range 2 {
		require.NoError(t, st.ErasePayloads(ctx, []uint64{index(0), index(1), index(4)}, by))
	}
	erased := map[int]uint64{0: by, 4: by}
	check(st, erased)
	root, err := st.RootHash(ctx, res.Head.Size)
	require.NoError(t, err)
	require.Equal(t, res.Head.Root, root)

	if s.h.Reopen != nil {
		require.NoError(t, st.Close())
		st = s.h.Reopen(t, st)
		check(st, erased)
	}
	for i := range leaves {
		for _, p := range payloads {
			require.False(t, bytes.Contains(leaves[i].Data, p[ledger.PayloadSaltSize:]), "no payload bytes in a leaf")
		}
	}
}
