package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
)

// batchRecorder records the size of every batch the Log hands its store.
type batchRecorder struct {
	ledger.Store
	mu    sync.Mutex
	sizes []int
}

func (s *batchRecorder) Add(ctx context.Context, leaves []ledger.Leaf, sign ledger.SignFunc) (ledger.AddResult, error) {
	s.mu.Lock()
	s.sizes = append(s.sizes, len(leaves))
	s.mu.Unlock()
	return s.Store.Add(ctx, leaves, sign)
}

func (s *batchRecorder) batches() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.sizes...)
}

// waitingRecorder is a batchRecorder that asks the Log to hold batches
// back (a ledger.BatchWaiter).
type waitingRecorder struct {
	*batchRecorder
	wait time.Duration
}

func (s waitingRecorder) BatchWait() time.Duration { return s.wait }

// gate holds every Append in VerifyWriter, after the Log counted it as in
// progress and before it is queued, until the test lets it through.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 64), release: make(chan struct{})}
}

func (g *gate) VerifyWriter(ctx context.Context, _ *ledger.Entry) error {
	g.entered <- struct{}{}
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start runs n Appends (of entries first to first+n-1) that wait at the
// gate, and returns once all of them are in progress. Each Append sends its
// error on the returned channel when it returns.
func (g *gate) start(t *testing.T, l *ledger.Log, first, n int) chan error {
	t.Helper()
	done := make(chan error, n)
	for i := range n {
		go func() {
			_, err := l.Append(context.Background(), testEntry(first+i))
			done <- err
		}()
	}
	for range n {
		<-g.entered
	}
	return done
}

// liveness bounds how long a test waits for Appends that must complete; it
// is a guard against a hang, not a speed assertion (the waits under test
// are an hour long).
const liveness = time.Minute

// awaitAppends waits for k Appends to return, and checks they succeeded.
func awaitAppends(t *testing.T, done chan error, k int) {
	t.Helper()
	timeout := time.After(liveness)
	for range k {
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-timeout:
			t.Fatal("Append held back: the Log waited for appends that cannot come")
		}
	}
}

func sum(xs []int) int {
	total := 0
	for _, x := range xs {
		total += x
	}
	return total
}

// TestLogBatchWaitGathersInFlightAppends: with a store that asks for it,
// the sequencer holds a batch back until every Append in progress joined
// it, so appends that reach the queue one at a time share a batch.
func TestLogBatchWaitGathersInFlightAppends(t *testing.T) {
	rec := &batchRecorder{Store: memstore.New()}
	g := newGate()
	l, v := newTestLog(t, waitingRecorder{batchRecorder: rec, wait: time.Hour}, ledger.Config{WriterVerifier: g})
	done := g.start(t, l, 0, 8)
	for range 8 {
		g.release <- struct{}{} // one Append at a time reaches the queue
		// Give a sequencer that does not wait the time to commit the
		// appends queued so far (its yields take microseconds). The
		// assertion does not depend on this pause: the Log under test
		// holds the batch for an hour or until all 8 are in.
		time.Sleep(time.Millisecond)
	}
	awaitAppends(t, done, 8)
	require.Equal(t, []int{8}, rec.batches(), "the batch did not wait for every Append in progress")
	rc, err := l.Receipt(context.Background(), 7)
	require.NoError(t, err)
	checkReceipt(t, v, rc)
}

// TestLogBatchWaitStopsWhenFull: a full batch (MaxBatch) is committed at
// once, however many Appends are in progress.
func TestLogBatchWaitStopsWhenFull(t *testing.T) {
	rec := &batchRecorder{Store: memstore.New()}
	g := newGate()
	l, _ := newTestLog(t, waitingRecorder{batchRecorder: rec, wait: time.Hour}, ledger.Config{WriterVerifier: g, MaxBatch: 2})
	done := g.start(t, l, 0, 8)
	g.release <- struct{}{}
	g.release <- struct{}{}
	// The two released appends are one full batch: committed while the
	// other six are still held at the gate.
	awaitAppends(t, done, 2)
	require.Equal(t, []int{2}, rec.batches())
	for range 6 {
		g.release <- struct{}{}
	}
	awaitAppends(t, done, 6)
	require.Equal(t, 8, sum(rec.batches()))
}

// TestLogBatchWaitNeverHoldsBack: the Log holds no batch back when the
// store does not ask for it (even with other Appends in progress), when it
// asks for no wait, or when one Append alone is in progress.
func TestLogBatchWaitNeverHoldsBack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wait     time.Duration
		hint     bool
		inFlight int // Appends in progress besides the one released
	}{
		{name: "no hint, others in progress", inFlight: 7},
		{name: "zero wait, others in progress", hint: true, wait: 0, inFlight: 7},
		{name: "negative wait, others in progress", hint: true, wait: -time.Hour, inFlight: 7},
		{name: "hint, lone writer", hint: true, wait: time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &batchRecorder{Store: memstore.New()}
			var st ledger.Store = rec
			if tc.hint {
				st = waitingRecorder{batchRecorder: rec, wait: tc.wait}
			}
			g := newGate()
			l, v := newTestLog(t, st, ledger.Config{WriterVerifier: g})
			done := g.start(t, l, 0, 1+tc.inFlight)
			g.release <- struct{}{}
			// Exactly one append reached the queue: it is committed alone,
			// while the others are still held at the gate.
			awaitAppends(t, done, 1)
			require.Equal(t, []int{1}, rec.batches())
			rc, err := l.Receipt(context.Background(), 0)
			require.NoError(t, err)
			checkReceipt(t, v, rc)
			close(g.release)
			awaitAppends(t, done, tc.inFlight)
			require.Equal(t, 1+tc.inFlight, sum(rec.batches()))
		})
	}
}

// heldGuard is a MemoryGuard whose Swap signals entered and then waits for
// release.
// Closing opened lets every Swap through: a test closes it in a cleanup
// that runs before its Log's Close, so that a failing test does not hang.
type heldGuard struct {
	ledger.MemoryGuard
	entered chan struct{}
	release chan struct{}
	opened  chan struct{}
}

func newHeldGuard() *heldGuard {
	return &heldGuard{entered: make(chan struct{}, 8), release: make(chan struct{}, 8), opened: make(chan struct{})}
}

func (g *heldGuard) Swap(ctx context.Context, old, next []byte) error {
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-g.opened:
	}
	return g.MemoryGuard.Swap(ctx, old, next)
}

// committedWithin waits up to d for the store to have been handed n
// batches, and reports whether it was.
func committedWithin(rec *batchRecorder, n int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if len(rec.batches()) >= n {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return len(rec.batches()) >= n
}

// TestLogBatchWaitSkipsAppendsBeingPublished: an Append whose batch is
// committed and being published (the guard's write, witnesses) can join
// the next batch only once its receipt is out and its caller appends
// again. While publishes are quick the sequencer waits for such callers;
// once a publish took longer than the store's BatchWait (slow witnesses, a
// slow guard) it no longer counts them, since they cannot come within the
// bound: otherwise every batch would wait the whole bound.
func TestLogBatchWaitSkipsAppendsBeingPublished(t *testing.T) {
	const wait = 500 * time.Millisecond
	rec := &batchRecorder{Store: memstore.New()}
	g := newHeldGuard()
	in := newGate()
	l, _ := newTestLog(t, waitingRecorder{batchRecorder: rec, wait: wait}, ledger.Config{Guard: g, WriterVerifier: in})
	t.Cleanup(func() { close(g.opened) })
	// slowPublish lets the publish of the batch held at the guard through
	// after more than the wait.
	slowPublish := func() {
		<-g.entered
		time.Sleep(wait + wait/5)
		g.release <- struct{}{}
	}

	// A publish slower than the wait.
	done := in.start(t, l, 0, 1)
	in.release <- struct{}{}
	slowPublish()
	awaitAppends(t, done, 1)

	// Appends on their way, none being published, are still waited for.
	done = in.start(t, l, 1, 4)
	for range 4 {
		in.release <- struct{}{}
		time.Sleep(time.Millisecond)
	}
	slowPublish()
	awaitAppends(t, done, 4)
	require.Equal(t, []int{1, 4}, rec.batches(), "after a slow publish, the batch did not wait for appends on their way")

	// A's batch is being published, held at the guard; B arrives.
	done = in.start(t, l, 5, 2)
	in.release <- struct{}{}
	<-g.entered
	in.release <- struct{}{}
	require.True(t, committedWithin(rec, 4, wait/2), "B waited for A, whose publish is slower than the wait")
	require.Equal(t, []int{1, 4, 1, 1}, rec.batches())
	g.release <- struct{}{}
	g.release <- struct{}{}
	awaitAppends(t, done, 2)
}

// TestLogBatchWaitWaitsForAQuickPublish: while publishes take less than
// the wait, an Append in a batch being published still counts as on its
// way, so the next batch waits for it (its caller is about to append
// again).
func TestLogBatchWaitWaitsForAQuickPublish(t *testing.T) {
	ctx := context.Background()
	rec := &batchRecorder{Store: memstore.New()}
	g := newHeldGuard()
	l, _ := newTestLog(t, waitingRecorder{batchRecorder: rec, wait: time.Hour}, ledger.Config{Guard: g})
	t.Cleanup(func() { close(g.opened) })

	done := make(chan error, 2)
	go func() { _, err := l.Append(ctx, testEntry(0)); done <- err }()
	<-g.entered // A's batch is being published, and no publish was slow
	go func() { _, err := l.Append(ctx, testEntry(1)); done <- err }()
	require.False(t, committedWithin(rec, 2, 100*time.Millisecond), "B did not wait for A")
	g.release <- struct{}{}
	// A returns; B, alone in progress, is committed.
	require.True(t, committedWithin(rec, 2, liveness))
	g.release <- struct{}{}
	awaitAppends(t, done, 2)
	require.Equal(t, []int{1, 1}, rec.batches())
}
