package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
)

// payloadEntry returns an entry of subject whose payload is data.
func payloadEntry(t testing.TB, subject ledger.SubjectTag, i int, data string) *ledger.Entry {
	t.Helper()
	e := testEntry(i)
	e.Subject = subject
	require.NoError(t, e.SetPayload([]byte(data)))
	return e
}

func TestPayloadsLiveBesideTheTree(t *testing.T) {
	ctx := context.Background()
	k := newLogKeys(t)
	st := memstore.New()
	l, err := openLog(t, st, k, nil)
	require.NoError(t, err)
	alice := ledger.DeriveSubjectTag("test", "alice")
	r, err := l.Append(ctx, payloadEntry(t, alice, 1, "Observation: glucose 6.10 mmol/L"))
	require.NoError(t, err)
	require.False(t, bytes.Contains(r.Leaf, []byte("glucose")), "the leaf holds a commitment, not the payload")

	e, err := l.Entry(ctx, r.Index)
	require.NoError(t, err)
	require.Equal(t, "Observation: glucose 6.10 mmol/L", string(e.Payload.Data))
	require.Equal(t, e.Payload.Commitment(), e.PayloadCommitment)
	require.NotContains(t, fmt.Sprintf("%v %+v %s", e.Payload, e.Payload, e.Payload), "glucose", "a payload prints its size only")

	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: k.vkey})
	require.NoError(t, err)
	got, err := v.VerifyReceipt(r)
	require.NoError(t, err)
	require.Equal(t, e.PayloadCommitment, got.PayloadCommitment, "the receipt proves the commitment")
	require.Nil(t, got.Payload, "and carries no payload")

	// Refused, and nothing written: a commitment without its payload, a
	// payload that does not match, a payload beside a body.
	size := storeSize(t, st)
	noPayload := payloadEntry(t, alice, 2, "x")
	noPayload.Payload = nil
	wrong := payloadEntry(t, alice, 3, "x")
	wrong.Payload.Data = []byte("y")
	both := payloadEntry(t, alice, 4, "x")
	both.Body = []byte("b")
	for name, e := range map[string]*ledger.Entry{"no payload": noPayload, "wrong payload": wrong, "body and payload": both} {
		_, err := l.Append(ctx, e)
		require.ErrorIs(t, err, ledger.ErrInvalidEntry, name)
	}
	require.Equal(t, size, storeSize(t, st))

	// A store that serves another payload is caught.
	l2, err := openLog(t, &payloadTamperer{Store: st}, k, nil)
	require.NoError(t, err)
	_, err = l2.Entry(ctx, r.Index)
	require.ErrorIs(t, err, ledger.ErrCorrupt)
}

// payloadTamperer serves every payload with its last byte flipped.
type payloadTamperer struct{ ledger.Store }

func (p *payloadTamperer) Payload(ctx context.Context, i uint64) ([]byte, error) {
	b, err := p.Store.Payload(ctx, i)
	if err == nil {
		b[len(b)-1] ^= 1
	}
	return b, err
}

func TestEraseKeepsEveryProof(t *testing.T) {
	ctx := context.Background()
	k := newLogKeys(t)
	st := memstore.New()
	l, err := openLog(t, st, k, nil)
	require.NoError(t, err)
	alice, bob := ledger.DeriveSubjectTag("test", "alice"), ledger.DeriveSubjectTag("test", "bob")
	var aliceReceipts, bobReceipts []*ledger.Receipt
	for i := range 6 {
		ra, err := l.Append(ctx, payloadEntry(t, alice, 10+i, fmt.Sprintf("alice secret %d", i)))
		require.NoError(t, err)
		rb, err := l.Append(ctx, payloadEntry(t, bob, 20+i, fmt.Sprintf("bob note %d", i)))
		require.NoError(t, err)
		aliceReceipts, bobReceipts = append(aliceReceipts, ra), append(bobReceipts, rb)
	}
	before := storeSize(t, st)
	rootBefore, err := st.RootHash(ctx, before)
	require.NoError(t, err)
	var leavesBefore [][]byte
	for i := range before {
		leaf, err := st.Leaf(ctx, i)
		require.NoError(t, err)
		leavesBefore = append(leavesBefore, leaf)
	}

	x, err := ledger.NewErasureEntry(alice, before, "GDPR Art. 17(1)(a)", "did:key:z6MkTestWriter", testNow())
	require.NoError(t, err)
	xr, err := l.Erase(ctx, x)
	require.NoError(t, err)
	// Entries of alice appended after the erasure keep their payload.
	later, err := l.Append(ctx, payloadEntry(t, alice, 40, "alice, later"))
	require.NoError(t, err)

	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: k.vkey})
	require.NoError(t, err)
	for _, r := range aliceReceipts {
		_, err := l.Entry(ctx, r.Index)
		var ee *ledger.ErasedError
		require.ErrorAs(t, err, &ee)
		require.ErrorIs(t, err, ledger.ErrErased)
		require.Equal(t, r.Index, ee.Index)
		require.Equal(t, xr.Index, ee.ErasedBy)
		// The erasure is on the log, provably, and covers this entry.
		xe, err := v.VerifyReceipt(ee.Erasure)
		require.NoError(t, err)
		erasure, err := ledger.ParseErasure(xe)
		require.NoError(t, err)
		require.Equal(t, "GDPR Art. 17(1)(a)", erasure.Ground)
		old, err := ledger.UnmarshalEntry(r.Leaf)
		require.NoError(t, err)
		require.True(t, erasure.Covers(xe, old, r.Index))
		require.True(t, erasure.CoversAt(xe, xr.Index, old, r.Index))
		require.False(t, erasure.CoversAt(xe, r.Index, old, r.Index), "an erasure erases only entries before it")
		other := *old
		other.Subject[0] ^= 1
		require.False(t, erasure.CoversAt(xe, xr.Index, &other, r.Index), "another subject")
		require.False(t, erasure.CoversAt(xe, xr.Index, old, erasure.Before), "at Before")
		// The receipt issued before the erasure still verifies.
		_, err = v.VerifyReceipt(r)
		require.NoError(t, err)
	}
	for i, r := range bobReceipts {
		e, err := l.Entry(ctx, r.Index)
		require.NoError(t, err, "another subject's payload stays")
		require.Equal(t, fmt.Sprintf("bob note %d", i), string(e.Payload.Data))
	}
	e, err := l.Entry(ctx, later.Index)
	require.NoError(t, err)
	require.Equal(t, "alice, later", string(e.Payload.Data))

	// Every leaf and root is byte-identical.
	for i := range before {
		leaf, err := st.Leaf(ctx, i)
		require.NoError(t, err)
		require.Equal(t, leavesBefore[i], leaf)
	}
	root, err := st.RootHash(ctx, before)
	require.NoError(t, err)
	require.Equal(t, rootBefore, root)

	// Erase again: idempotent, the same erasure entry.
	again, err := l.Erase(ctx, x)
	require.NoError(t, err)
	require.True(t, again.Existed)
	require.Equal(t, xr.Index, again.Index)

	// Not an erasure entry; a ground that is too long.
	_, err = l.Erase(ctx, testEntry(99))
	require.ErrorIs(t, err, ledger.ErrInvalidEntry)
	_, err = ledger.NewErasureEntry(alice, before, string(make([]byte, ledger.MaxErasureGround+1)), "w", testNow())
	require.ErrorIs(t, err, ledger.ErrInvalidEntry)
}

func TestParseErasureIsStrict(t *testing.T) {
	x, err := ledger.NewErasureEntry(ledger.SubjectTag{1}, 7, "retention: 10 years", "w", time.Unix(1, 0))
	require.NoError(t, err)
	got, err := ledger.ParseErasure(x)
	require.NoError(t, err)
	require.Equal(t, &ledger.Erasure{Before: 7, Ground: "retention: 10 years"}, got)
	for name, body := range map[string][]byte{
		"trailing byte": append(bytes.Clone(x.Body), 0),
		"truncated":     x.Body[:len(x.Body)-1],
		"bad magic":     append([]byte("HLY"), x.Body[3:]...),
		"empty":         nil,
	} {
		y := *x
		y.Body = body
		_, err := ledger.ParseErasure(&y)
		require.Error(t, err, name)
		require.True(t, errors.Is(err, ledger.ErrMalformed) || errors.Is(err, ledger.ErrInvalidEntry), name)
	}
}
