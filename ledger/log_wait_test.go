package ledger_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
)

// Appends racing Close all return, each with a verified receipt or
// ErrClosed (a pushback is retried), however their queueing interleaves
// with Close's: an Append that queues after Close drained the queue fails
// it itself. A lost wakeup would hang the test.
func TestAppendsRacingCloseAllReturn(t *testing.T) {
	for round := range 30 {
		l, v := newTestLog(t, memstore.New(), ledger.Config{MaxBatch: 4, MaxPending: 16})
		ctx := context.Background()
		const writers = 24
		var (
			wg       sync.WaitGroup
			appended atomic.Int64
			started  = make(chan struct{})
			once     sync.Once
			results  = make([]error, writers)
		)
		for w := range writers {
			wg.Go(func() {
				for k := 0; ; k++ {
					rc, err := l.Append(ctx, testEntry(round<<16|w<<8|k&0xff))
					if errors.Is(err, ledger.ErrPushback) {
						continue
					}
					if err != nil {
						results[w] = err
						return
					}
					checkReceipt(t, v, rc)
					if appended.Add(1) == writers {
						once.Do(func() { close(started) })
					}
				}
			})
		}
		<-started
		require.NoError(t, l.Close())
		wg.Wait()
		for w, err := range results {
			require.ErrorIs(t, err, ledger.ErrClosed, "round %d writer %d", round, w)
		}
	}
}

// An Append whose context ends while it waits for its batch returns the
// context's error; the entry is appended or not, and appending it again
// returns its receipt.
func TestAppendContextEndsWhileWaiting(t *testing.T) {
	bs := &blockingStore{Store: memstore.New(), release: make(chan struct{})}
	l, v := newTestLog(t, bs, ledger.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := l.Append(ctx, testEntry(1))
		errc <- err
	}()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	close(bs.release)
	rc, err := l.Append(context.Background(), testEntry(1))
	require.NoError(t, err)
	require.Equal(t, uint64(0), rc.Index)
	checkReceipt(t, v, rc)
}
