package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

const testOrigin = "test.healthledger.example/log"

func newTestLog(t *testing.T, st ledger.Store, cfg ledger.Config) (*ledger.Log, note.Verifier) {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(testOrigin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	cfg.Store, cfg.Signer, cfg.Origin = st, signer, testOrigin
	if cfg.Now == nil {
		cfg.Now = testNow
	}
	l, err := ledger.Open(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l, v
}

// testNow is the log clock of the tests: the time of testEntry's entries.
func testNow() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }

func testEntry(i int) *ledger.Entry {
	return &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("test", fmt.Sprint(i%7)),
		Writer:  "did:key:z6MkTestWriter",
		Time:    time.Date(2026, 11, 22, 10, 0, 0, i, time.UTC),
		Digest:  ledger.Digest{byte(i), byte(i >> 8), byte(i >> 16)},
	}
}

func checkReceipt(t *testing.T, v note.Verifier, r *ledger.Receipt) ledger.Checkpoint {
	t.Helper()
	n, err := note.Open(r.Checkpoint, note.VerifierList(v))
	require.NoError(t, err)
	c, err := ledger.ParseCheckpoint([]byte(n.Text))
	require.NoError(t, err)
	require.Equal(t, testOrigin, c.Origin)
	require.NoError(t, merkle.VerifyInclusion(merkle.HashLeaf(r.Leaf), r.Index, c.Size, r.Proof, c.Root))
	return c
}

func TestLogConcurrentAppends(t *testing.T) {
	st := memstore.New()
	l, v := newTestLog(t, st, ledger.Config{MaxBatch: 64})
	ctx := context.Background()
	const n = 2000
	receipts := make([]*ledger.Receipt, n)
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 32 {
				r, err := l.Append(ctx, testEntry(i))
				if err != nil {
					t.Error(err)
					return
				}
				receipts[i] = r
			}
		}()
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for i, r := range receipts {
		require.NotNil(t, r)
		require.False(t, seen[r.Index], "index %d handed out twice", r.Index)
		seen[r.Index] = true
		checkReceipt(t, v, r)
		e, err := l.Entry(ctx, r.Index)
		require.NoError(t, err)
		require.Equal(t, testEntry(i).Digest, e.Digest)
	}
	// Every receipt's checkpoint is consistent with the latest one.
	cp, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	latest := checkReceipt(t, v, &ledger.Receipt{Index: receipts[0].Index, Leaf: receipts[0].Leaf, Proof: mustProof(t, l, receipts[0].Index, n), Checkpoint: cp})
	require.EqualValues(t, n, latest.Size)
	for _, r := range receipts[:50] {
		c := checkReceipt(t, v, r)
		p, err := l.ConsistencyProof(ctx, c.Size, latest.Size)
		require.NoError(t, err)
		require.NoError(t, merkle.VerifyConsistency(c.Size, latest.Size, p, c.Root, latest.Root))
	}
	idx, err := l.BySubject(ctx, testEntry(3).Subject, 0, 1000)
	require.NoError(t, err)
	require.Len(t, idx, n/7+1)
}

func mustProof(t *testing.T, l *ledger.Log, index, size uint64) []merkle.Hash {
	p, err := l.InclusionProof(context.Background(), index, size)
	require.NoError(t, err)
	return p
}

func TestLogDeduplicates(t *testing.T) {
	l, v := newTestLog(t, memstore.New(), ledger.Config{})
	ctx := context.Background()
	r1, err := l.Append(ctx, testEntry(1))
	require.NoError(t, err)
	_, err = l.Append(ctx, testEntry(2))
	require.NoError(t, err)
	r3, err := l.Append(ctx, testEntry(1))
	require.NoError(t, err)
	require.True(t, r3.Existed)
	require.False(t, r1.Existed)
	require.Equal(t, r1.Index, r3.Index)
	c := checkReceipt(t, v, r3)
	require.EqualValues(t, 2, c.Size)
}

func TestLogFailedCommitChangesNothing(t *testing.T) {
	st := memstore.New()
	l, _ := newTestLog(t, st, ledger.Config{})
	ctx := context.Background()
	_, err := l.Append(ctx, testEntry(1))
	require.NoError(t, err)
	before, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	diskErr := errors.New("disk on fire")
	st.FailNextCommit(diskErr)
	_, err = l.Append(ctx, testEntry(2))
	require.ErrorIs(t, err, diskErr)
	after, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, before, after)
	r, err := l.Append(ctx, testEntry(2))
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Index)
}

func TestLogRejectsInvalidEntry(t *testing.T) {
	st := memstore.New()
	l, _ := newTestLog(t, st, ledger.Config{})
	e := testEntry(1)
	e.Kind = 0
	_, err := l.Append(context.Background(), e)
	require.ErrorIs(t, err, ledger.ErrInvalidEntry)
	e = testEntry(1)
	e.Body = make([]byte, ledger.MaxEntrySize)
	_, err = l.Append(context.Background(), e)
	require.ErrorIs(t, err, ledger.ErrTooLarge)
	_, err = l.Checkpoint(context.Background())
	require.ErrorIs(t, err, ledger.ErrEmptyLog)
}

// blockingStore blocks Add until released, to fill the queue.
type blockingStore struct {
	ledger.Store
	release chan struct{}
}

func (b *blockingStore) Add(ctx context.Context, leaves []ledger.Leaf, sign ledger.SignFunc) (ledger.AddResult, error) {
	<-b.release
	return b.Store.Add(ctx, leaves, sign)
}

func TestLogPushbackAndClose(t *testing.T) {
	bs := &blockingStore{Store: memstore.New(), release: make(chan struct{})}
	l, _ := newTestLog(t, bs, ledger.Config{MaxBatch: 1, MaxPending: 4})
	ctx := context.Background()
	errs := make(chan error, 100)
	for i := range 20 {
		go func() {
			_, err := l.Append(ctx, testEntry(i))
			errs <- err
		}()
	}
	// 1 in the sequencer + 4 queued; the other 15 are pushed back.
	pushback := 0
	for range 15 {
		err := <-errs
		require.ErrorIs(t, err, ledger.ErrPushback)
		pushback++
	}
	require.Equal(t, 15, pushback)
	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	close(bs.release)
	<-closed
	ok, closedErrs := 0, 0
	for range 5 {
		err := <-errs
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ledger.ErrClosed):
			closedErrs++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	require.Equal(t, 5, ok+closedErrs)
	_, err := l.Append(ctx, testEntry(99))
	require.ErrorIs(t, err, ledger.ErrClosed)
}
