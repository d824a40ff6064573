package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
)

// erasureFixture is a log with three payload entries of alice and one of
// bob, over store st (which may wrap the memory store mem).
type erasureFixture struct {
	mem   *memstore.Store
	keys  logKeys
	log   *ledger.Log
	alice ledger.SubjectTag
	bob   ledger.SubjectTag
	// aliceIdx are the indices of alice's entries; bobIdx bob's.
	aliceIdx, bobIdx []uint64
}

func newErasureFixture(t *testing.T, wrap func(ledger.Store) ledger.Store, cfg ledger.Config) *erasureFixture {
	t.Helper()
	ctx := context.Background()
	f := &erasureFixture{
		mem:   memstore.New(),
		alice: ledger.DeriveSubjectTag("test", "alice"),
		bob:   ledger.DeriveSubjectTag("test", "bob"),
	}
	k := newLogKeys(t)
	f.keys = k
	cfg.Store, cfg.Signer, cfg.Origin, cfg.Now = ledger.Store(f.mem), k.signer, testOrigin, testNow
	if wrap != nil {
		cfg.Store = wrap(f.mem)
	}
	l, err := ledger.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	f.log = l
	for i := range 3 {
		r, err := l.Append(ctx, payloadEntry(t, f.alice, 100+i, fmt.Sprintf("alice secret %d", i)))
		require.NoError(t, err)
		f.aliceIdx = append(f.aliceIdx, r.Index)
	}
	r, err := l.Append(ctx, payloadEntry(t, f.bob, 200, "bob note"))
	require.NoError(t, err)
	f.bobIdx = append(f.bobIdx, r.Index)
	return f
}

// requirePayloads checks that every entry at indices still has its
// payload (want true) or that every one is erased (want false).
func (f *erasureFixture) requirePayloads(t *testing.T, l *ledger.Log, indices []uint64, want bool) {
	t.Helper()
	for _, i := range indices {
		e, err := l.Entry(context.Background(), i)
		if want {
			require.NoError(t, err, "index %d", i)
			require.NotNil(t, e.Payload, "index %d", i)
		} else {
			require.ErrorIs(t, err, ledger.ErrErased, "index %d", i)
		}
	}
}

// TestAppendRefusesErasureEntries: Log.Append refuses a KindErasure entry,
// new or already in the log, well-formed or not, with ErrUseErase, and
// writes and deletes nothing; Log.Erase takes the same entry.
func TestAppendRefusesErasureEntries(t *testing.T) {
	ctx := context.Background()
	f := newErasureFixture(t, nil, ledger.Config{})
	size := storeSize(t, f.mem)
	x, err := ledger.NewErasureEntry(f.alice, size, "GDPR Art. 17(1)(a)", "did:key:z6MkTestWriter", testNow())
	require.NoError(t, err)
	malformed := *x
	malformed.Body = []byte("HLX\x01short")

	for name, e := range map[string]*ledger.Entry{"well-formed": x, "malformed body": &malformed} {
		r, err := f.log.Append(ctx, e)
		require.ErrorIs(t, err, ledger.ErrUseErase, name)
		require.ErrorIs(t, err, ledger.ErrInvalidEntry, name)
		var fe *ledger.FieldError
		require.ErrorAs(t, err, &fe, name)
		require.Equal(t, "kind", fe.Field)
		require.Nil(t, r, name)
	}
	require.Equal(t, size, storeSize(t, f.mem), "nothing written")
	f.requirePayloads(t, f.log, f.aliceIdx, true)

	xr, err := f.log.Erase(ctx, x)
	require.NoError(t, err)
	require.False(t, xr.Existed)
	f.requirePayloads(t, f.log, f.aliceIdx, false)
	f.requirePayloads(t, f.log, f.bobIdx, true)

	// An exact retry through Append of the erasure now in the log is
	// refused too: its receipt would say "erased" without Erase having
	// made sure of it. Erase is the retry.
	_, err = f.log.Append(ctx, x)
	require.ErrorIs(t, err, ledger.ErrUseErase)
	again, err := f.log.Erase(ctx, x)
	require.NoError(t, err)
	require.True(t, again.Existed)
	require.Equal(t, xr.Index, again.Index)
	require.Equal(t, size+1, storeSize(t, f.mem))
}

// failingEraser is a store whose ErasePayloads fails while fail is set,
// as a crash between Log.Erase's append and its deletion would leave it.
type failingEraser struct {
	ledger.Store
	fail  atomic.Bool
	calls atomic.Int32
}

var errEraseFailed = errors.New("test: ErasePayloads failed")

func (s *failingEraser) ErasePayloads(ctx context.Context, indices []uint64, erasedBy uint64) error {
	s.calls.Add(1)
	if s.fail.Load() {
		return errEraseFailed
	}
	return s.Store.ErasePayloads(ctx, indices, erasedBy)
}

// TestEraseCompletesAfterAFailedDeletion: when the deletion fails after
// the erasure entry was appended (as after a crash in between), Erase
// returns the receipt and an error saying so, nothing is deleted, and
// calling Erase again with the same entry, on the same Log or on a Log
// opened again over the store, completes the deletion.
func TestEraseCompletesAfterAFailedDeletion(t *testing.T) {
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("reopen=%v", reopen), func(t *testing.T) {
			ctx := context.Background()
			var st *failingEraser
			guard := &ledger.MemoryGuard{}
			f := newErasureFixture(t, func(s ledger.Store) ledger.Store {
				st = &failingEraser{Store: s}
				return st
			}, ledger.Config{Guard: guard})
			size := storeSize(t, f.mem)
			x, err := ledger.NewErasureEntry(f.alice, size, "retention rule R-7", "did:key:z6MkTestWriter", testNow())
			require.NoError(t, err)

			st.fail.Store(true)
			xr, err := f.log.Erase(ctx, x)
			require.ErrorIs(t, err, errEraseFailed)
			require.NotNil(t, xr, "the erasure is recorded: its receipt comes with the error")
			require.Equal(t, size, xr.Index)
			require.Equal(t, int32(1), st.calls.Load())
			f.requirePayloads(t, f.log, f.aliceIdx, true)
			st.fail.Store(false)

			l := f.log
			if reopen {
				require.NoError(t, f.log.Close())
				// Reopened a day later: the erasure entry is now dated
				// outside the clock skew, and is found all the same.
				later := func() time.Time { return testNow().Add(24 * time.Hour) }
				l, err = ledger.Open(ctx, ledger.Config{Store: st, Signer: f.keys.signer, Origin: testOrigin, Now: later, Guard: guard})
				require.NoError(t, err)
				t.Cleanup(func() { l.Close() })
			}
			again, err := l.Erase(ctx, x)
			require.NoError(t, err)
			require.True(t, again.Existed, "the retry finds the erasure and appends nothing")
			require.Equal(t, xr.Index, again.Index)
			require.Equal(t, size+1, storeSize(t, f.mem))
			f.requirePayloads(t, l, f.aliceIdx, false)
			f.requirePayloads(t, l, f.bobIdx, true)
			_, err = l.Entry(ctx, f.aliceIdx[0])
			var ee *ledger.ErasedError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, xr.Index, ee.ErasedBy)
		})
	}
}

var errNotSigned = errors.New("test: not signed")

// TestEraseChecksTheWriter: the Log's WriterVerifier applies to Erase as
// it does to Append: a refused erasure is not written and deletes nothing.
func TestEraseChecksTheWriter(t *testing.T) {
	ctx := context.Background()
	var reject atomic.Bool
	f := newErasureFixture(t, nil, ledger.Config{WriterVerifier: writerFunc(func(context.Context, *ledger.Entry) error {
		if reject.Load() {
			return errNotSigned
		}
		return nil
	})})
	reject.Store(true)
	size := storeSize(t, f.mem)
	x, err := ledger.NewErasureEntry(f.alice, size, "GDPR Art. 17(1)(a)", "did:key:z6MkTestWriter", testNow())
	require.NoError(t, err)
	r, err := f.log.Erase(ctx, x)
	require.ErrorIs(t, err, ledger.ErrWriterRejected)
	require.ErrorIs(t, err, errNotSigned)
	require.Nil(t, r)
	require.Equal(t, size, storeSize(t, f.mem), "nothing written")
	f.requirePayloads(t, f.log, f.aliceIdx, true)
}

// writerFunc adapts a function to ledger.WriterVerifier.
type writerFunc func(context.Context, *ledger.Entry) error

func (f writerFunc) VerifyWriter(ctx context.Context, e *ledger.Entry) error { return f(ctx, e) }
