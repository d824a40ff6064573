package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

// logKeys is one log's key pair.
type logKeys struct {
	signer *ledger.Signer
	vkey   string
}

func newLogKeys(t testing.TB) logKeys {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(testOrigin)
	require.NoError(t, err)
	s, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	return logKeys{s, vkey}
}

// openLog opens a Log on st with k and the guard g (nil: the default).
func openLog(t testing.TB, st ledger.Store, k logKeys, g ledger.CheckpointGuard) (*ledger.Log, error) {
	t.Helper()
	l, err := ledger.Open(context.Background(), ledger.Config{Store: st, Signer: k.signer, Origin: testOrigin, Guard: g, Now: testNow})
	if err == nil {
		t.Cleanup(func() { l.Close() })
	}
	return l, err
}

func appendRange(t testing.TB, l *ledger.Log, first, n int) *ledger.Receipt {
	t.Helper()
	var r *ledger.Receipt
	for i := first; i < first+n; i++ {
		var err error
		r, err = l.Append(context.Background(), testEntry(i))
		require.NoError(t, err)
	}
	return r
}

func storeSize(t testing.TB, st ledger.Store) uint64 {
	t.Helper()
	cp, err := st.Checkpoint(context.Background())
	if errors.Is(err, ledger.ErrEmptyLog) {
		return 0
	}
	require.NoError(t, err)
	c, err := ledger.ParseSignedCheckpoint(cp)
	require.NoError(t, err)
	return c.Size
}

func TestAppendRefusesEntriesDatedOutsideTheSkew(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration
		ok     bool
	}{
		{"back-dated by a day", -24 * time.Hour, false},
		{"back-dated just past the skew", -ledger.DefaultMaxClockSkew - time.Second, false},
		{"future just past the skew", ledger.DefaultMaxClockSkew + time.Second, false},
		{"a month ahead", 30 * 24 * time.Hour, false},
		{"at the back edge", -ledger.DefaultMaxClockSkew, true},
		{"at the front edge", ledger.DefaultMaxClockSkew, true},
		{"now", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memstore.New()
			l, err := openLog(t, st, newLogKeys(t), nil)
			require.NoError(t, err)
			e := testEntry(1)
			e.Time = testNow().Add(tt.offset)
			r, err := l.Append(context.Background(), e)
			if tt.ok {
				require.NoError(t, err)
				require.EqualValues(t, 0, r.Index)
				return
			}
			require.ErrorIs(t, err, ledger.ErrClockSkew)
			var cse *ledger.ClockSkewError
			require.ErrorAs(t, err, &cse)
			require.Equal(t, tt.offset, cse.Offset)
			require.Nil(t, r)
			require.Zero(t, storeSize(t, st), "nothing written")
		})
	}
}

func TestRetryOfAnOldEntryGetsItsReceipt(t *testing.T) {
	now := testNow()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	k := newLogKeys(t)
	l, err := ledger.Open(context.Background(), ledger.Config{Store: memstore.New(), Signer: k.signer, Origin: testOrigin, Now: clock})
	require.NoError(t, err)
	defer l.Close()
	first, err := l.Append(context.Background(), testEntry(7))
	require.NoError(t, err)
	mu.Lock()
	now = now.Add(48 * time.Hour) // the reply was lost; the client retries days later
	mu.Unlock()
	again, err := l.Append(context.Background(), testEntry(7))
	require.NoError(t, err, "an exact retry is deduplicated, not refused for its age")
	require.True(t, again.Existed)
	require.Equal(t, first.Index, again.Index)
	_, err = l.Append(context.Background(), testEntry(8))
	require.ErrorIs(t, err, ledger.ErrClockSkew, "a new entry with the old date is refused")
}

func TestCheckpointsCarryTheLogsSignedTime(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	k := newLogKeys(t)
	l, err := ledger.Open(context.Background(), ledger.Config{Store: memstore.New(), Signer: k.signer, Origin: testOrigin, Now: clock, MaxClockSkew: time.Hour})
	require.NoError(t, err)
	defer l.Close()

	set(now.Add(1500 * time.Millisecond))
	r1 := appendRange(t, l, 0, 1)
	got, err := ledger.CheckpointTime(r1.Checkpoint, k.vkey)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 22, 10, 0, 1, 0, time.UTC), got, "the log's clock, in whole seconds")

	// Standard verifiers still open it: the timestamp is an extra line.
	nv, err := note.NewVerifier(k.vkey)
	require.NoError(t, err)
	n, err := note.Open(r1.Checkpoint, note.VerifierList(nv))
	require.NoError(t, err)
	require.Len(t, n.Sigs, 1)
	require.Len(t, n.UnverifiedSigs, 1, "the timestamp line is a signature under another key ID")

	// The clock goes back an hour: the next checkpoint's time does not.
	set(now.Add(-time.Hour))
	e := testEntry(1)
	e.Time = clock()
	r2, err := l.Append(context.Background(), e)
	require.NoError(t, err)
	got2, err := ledger.CheckpointTime(r2.Checkpoint, k.vkey)
	require.NoError(t, err)
	require.Equal(t, got, got2, "checkpoint times never go backwards")

	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: k.vkey, MaxClockSkew: time.Hour})
	require.NoError(t, err)
	ct, err := v.CheckpointTime(r1.Checkpoint)
	require.NoError(t, err)
	require.Equal(t, got, ct)

	// A flipped byte in the timestamp line (the last line) is refused.
	bad := bytes.Clone(r1.Checkpoint)
	otherBase64Char(bad, len(bad)-6)
	_, err = v.VerifyReceipt(&ledger.Receipt{Index: r1.Index, Leaf: r1.Leaf, Proof: r1.Proof, Checkpoint: bad})
	require.ErrorIs(t, err, ledger.ErrNoTimestamp)
	_, err = ledger.CheckpointTime(bad, k.vkey)
	require.ErrorIs(t, err, ledger.ErrNoTimestamp)
	// Without the line at all, too.
	noTS := r1.Checkpoint[:bytes.LastIndex(r1.Checkpoint[:len(r1.Checkpoint)-1], []byte("\n"))+1]
	_, err = v.VerifyReceipt(&ledger.Receipt{Index: r1.Index, Leaf: r1.Leaf, Proof: r1.Proof, Checkpoint: noTS})
	require.ErrorIs(t, err, ledger.ErrNoTimestamp)
}

func TestVerifierBoundsEntryTimesByCheckpointTime(t *testing.T) {
	k := newLogKeys(t)
	logTime := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	// A dishonest log that signs whatever it is given: build receipts by
	// hand for a one-entry tree.
	receipt := func(entryTime time.Time) *ledger.Receipt {
		e := testEntry(0)
		e.Time = entryTime
		leaf, err := e.MarshalBinary()
		require.NoError(t, err)
		cp, err := ledger.SignCheckpoint(k.signer, ledger.Checkpoint{Origin: testOrigin, Size: 1, Root: merkle.HashLeaf(leaf)}, logTime)
		require.NoError(t, err)
		return &ledger.Receipt{Index: 0, Leaf: leaf, Checkpoint: cp}
	}
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: k.vkey})
	require.NoError(t, err)
	tests := []struct {
		name               string
		entry              time.Time
		receiptOK, freshOK bool
	}{
		{"on time", logTime.Add(-time.Second), true, true},
		{"dated after the checkpoint by the skew", logTime.Add(ledger.DefaultMaxClockSkew), true, true},
		{"dated after the checkpoint beyond the skew", logTime.Add(ledger.DefaultMaxClockSkew + time.Second), false, false},
		{"back-dated beyond the skew", logTime.Add(-ledger.DefaultMaxClockSkew - time.Second), true, false},
		{"back-dated by a month", logTime.Add(-30 * 24 * time.Hour), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := receipt(tt.entry)
			_, err := v.VerifyReceipt(r)
			if tt.receiptOK {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ledger.ErrClockSkew)
			}
			_, at, err := v.VerifyIntegrationTime(r)
			if tt.freshOK {
				require.NoError(t, err)
				require.Equal(t, logTime, at)
			} else {
				require.ErrorIs(t, err, ledger.ErrClockSkew)
			}
		})
	}
}

// guardFile opens a FileGuard in a fresh directory.
func guardFile(t testing.TB) (*ledger.FileGuard, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.checkpoint")
	g, err := ledger.OpenFileGuard(path)
	require.NoError(t, err)
	t.Cleanup(func() { g.Close() })
	return g, path
}

func TestOpenRefusesAStoreBehindTheGuard(t *testing.T) {
	ctx := context.Background()
	k := newLogKeys(t)
	g, path := guardFile(t)

	// The real store: 10 entries, its checkpoints in the guard.
	real := memstore.New()
	l, err := openLog(t, real, k, g)
	require.NoError(t, err)
	r10 := appendRange(t, l, 0, 10)
	require.NoError(t, l.Close())
	guarded, err := g.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, r10.Checkpoint, guarded, "the guard holds the checkpoint of the last receipt")

	// An older copy of it: the same first 5 entries.
	old := memstore.New()
	lo, err := openLog(t, old, k, nil)
	require.NoError(t, err)
	appendRange(t, lo, 0, 5)
	require.NoError(t, lo.Close())

	// Another history under the same key: 10 different entries.
	other := memstore.New()
	lx, err := openLog(t, other, k, nil)
	require.NoError(t, err)
	appendRange(t, lx, 100, 10)
	require.NoError(t, lx.Close())

	tests := []struct {
		name       string
		store      ledger.Store
		behind     bool
		storedSize uint64
	}{
		{"empty store (lost or wiped)", memstore.New(), true, 0},
		{"older store (restored from a backup)", old, true, 5},
		{"another history of the same size (fork)", other, false, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := storeSize(t, tt.store)
			_, err := openLog(t, tt.store, k, g)
			require.ErrorIs(t, err, ledger.ErrRollback)
			var rb *ledger.RollbackError
			require.ErrorAs(t, err, &rb)
			require.Equal(t, tt.behind, rb.Behind)
			require.EqualValues(t, 10, rb.Guarded.Size)
			require.Equal(t, guarded, rb.GuardedCheckpoint)
			require.Equal(t, tt.storedSize, rb.Stored.Size)
			require.Equal(t, before, storeSize(t, tt.store), "nothing written")
			after, err := g.Load(ctx)
			require.NoError(t, err)
			require.Equal(t, guarded, after, "the guard is unchanged")
		})
	}

	// The same file reopened later (a restarted process) still refuses.
	g2, err := ledger.OpenFileGuard(path)
	require.NoError(t, err)
	defer g2.Close()
	_, err = openLog(t, old, k, g2)
	require.ErrorIs(t, err, ledger.ErrRollback)

	// The real store opens, and moves on from there.
	l, err = openLog(t, real, k, g2)
	require.NoError(t, err)
	r11 := appendRange(t, l, 10, 1)
	got, err := g2.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, r11.Checkpoint, got)
}

func TestOpenMovesTheGuardUpToAStoreAhead(t *testing.T) {
	ctx := context.Background()
	k := newLogKeys(t)
	g, _ := guardFile(t)
	st := memstore.New()
	l, err := openLog(t, st, k, g)
	require.NoError(t, err)
	appendRange(t, l, 0, 3)
	require.NoError(t, l.Close())
	// The store went on without this guard (a crash between the store's
	// commit and the guard's write looks the same).
	l, err = openLog(t, st, k, nil)
	require.NoError(t, err)
	r := appendRange(t, l, 3, 4)
	require.NoError(t, l.Close())
	_, err = openLog(t, st, k, g)
	require.NoError(t, err)
	got, err := g.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, r.Checkpoint, got)
}

// flakyGuard is a MemoryGuard whose Swap fails while fail is set.
type flakyGuard struct {
	ledger.MemoryGuard
	mu   sync.Mutex
	fail bool
}

var errGuardDown = errors.New("guard service down")

func (g *flakyGuard) Swap(ctx context.Context, old, next []byte) error {
	g.mu.Lock()
	fail := g.fail
	g.mu.Unlock()
	if fail {
		return errGuardDown
	}
	return g.MemoryGuard.Swap(ctx, old, next)
}

// held returns what the guard holds.
func (g *flakyGuard) held(t *testing.T) []byte {
	t.Helper()
	b, err := g.Load(context.Background())
	require.NoError(t, err)
	return b
}

func TestNoReceiptBeforeTheGuardHoldsItsCheckpoint(t *testing.T) {
	k := newLogKeys(t)
	g := &flakyGuard{}
	l, err := openLog(t, memstore.New(), k, g)
	require.NoError(t, err)
	r := appendRange(t, l, 0, 2)
	require.Equal(t, r.Checkpoint, g.held(t))

	g.mu.Lock()
	g.fail = true
	g.mu.Unlock()
	_, err = l.Append(context.Background(), testEntry(2))
	require.ErrorIs(t, err, errGuardDown, "the receipt is withheld")
	require.Equal(t, r.Checkpoint, g.held(t))

	g.mu.Lock()
	g.fail = false
	g.mu.Unlock()
	r3 := appendRange(t, l, 3, 1)
	require.Equal(t, r3.Checkpoint, g.held(t), "the guard catches up with the next batch")
	rc, err := l.Append(context.Background(), testEntry(2))
	require.NoError(t, err)
	require.True(t, rc.Existed, "the entry of the failed batch was stored")
}

func TestOpenRefusesAStoreSignedByAnotherKey(t *testing.T) {
	st := memstore.New()
	l, err := openLog(t, st, newLogKeys(t), nil)
	require.NoError(t, err)
	appendRange(t, l, 0, 3)
	require.NoError(t, l.Close())
	cp, err := st.Checkpoint(context.Background())
	require.NoError(t, err)

	_, err = openLog(t, st, newLogKeys(t), nil)
	require.ErrorIs(t, err, ledger.ErrWrongKey)
	after, err := st.Checkpoint(context.Background())
	require.NoError(t, err)
	require.Equal(t, cp, after, "nothing signed under the new key")
}

// tamperedStore serves a different checkpoint than the store holds.
type tamperedStore struct {
	ledger.Store
	cp []byte
}

func (s *tamperedStore) Checkpoint(context.Context) ([]byte, error) { return s.cp, nil }

func TestOpenChecksTheStoredCheckpoint(t *testing.T) {
	k := newLogKeys(t)
	st := memstore.New()
	l, err := openLog(t, st, k, nil)
	require.NoError(t, err)
	r := appendRange(t, l, 0, 5)
	require.NoError(t, l.Close())
	c, err := ledger.ParseSignedCheckpoint(r.Checkpoint)
	require.NoError(t, err)

	flipped := bytes.Clone(r.Checkpoint)
	flipped[len(testOrigin)+3] ^= 1 // a byte of the root line
	wrongRoot, err := ledger.SignCheckpoint(k.signer, ledger.Checkpoint{Origin: testOrigin, Size: c.Size, Root: merkle.HashLeaf([]byte("x"))}, testNow())
	require.NoError(t, err)
	tooBig, err := ledger.SignCheckpoint(k.signer, ledger.Checkpoint{Origin: testOrigin, Size: c.Size + 1, Root: c.Root}, testNow())
	require.NoError(t, err)
	noTime := r.Checkpoint[:bytes.LastIndex(r.Checkpoint[:len(r.Checkpoint)-1], []byte("\n"))+1]
	for name, cp := range map[string][]byte{
		"a flipped byte":                   flipped,
		"validly signed, another root":     wrongRoot,
		"validly signed, beyond the store": tooBig,
		"without the log's timestamp":      noTime,
		"a checkpoint that is not a note":  []byte("garbage\n"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := openLog(t, &tamperedStore{Store: st, cp: cp}, k, nil)
			require.ErrorIs(t, err, ledger.ErrCorrupt)
		})
	}
}

// signingStore calls sign with a head it chooses, as a broken or hostile
// store could.
type signingStore struct {
	ledger.Store
	head ledger.TreeHead
}

func (s *signingStore) Add(ctx context.Context, leaves []ledger.Leaf, sign ledger.SignFunc) (ledger.AddResult, error) {
	if _, err := sign(s.head); err != nil {
		return ledger.AddResult{}, err
	}
	return s.Store.Add(ctx, leaves, sign)
}

func TestLogNeverSignsTwoRootsForOneSize(t *testing.T) {
	k := newLogKeys(t)
	st := memstore.New()
	l, err := openLog(t, st, k, nil)
	require.NoError(t, err)
	r := appendRange(t, l, 0, 4)
	require.NoError(t, l.Close())
	c, err := ledger.ParseSignedCheckpoint(r.Checkpoint)
	require.NoError(t, err)
	for name, head := range map[string]ledger.TreeHead{
		"a smaller tree":              {Size: 2, Root: c.Root},
		"the same size, another root": {Size: 4, Root: merkle.HashLeaf([]byte("other"))},
	} {
		t.Run(name, func(t *testing.T) {
			l, err := openLog(t, &signingStore{Store: st, head: head}, k, nil)
			require.NoError(t, err)
			_, err = l.Append(context.Background(), testEntry(9))
			require.ErrorIs(t, err, ledger.ErrRollback)
			require.EqualValues(t, 4, storeSize(t, st))
		})
	}
}

func TestFileGuardSurvivesATornWrite(t *testing.T) {
	ctx := context.Background()
	k := newLogKeys(t)
	g, path := guardFile(t)
	l, err := openLog(t, memstore.New(), k, g)
	require.NoError(t, err)
	r1 := appendRange(t, l, 0, 1)
	r2 := appendRange(t, l, 1, 1)
	require.NoError(t, l.Close())
	require.NoError(t, g.Close())
	// Reopened whole, the guard returns the newest slot, whichever of the
	// two it is in.
	for i, want := range []*ledger.Receipt{r2, r1} {
		g, err := ledger.OpenFileGuard(path)
		require.NoError(t, err)
		got, err := g.Load(ctx)
		require.NoError(t, err)
		require.Equal(t, want.Checkpoint, got)
		if i == 0 {
			require.NoError(t, g.Swap(ctx, r2.Checkpoint, r1.Checkpoint)) // into the other slot
		}
		require.NoError(t, g.Close())
	}
	g, err = ledger.OpenFileGuard(path)
	require.NoError(t, err)
	require.NoError(t, g.Swap(ctx, r1.Checkpoint, r2.Checkpoint))
	require.NoError(t, g.Close())

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	half := len(data) / 2
	// Find the slot that holds r2 and tear it.
	newer := bytes.Index(data, r2.Checkpoint)
	require.Positive(t, newer)
	torn := bytes.Clone(data)
	torn[newer+10] ^= 0xff
	require.NoError(t, os.WriteFile(path, torn, 0o600))
	g2, err := ledger.OpenFileGuard(path)
	require.NoError(t, err)
	got, err := g2.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, r1.Checkpoint, got, "the other slot, the previous checkpoint")
	require.NoError(t, g2.Close())

	// Both slots torn: the guard is destroyed, never silently empty.
	torn[(newer+half)%len(torn)] ^= 0xff
	require.NoError(t, os.WriteFile(path, torn, 0o600))
	_, err = ledger.OpenFileGuard(path)
	require.ErrorIs(t, err, ledger.ErrCorrupt)

	// A compare-and-swap against a stale value is refused.
	g3, _ := guardFile(t)
	require.NoError(t, g3.Swap(ctx, nil, r1.Checkpoint))
	require.ErrorIs(t, g3.Swap(ctx, nil, r2.Checkpoint), ledger.ErrGuardConflict)
	require.NoError(t, g3.Swap(ctx, r1.Checkpoint, r2.Checkpoint))
}

// otherBase64Char replaces b[i], a base64 character, by another one, so
// that the line still decodes but to other bytes.
func otherBase64Char(b []byte, i int) {
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
}

// gatedGuard holds every Swap until the test lets it through.
type gatedGuard struct {
	flakyGuard
	gate chan struct{}
}

func (g *gatedGuard) Swap(ctx context.Context, old, next []byte) error {
	<-g.gate
	return g.flakyGuard.Swap(ctx, old, next)
}

// A checkpoint is shown to nobody (Log.Checkpoint, receipts) before the
// guard holds it, even when the store already committed it.
func TestNoCheckpointShownBeforeTheGuardHasIt(t *testing.T) {
	ctx := context.Background()
	k := newLogKeys(t)
	st := memstore.New()
	g := &gatedGuard{gate: make(chan struct{})}
	l, err := openLog(t, st, k, g)
	require.NoError(t, err)
	done := make(chan *ledger.Receipt)
	go func() {
		r, err := l.Append(ctx, testEntry(1))
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	require.Eventually(t, func() bool { return storeSize(t, st) == 1 }, 5*time.Second, time.Millisecond, "the store commits")
	_, err = l.Checkpoint(ctx)
	require.ErrorIs(t, err, ledger.ErrEmptyLog, "the store's checkpoint is not published before the guard has it")
	// Nor anything of its batch.
	_, err = l.Leaf(ctx, 0)
	require.ErrorIs(t, err, ledger.ErrNotFound)
	_, err = l.EntryBundle(ctx, 0, 1)
	require.ErrorIs(t, err, ledger.ErrNotFound)
	_, err = l.Tile(ctx, 0, 0, 1)
	require.ErrorIs(t, err, ledger.ErrNotFound)
	idx, err := l.BySubject(ctx, testEntry(1).Subject, 0, 10)
	require.NoError(t, err)
	require.Empty(t, idx)
	select {
	case <-done:
		t.Fatal("a receipt was released before the guard held its checkpoint")
	case <-time.After(20 * time.Millisecond):
	}
	close(g.gate)
	r := <-done
	cp, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, r.Checkpoint, cp)
}

// A retry that finds its entry committed by the store, but not yet
// published (the guard has not recorded its checkpoint), waits for it
// instead of failing.
func TestRetryWaitsForThePublishedCheckpoint(t *testing.T) {
	ctx := context.Background()
	k := newLogKeys(t)
	st := memstore.New()
	g := &gatedGuard{gate: make(chan struct{})}
	l, err := openLog(t, st, k, g)
	require.NoError(t, err)
	type result struct {
		r   *ledger.Receipt
		err error
	}
	first, retry := make(chan result, 1), make(chan result, 1)
	go func() { r, err := l.Append(ctx, testEntry(1)); first <- result{r, err} }()
	require.Eventually(t, func() bool { return storeSize(t, st) == 1 }, 5*time.Second, time.Millisecond)
	go func() { r, err := l.Append(ctx, testEntry(1)); retry <- result{r, err} }()
	select {
	case res := <-retry:
		t.Fatalf("the retry returned before the checkpoint was published: %v", res.err)
	case <-time.After(20 * time.Millisecond):
	}
	close(g.gate)
	a, b := <-first, <-retry
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	require.Equal(t, a.r.Index, b.r.Index)
	require.True(t, b.r.Existed)
	require.Equal(t, a.r.Checkpoint, b.r.Checkpoint)
}
