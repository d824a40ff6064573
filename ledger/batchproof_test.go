package ledger_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

// provingStore counts the proof calls the Log makes, and can fail the
// batch ones.
type provingStore struct {
	*memstore.Store
	single, batch atomic.Int64
	failBatch     bool
}

func (s *provingStore) InclusionProof(ctx context.Context, index, size uint64) ([]merkle.Hash, error) {
	s.single.Add(1)
	return s.Store.InclusionProof(ctx, index, size)
}

func (s *provingStore) InclusionProofs(ctx context.Context, first, count, size uint64) ([][]merkle.Hash, error) {
	s.batch.Add(1)
	if s.failBatch {
		return nil, errors.New("test: no batch proofs")
	}
	return s.Store.InclusionProofs(ctx, first, count, size)
}

// appendConcurrently appends the entries [0, n) from 16 writers, each
// entry copies times (duplicates may meet in one batch), and checks every
// receipt.
func appendConcurrently(t *testing.T, l *ledger.Log, v note.Verifier, st ledger.Store, n, copies int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w % (16 / copies); i < n; i += 16 / copies {
				rc, err := l.Append(ctx, testEntry(i))
				if err != nil {
					t.Error(err)
					return
				}
				checkReceipt(t, v, rc)
			}
		})
	}
	wg.Wait()
	require.Equal(t, uint64(n), storeSize(t, st))
}

func TestReceiptsComeFromOneProofCallPerBatch(t *testing.T) {
	st := &provingStore{Store: memstore.New()}
	l, v := newTestLog(t, st, ledger.Config{})
	appendConcurrently(t, l, v, st, 400, 1)
	require.Positive(t, st.batch.Load())
	require.Zero(t, st.single.Load(), "every new entry's proof comes from its batch's call")
}

func TestReceiptsOfDuplicatesInOneBatch(t *testing.T) {
	st := &provingStore{Store: memstore.New()}
	l, v := newTestLog(t, st, ledger.Config{})
	appendConcurrently(t, l, v, st, 400, 2)
}

func TestReceiptsWhenBatchProofsFail(t *testing.T) {
	st := &provingStore{Store: memstore.New(), failBatch: true}
	l, v := newTestLog(t, st, ledger.Config{})
	appendConcurrently(t, l, v, st, 200, 1)
	require.Positive(t, st.batch.Load())
	require.Equal(t, int64(200), st.single.Load(), "each caller asks for its own proof")
}
