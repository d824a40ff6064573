package identity

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConcurrentResolution resolves and checks signatures from several
// goroutines while a guarded Log appends operations (run with -race).
func TestConcurrentResolution(t *testing.T) {
	ctx := context.Background()
	l, r := testLog(t, true, Config{Now: func() time.Time { return baseTime.Add(time.Hour) }})
	f := newFixture(t)
	publish(t, l, f.did, f.genesis, f.k[1])
	h, err := NewHolder(f.did, f.did+"#key-1", f.device)
	require.NoError(t, err)
	msg := []byte("m")
	sig, err := h.Sign(msg)
	require.NoError(t, err)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 16)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := r.Resolve(ctx, f.did); err != nil {
					errs <- err
					return
				}
				if err := r.CheckSignature(ctx, f.did, msg, sig, f.t0); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	prev := f.genesis
	for i := 1; i <= 10; i++ {
		op := f.next(OpUpdate, prev, f.k[0], time.Duration(i)*time.Minute, f.state(mustKey(t, KeyTypeEd25519)))
		publish(t, l, f.did, op, f.k[0])
		prev = op
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	res, err := r.Resolve(ctx, f.did)
	require.NoError(t, err)
	ph, _ := prev.Hash()
	require.Equal(t, ph.String(), res.Metadata.VersionID)
}
