package identity

import (
	"context"
	"crypto/sha256"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// switchLedger reads from whichever Ledger it currently points to.
type switchLedger struct{ cur atomic.Pointer[ledger.Log] }

func (s *switchLedger) l() *ledger.Log { return s.cur.Load() }
func (s *switchLedger) Checkpoint(ctx context.Context) ([]byte, error) {
	return s.l().Checkpoint(ctx)
}
func (s *switchLedger) BySubject(ctx context.Context, t ledger.SubjectTag, start uint64, limit int) ([]uint64, error) {
	return s.l().BySubject(ctx, t, start, limit)
}
func (s *switchLedger) Leaf(ctx context.Context, i uint64) ([]byte, error) { return s.l().Leaf(ctx, i) }
func (s *switchLedger) InclusionProof(ctx context.Context, i, n uint64) ([]merkle.Hash, error) {
	return s.l().InclusionProof(ctx, i, n)
}
func (s *switchLedger) ConsistencyProof(ctx context.Context, m, n uint64) ([]merkle.Hash, error) {
	return s.l().ConsistencyProof(ctx, m, n)
}

func appendRecord(t *testing.T, l *ledger.Log, name string) {
	t.Helper()
	_, err := l.Append(context.Background(), &ledger.Entry{Kind: ledger.KindRecordAnchored, Subject: ledger.DeriveSubjectTag("r", name),
		Writer: "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th", Time: baseTime, Digest: sha256.Sum256([]byte(name))})
	require.NoError(t, err)
}

func TestCacheMatchesFreshResolution(t *testing.T) {
	ctx := context.Background()
	l, warm := testLog(t, false, Config{})
	f := newFixture(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	prev := f.genesis
	for i := 1; i <= 12; i++ {
		op := f.next(OpUpdate, prev, f.k[i%3], time.Duration(i)*time.Minute, f.state(mustKey(t, KeyTypeEd25519)))
		publish(t, l, f.did, op, f.k[i%3])
		appendRecord(t, l, f.did+string(rune('a'+i)))
		prev = op
		got, err := warm.Resolve(ctx, f.did)
		require.NoError(t, err)
		for _, cacheSize := range []int{-1, 0, 3} {
			cold, err := NewResolver(Config{Ledger: l, CacheOperations: cacheSize})
			require.NoError(t, err)
			want, err := cold.Resolve(ctx, f.did)
			require.NoError(t, err)
			require.Equal(t, want.Document, got.Document)
			require.Equal(t, want.Metadata, got.Metadata)
			require.Equal(t, len(want.History), len(got.History))
		}
	}
}

func TestCacheRefusesForkedCheckpoint(t *testing.T) {
	ctx := context.Background()
	a, _ := testLog(t, false, Config{})
	b, _ := testLog(t, false, Config{})
	f := newFixture(t)
	for _, l := range []*ledger.Log{a, b} {
		publish(t, l, f.did, f.genesis, f.k[1])
	}
	appendRecord(t, a, "a")
	appendRecord(t, b, "b")
	sw := &switchLedger{}
	sw.cur.Store(a)
	r, err := NewResolver(Config{Ledger: sw})
	require.NoError(t, err)
	_, err = r.Resolve(ctx, f.did)
	require.NoError(t, err)

	sw.cur.Store(b) // same size, other root
	_, err = r.Resolve(ctx, f.did)
	require.ErrorIs(t, err, ErrNotIncluded)

	appendRecord(t, b, "b2") // larger, but not an extension of a
	_, err = r.Resolve(ctx, f.did)
	require.ErrorIs(t, err, ErrNotIncluded)

	// A resolver with no history with a accepts b.
	r2, err := NewResolver(Config{Ledger: sw})
	require.NoError(t, err)
	_, err = r2.Resolve(ctx, f.did)
	require.NoError(t, err)
}
