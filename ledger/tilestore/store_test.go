package tilestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/storetest"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

// mapBackend is a tilestore.Backend in maps, with switches that make its
// calls fail, for the engine's fault paths. It survives its own Close so
// that a test can reopen a Store over it, as over a directory.
type mapBackend struct {
	mu         sync.RWMutex // guards every field
	leaves     [][]byte
	index      map[merkle.Hash]uint64
	subjects   map[ledger.SubjectTag][]uint64
	tiles      map[merkle.TileID][]byte
	head       ledger.TreeHead
	checkpoint []byte
	commits    int
	payloads   map[uint64][]byte
	erased     map[uint64]uint64

	failCommit, failReadIndex, failReadTile, failReadHead error

	indexReads atomic.Int64 // calls of ReadIndex
	// tileHook, if set, is called by ReadTile before it reads.
	tileHook func(ctx context.Context, id merkle.TileID)
}

func newMapBackend() *mapBackend {
	return &mapBackend{
		index:    map[merkle.Hash]uint64{},
		subjects: map[ledger.SubjectTag][]uint64{},
		tiles:    map[merkle.TileID][]byte{},
		payloads: map[uint64][]byte{},
		erased:   map[uint64]uint64{},
	}
}

func (b *mapBackend) set(f func(b *mapBackend)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(b)
}

func (b *mapBackend) Commit(ctx context.Context, c *tilestore.Commit) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failCommit != nil {
		return b.failCommit
	}
	for _, l := range c.Leaves {
		if l.Index != uint64(len(b.leaves)) {
			return fmt.Errorf("leaf index %d, want %d", l.Index, len(b.leaves))
		}
		b.leaves = append(b.leaves, append([]byte(nil), l.Data...))
		if l.Payload != nil {
			b.payloads[l.Index] = append([]byte(nil), l.Payload...)
		}
		b.index[l.Hash] = l.Index
		b.subjects[l.Subject] = append(b.subjects[l.Subject], l.Index)
	}
	for _, t := range c.Tiles {
		b.tiles[t.ID] = append([]byte(nil), t.Data...)
	}
	b.head, b.checkpoint = c.Head, append([]byte(nil), c.Checkpoint...)
	b.commits++
	return nil
}

func (b *mapBackend) ReadHead(ctx context.Context) (ledger.TreeHead, []byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.failReadHead != nil {
		return ledger.TreeHead{}, nil, b.failReadHead
	}
	if b.head.Size == 0 {
		return ledger.TreeHead{}, nil, ledger.ErrEmptyLog
	}
	return b.head, b.checkpoint, nil
}

func (b *mapBackend) ReadLeaf(ctx context.Context, i uint64) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if i >= uint64(len(b.leaves)) {
		return nil, fmt.Errorf("%w: leaf %d", ledger.ErrNotFound, i)
	}
	return b.leaves[i], nil
}

func (b *mapBackend) ReadIndex(ctx context.Context, h merkle.Hash) (uint64, error) {
	b.indexReads.Add(1)
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.failReadIndex != nil {
		return 0, b.failReadIndex
	}
	i, ok := b.index[h]
	if !ok {
		return 0, fmt.Errorf("%w: leaf hash", ledger.ErrNotFound)
	}
	return i, nil
}

func (b *mapBackend) ReadPayload(ctx context.Context, index uint64) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if by, ok := b.erased[index]; ok {
		return nil, &ledger.ErasedError{Index: index, ErasedBy: by}
	}
	if p, ok := b.payloads[index]; ok {
		return append([]byte(nil), p...), nil
	}
	return nil, fmt.Errorf("%w: no payload", ledger.ErrNotFound)
}

func (b *mapBackend) ErasePayloads(ctx context.Context, indices []uint64, erasedBy uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, i := range indices {
		if _, ok := b.payloads[i]; ok {
			delete(b.payloads, i)
			b.erased[i] = erasedBy
		}
	}
	return nil
}

func (b *mapBackend) ReadTile(ctx context.Context, id merkle.TileID) ([]byte, error) {
	b.mu.RLock()
	hook := b.tileHook
	b.mu.RUnlock()
	if hook != nil {
		hook(ctx, id)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.failReadTile != nil {
		return nil, b.failReadTile
	}
	data, ok := b.tiles[id]
	if !ok {
		return nil, fmt.Errorf("%w: tile %v", ledger.ErrNotFound, id)
	}
	return data, nil
}

func (b *mapBackend) ScanSubject(ctx context.Context, s ledger.SubjectTag, start uint64, limit int) ([]uint64, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	all := b.subjects[s]
	i := sort.Search(len(all), func(i int) bool { return all[i] >= start })
	return append([]uint64(nil), all[i:i+max(0, min(len(all)-i, limit))]...), nil
}

func (b *mapBackend) Close() error { return nil }

var _ tilestore.Backend = (*mapBackend)(nil)

func open(t *testing.T, b *mapBackend, cacheSize int) *tilestore.Store {
	t.Helper()
	st, err := tilestore.Open(context.Background(), tilestore.Config{Backend: b, TileCacheSize: cacheSize})
	require.NoError(t, err)
	return st
}

// The engine passes the conformance suite with a cache of a single full
// tile (every proof goes to the backend) and with the default cache,
// without a dedup filter and with filters of one block (every lookup goes
// to the backend) and of 1 MiB, and a Store reopened over the same backend
// restores the tree.
func TestConformance(t *testing.T) {
	for _, cfg := range []tilestore.Config{
		{TileCacheSize: 1},
		{DedupFilterSize: 64},      // one block: every hash may be there
		{DedupFilterSize: 1 << 20}, // almost no false positives
	} {
		t.Run(fmt.Sprintf("tile cache %d, filter %d", cfg.TileCacheSize, cfg.DedupFilterSize), func(t *testing.T) {
			open := func(t *testing.T, b *mapBackend, _ int) *tilestore.Store {
				c := cfg
				c.Backend = b
				st, err := tilestore.Open(context.Background(), c)
				require.NoError(t, err)
				return st
			}
			cache := cfg.TileCacheSize
			var mu sync.Mutex
			backends := map[ledger.Store]*mapBackend{}
			reg := func(st *tilestore.Store, b *mapBackend) ledger.Store {
				mu.Lock()
				defer mu.Unlock()
				backends[st] = b
				return st
			}
			storetest.RunHarness(t, storetest.Harness{
				Open: func(t *testing.T) ledger.Store {
					b := newMapBackend()
					return reg(open(t, b, cache), b)
				},
				Reopen: func(t *testing.T, closed ledger.Store) ledger.Store {
					mu.Lock()
					b := backends[closed]
					mu.Unlock()
					require.NotNil(t, b)
					return reg(open(t, b, cache), b)
				},
			})
		})
	}
}

var errIO = errors.New("i/o error")

func newSign(t *testing.T) ledger.SignFunc {
	skey, _, err := ledger.GenerateKey("test.healthledger.example/tilestore")
	require.NoError(t, err)
	s, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	return func(h ledger.TreeHead) ([]byte, error) {
		return ledger.SignCheckpoint(s, ledger.Checkpoint{Origin: "test.healthledger.example/tilestore", Size: h.Size, Root: h.Root}, time.Now())
	}
}

func makeLeaves(t *testing.T, tag string, n int) []ledger.Leaf {
	out := make([]ledger.Leaf, n)
	for i := range out {
		e := &ledger.Entry{
			Kind:    ledger.KindRecordAnchored,
			Subject: ledger.DeriveSubjectTag("tilestore", fmt.Sprint(i%3)),
			Writer:  "did:key:z6MkTilestoreTest",
			Time:    time.Date(2026, 11, 22, 0, 0, 0, i, time.UTC),
			Digest:  ledger.Digest(merkle.HashLeaf([]byte(fmt.Sprintf("%s/%d", tag, i)))),
		}
		data, err := e.MarshalBinary()
		require.NoError(t, err)
		out[i] = ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: e.Subject}
	}
	return out
}

// Backend failures surface as errors wrapping the backend's error, and a
// failed Add changes nothing: no commit, no signature, the same head.
func TestBackendFailures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		fail   func(b *mapBackend)
		call   func(st *tilestore.Store, sign ledger.SignFunc) error
		signed bool // whether SignFunc may have been called
	}{
		{"dedup lookup fails", func(b *mapBackend) { b.failReadIndex = errIO }, func(st *tilestore.Store, sign ledger.SignFunc) error {
			// Without a dedup filter every leaf not prechecked is
			// looked up in the backend's index; the first lookup fails.
			_, err := st.Add(ctx, append(makeLeaves(t, "new", 5), makeLeaves(t, "old", 1)...), sign)
			return err
		}, false},
		{"commit fails", func(b *mapBackend) { b.failCommit = errIO }, func(st *tilestore.Store, sign ledger.SignFunc) error {
			_, err := st.Add(ctx, makeLeaves(t, "new", 5), sign)
			return err
		}, true},
		{"tile read fails", func(b *mapBackend) { b.failReadTile = errIO }, func(st *tilestore.Store, sign ledger.SignFunc) error {
			_, err := st.InclusionProof(ctx, 3, 300)
			return err
		}, false},
		{"tile read fails for a leaf", func(b *mapBackend) { b.failReadTile = errIO }, func(st *tilestore.Store, sign ledger.SignFunc) error {
			_, err := st.Leaf(ctx, 3)
			return err
		}, false},
		{"index read fails", func(b *mapBackend) { b.failReadIndex = errIO }, func(st *tilestore.Store, sign ledger.SignFunc) error {
			_, err := st.IndexOf(ctx, merkle.Hash{})
			return err
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newMapBackend()
			st := open(t, b, 1)
			defer st.Close()
			sign := newSign(t)
			_, err := st.Add(ctx, makeLeaves(t, "old", 600), sign)
			require.NoError(t, err)
			head, commits := st.Head(), b.commits
			calls := 0
			counting := func(h ledger.TreeHead) ([]byte, error) { calls++; return sign(h) }

			b.set(tt.fail)
			require.ErrorIs(t, tt.call(st, counting), errIO)
			b.set(func(b *mapBackend) { b.failCommit, b.failReadIndex, b.failReadTile = nil, nil, nil })
			require.Equal(t, head, st.Head())
			require.Equal(t, commits, b.commits)
			if !tt.signed {
				require.Zero(t, calls, "nothing to sign when Add fails before the tree grows")
			}
			res, err := st.Add(ctx, makeLeaves(t, "new", 5), sign)
			require.NoError(t, err)
			require.Equal(t, head.Size, res.Indices[0], "the next Add continues where the store was")
			require.NoError(t, st.Check(ctx, nil))
		})
	}
}

// Open refuses a backend whose tiles do not give the stored root, or whose
// head cannot be read, and reports a missing backend.
func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(b *mapBackend)
		want   error
	}{
		{"head root", func(b *mapBackend) { b.head.Root[3] ^= 1 }, ledger.ErrCorrupt},
		{"head size", func(b *mapBackend) { b.head.Size++ }, ledger.ErrCorrupt},
		{"edge tile", func(b *mapBackend) { b.tiles[merkle.TileID{Level: 0, Index: 2}][5] ^= 1 }, ledger.ErrCorrupt},
		{"level 1 edge tile lost", func(b *mapBackend) { delete(b.tiles, merkle.TileID{Level: 1, Index: 0}) }, ledger.ErrCorrupt},
		{"head unreadable", func(b *mapBackend) { b.failReadHead = errIO }, errIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newMapBackend()
			st := open(t, b, 0)
			_, err := st.Add(ctx, makeLeaves(t, "open", 600), newSign(t))
			require.NoError(t, err)
			require.NoError(t, st.Close())
			open(t, b, 0).Close() // an untouched backend opens
			b.set(tt.tamper)
			_, err = tilestore.Open(ctx, tilestore.Config{Backend: b})
			require.ErrorIs(t, err, tt.want)
		})
	}
	t.Run("no backend", func(t *testing.T) {
		_, err := tilestore.Open(ctx, tilestore.Config{})
		require.Error(t, err)
	})
}

// Adds from many goroutines at once (several frontends of one store) place
// every distinct leaf exactly once, densely, whatever the interleaving.
func TestConcurrentAddsDeduplicate(t *testing.T) {
	ctx := context.Background()
	b := newMapBackend()
	st := open(t, b, 0)
	defer st.Close()
	sign := newSign(t)
	all := makeLeaves(t, "concurrent", 500)
	const writers = 8
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			// Overlapping, shifted windows of the same leaves, in batches.
			for lo := w * 20; lo < len(all); lo += 50 {
				batch := all[lo:min(lo+70, len(all))]
				res, err := st.Add(ctx, batch, sign)
				if err != nil {
					t.Error(err)
					return
				}
				for i, l := range batch {
					if got := merkle.HashLeaf(mustLeaf(ctx, st, res.Indices[i])); got != l.Hash {
						t.Errorf("leaf at index %d of an Add result is another leaf", res.Indices[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, uint64(len(all)), st.Head().Size, "each leaf once")
	seen := map[uint64]merkle.Hash{}
	for i := range all {
		idx, err := st.IndexOf(ctx, all[i].Hash)
		require.NoError(t, err)
		_, dup := seen[idx]
		require.False(t, dup, "index %d twice", idx)
		seen[idx] = all[i].Hash
	}
	require.NoError(t, st.Check(ctx, nil))
}

func mustLeaf(ctx context.Context, st *tilestore.Store, i uint64) []byte {
	data, err := st.Leaf(ctx, i)
	if err != nil {
		return nil
	}
	return data
}

// A hash index record is not covered by the tree: one that points a leaf
// hash at another leaf's index must be caught (ErrCorrupt) by every lookup
// that trusts it, never answered with the other leaf's index.
func TestTamperedHashIndex(t *testing.T) {
	ctx := context.Background()
	leaves := makeLeaves(t, "tamper", 600)
	tests := []struct {
		name string
		to   uint64 // where the record of leaves[5] is made to point
		// indexOf is what IndexOf must fail with: a record past the
		// published size may be a commit in flight, so it reads as absent.
		indexOf error
	}{
		{"another leaf", 7, ledger.ErrCorrupt},
		{"another tile", 300, ledger.ErrCorrupt},
		{"past the log", 10000, ledger.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newMapBackend()
			sign := newSign(t)
			st := open(t, b, 0)
			_, err := st.Add(ctx, leaves, sign)
			require.NoError(t, err)
			require.NoError(t, st.Close())
			b.set(func(b *mapBackend) { b.index[leaves[5].Hash] = tt.to })
			st = open(t, b, 0)
			defer st.Close()

			_, err = st.IndexOf(ctx, leaves[5].Hash)
			require.ErrorIs(t, err, tt.indexOf, "IndexOf")
			idx, found, _, err := st.Precheck(ctx, leaves[5].Hash)
			if tt.to < 600 {
				require.ErrorIs(t, err, ledger.ErrCorrupt, "Precheck found %v at %d", found, idx)
			} else {
				require.NoError(t, err)
				require.False(t, found, "Precheck")
			}
			for _, absentBelow := range []uint64{0, 3} {
				l := leaves[5]
				l.AbsentBelow = absentBelow
				res, err := st.Add(ctx, []ledger.Leaf{l}, sign)
				require.ErrorIs(t, err, ledger.ErrCorrupt, "Add (AbsentBelow %d) returned %v", absentBelow, res.Indices)
			}
			require.Equal(t, uint64(600), st.Head().Size, "nothing was added")
			// The other leaves still deduplicate.
			res, err := st.Add(ctx, leaves[6:8], sign)
			require.NoError(t, err)
			require.Equal(t, []uint64{6, 7}, res.Indices)
			require.Equal(t, []bool{true, true}, res.Existed)
		})
	}
}

// The stored checkpoint is served as is, so Open refuses one whose body is
// not for the stored head (an older, validly signed one; another root; one
// that does not parse), and Check reports one replaced under an open store.
func TestTamperedCheckpoint(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(b *mapBackend, older []byte)
	}{
		{"older checkpoint", func(b *mapBackend, older []byte) { b.checkpoint = older }},
		{"root changed", func(b *mapBackend, _ []byte) {
			// The root line starts after the origin and size lines.
			lines := bytes.SplitN(b.checkpoint, []byte("\n"), 3)
			i := len(lines[0]) + 1 + len(lines[1]) + 1
			b.checkpoint[i] = b.checkpoint[i] ^ 'A' ^ 'B'
		}},
		{"size changed", func(b *mapBackend, _ []byte) {
			b.checkpoint = bytes.Replace(b.checkpoint, []byte("\n600\n"), []byte("\n601\n"), 1)
		}},
		{"not a checkpoint", func(b *mapBackend, _ []byte) { b.checkpoint = []byte("garbage") }},
		{"empty", func(b *mapBackend, _ []byte) { b.checkpoint = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newMapBackend()
			sign := newSign(t)
			st := open(t, b, 0)
			first, err := st.Add(ctx, makeLeaves(t, "cp", 300), sign)
			require.NoError(t, err)
			_, err = st.Add(ctx, makeLeaves(t, "cp2", 300), sign)
			require.NoError(t, err)
			require.NoError(t, st.Check(ctx, nil))

			good := bytes.Clone(b.checkpoint)
			b.set(func(b *mapBackend) { tt.tamper(b, first.Checkpoint) })
			require.NotEqual(t, good, b.checkpoint, "the test tampers")
			err = st.Check(ctx, nil)
			require.ErrorIs(t, err, ledger.ErrCorrupt, "Check")
			var ce *tilestore.CorruptionError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, "checkpoint", ce.Problems[0].What, "problems %v", ce.Problems)
			require.NoError(t, st.Close())

			_, err = tilestore.Open(ctx, tilestore.Config{Backend: b})
			require.ErrorIs(t, err, ledger.ErrCorrupt, "Open")
			b.set(func(b *mapBackend) { b.checkpoint = good })
			open(t, b, 0).Close() // the untampered store opens
		})
	}
}

// A SignFunc whose checkpoint is not for the head it was given fails Add,
// which stores nothing: the store never holds a checkpoint Open refuses.
func TestSignFuncForAnotherHead(t *testing.T) {
	ctx := context.Background()
	b := newMapBackend()
	sign := newSign(t)
	st := open(t, b, 0)
	defer st.Close()
	_, err := st.Add(ctx, makeLeaves(t, "old", 10), sign)
	require.NoError(t, err)
	head := st.Head()
	wrong := func(h ledger.TreeHead) ([]byte, error) { h.Size--; return sign(h) }
	_, err = st.Add(ctx, makeLeaves(t, "new", 3), wrong)
	require.ErrorIs(t, err, ledger.ErrMalformed)
	require.Equal(t, head, st.Head())
	require.Equal(t, 1, b.commits)
}

// Check compares the tiles above level 0 too. A full level-1 tile (it
// covers 65536 leaves) is read neither by Open, which restores only the
// right edge, nor by Check's walk of the leaves, so only the tile
// comparison can find a flipped byte in it.
func TestCheckFindsTamperedUpperTile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a log of 65,636 leaves")
	}
	ctx := context.Background()
	b := newMapBackend()
	st := open(t, b, 0)
	sign := newSign(t)
	const n = merkle.TileWidth*merkle.TileWidth + 100
	all := makeLeaves(t, "upper", n)
	for lo := 0; lo < n; lo += 8192 {
		_, err := st.Add(ctx, all[lo:min(lo+8192, n)], sign)
		require.NoError(t, err)
	}
	require.NoError(t, st.Close())
	upper := merkle.TileID{Level: 1, Index: 0}
	tests := []struct {
		name string
		at   int
	}{
		{"bottom row", 2 + 32*5},
		{"interior", 2 + 32*300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.set(func(b *mapBackend) { b.tiles[upper][tt.at] ^= 0x40 })
			defer b.set(func(b *mapBackend) { b.tiles[upper][tt.at] ^= 0x40 })
			st := open(t, b, 0) // Open does not read the full tile
			defer st.Close()
			err := st.Check(ctx, nil)
			require.ErrorIs(t, err, ledger.ErrCorrupt)
			var ce *tilestore.CorruptionError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, []tilestore.Problem{{What: "tile", Tile: upper, Detail: "differs from the tile recomputed from the leaves"}}, ce.Problems)
		})
	}
	st = open(t, b, 0)
	defer st.Close()
	require.NoError(t, st.Check(ctx, nil), "the untampered store checks clean")
}

// An entry bundle never carries a leaf that is not the tree's: a tampered
// leaf in the backend fails the bundle with ErrCorrupt, full or partial,
// while bundles without it are still served.
func TestEntryBundleChecksLeaves(t *testing.T) {
	ctx := context.Background()
	b := newMapBackend()
	st := open(t, b, 1)
	defer st.Close()
	_, err := st.Add(ctx, makeLeaves(t, "bundle", 600), newSign(t))
	require.NoError(t, err)
	b.set(func(b *mapBackend) { b.leaves[300][10] ^= 1 })
	for _, width := range []int{45, 88} {
		_, err = st.EntryBundle(ctx, 1, width)
		require.ErrorIs(t, err, ledger.ErrCorrupt, "bundle 1 of width %d holds the tampered leaf", width)
	}
	_, err = st.EntryBundle(ctx, 1, 44)
	require.NoError(t, err, "the leaves before the tampered one are intact")
	_, err = st.EntryBundle(ctx, 0, 256)
	require.NoError(t, err)
}

// CheckWithKey verifies the checkpoint's timestamp line, the log's signed
// time that ledger.Open requires, which Check with a note verifier alone
// cannot see.
func TestCheckWithKeyVerifiesTheTimestampLine(t *testing.T) {
	ctx := context.Background()
	const origin = "test.healthledger.example/tilestore"
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	b := newMapBackend()
	st := open(t, b, 0)
	_, err = st.Add(ctx, makeLeaves(t, "ts", 300), func(h ledger.TreeHead) ([]byte, error) {
		return ledger.SignCheckpoint(signer, ledger.Checkpoint{Origin: origin, Size: h.Size, Root: h.Root}, time.Now())
	})
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	require.NoError(t, st.CheckWithKey(ctx, vkey))
	require.NoError(t, st.Check(ctx, v))

	_, otherKey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	require.ErrorIs(t, st.CheckWithKey(ctx, otherKey), ledger.ErrCorrupt, "another log's key")
	require.ErrorIs(t, st.CheckWithKey(ctx, "not a key"), ledger.ErrInvalidConfig)

	good := bytes.Clone(b.checkpoint)
	lines := bytes.SplitAfter(good, []byte("\n"))
	var sigLines [][]byte
	for _, l := range lines {
		if bytes.HasPrefix(l, []byte("\u2014 ")) {
			sigLines = append(sigLines, l)
		}
	}
	require.Len(t, sigLines, 2, "the log's signature and its timestamp line")
	// Which line is the timestamp: the one the note verifier does not know.
	var tsLine []byte
	for _, l := range sigLines {
		without := bytes.Replace(good, l, nil, 1)
		if _, err := note.Open(without, note.VerifierList(v)); err == nil {
			tsLine = l
		}
	}
	require.NotNil(t, tsLine)

	tests := map[string][]byte{
		"timestamp line removed": bytes.Replace(good, tsLine, nil, 1),
		"timestamp line altered": bytes.Replace(good, tsLine, flipLastBase64(tsLine), 1),
	}
	for name, tampered := range tests {
		t.Run(name, func(t *testing.T) {
			b.set(func(b *mapBackend) { b.checkpoint = tampered })
			t.Cleanup(func() { b.set(func(b *mapBackend) { b.checkpoint = good }) })
			require.NoError(t, st.Check(ctx, v), "the note signature alone still verifies")
			err := st.CheckWithKey(ctx, vkey)
			var ce *tilestore.CorruptionError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, ledger.ErrCorrupt)
			require.Len(t, ce.Problems, 1)
			require.Equal(t, "checkpoint", ce.Problems[0].What)
			require.Contains(t, ce.Problems[0].Detail, "timestamp")
		})
	}
}

// flipLastBase64 changes a base64 character of a signature line (the one
// before the padding-free end) into another valid one.
func flipLastBase64(line []byte) []byte {
	out := bytes.Clone(line)
	i := len(out) - 2 // before the newline
	for out[i] == '=' {
		i--
	}
	i -= 4 // inside the signature bytes, not in the last partial group
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}
