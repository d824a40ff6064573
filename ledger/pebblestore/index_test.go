package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// withIndexGenSize sets indexGenSize for the stores the test opens.
func withIndexGenSize(t *testing.T, n int) {
	old := indexGenSize
	indexGenSize = n
	t.Cleanup(func() { indexGenSize = old })
}

// crash ends the store as a killed process would: the index writer stops
// and the database closes without writing the index records kept in
// memory. Every later call on st fails.
func (s *Store) crash(t *testing.T) {
	b := s.b
	b.idx.stopOnce.Do(func() { close(b.idx.stop) })
	<-b.idx.done
	b.health.setFatal(errors.New("test: crashed"))
	b.dbMu.Lock()
	require.NoError(t, b.db.Close())
	b.db = nil
	b.dbMu.Unlock()
	s.Close()
}

// readWatermark reads the index watermark from a closed store's directory.
func readWatermark(t *testing.T, dir string) uint64 {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	require.NoError(t, err)
	defer db.Close()
	v, closer, err := db.Get([]byte{keyIndexedTo})
	require.NoError(t, err)
	defer closer.Close()
	require.Len(t, v, 8)
	return binary.BigEndian.Uint64(v)
}

// appendAndEnd appends entries 0..n-1 through a Log on a new store in f.dir
// and returns their receipts, then ends the store: closed cleanly, or
// crashed (see crash) if crashed is set.
func appendAndEnd(t *testing.T, f *fixture, n int, crashed bool) []*ledger.Receipt {
	ctx := context.Background()
	st, l := f.open(t)
	receipts := make([]*ledger.Receipt, n)
	for i := range n {
		r, err := l.Append(ctx, entry(i))
		require.NoError(t, err)
		receipts[i] = r
	}
	require.NoError(t, l.Close())
	if crashed {
		st.crash(t)
	} else {
		require.NoError(t, st.Close())
	}
	return receipts
}

// The whole conformance suite with a generation every 3 leaves: lookups
// and subject scans that span Pebble, the generation being written and
// the one filling.
func TestConformanceSmallIndexGenerations(t *testing.T) {
	withIndexGenSize(t, 3)
	TestConformance(t)
}

// indexModel is the obvious index the generation must agree with.
type indexModel struct {
	first    map[merkle.Hash]uint64
	subjects map[ledger.SubjectTag][]uint64
}

// Keys that share their first 8 bytes (the table's probe key), repeated
// hashes and subjects, across table growth: every lookup and scan agrees
// with a map-based model.
func TestIndexGenAgreesWithAModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const from = 1000
	g := newIndexGen(from, 4) // grows several times
	m := indexModel{first: map[merkle.Hash]uint64{}, subjects: map[ledger.SubjectTag][]uint64{}}
	var hashes []merkle.Hash
	var subjects []ledger.SubjectTag
	key := func(collide bool) (k [32]byte) {
		for i := range k {
			k[i] = byte(rng.Uint32())
		}
		if collide {
			copy(k[:8], "samepref") // every such key probes the same slot
		}
		return k
	}
	for i := range 3000 {
		var h merkle.Hash
		switch r := rng.IntN(10); {
		case r == 0 && len(hashes) > 0:
			h = hashes[rng.IntN(len(hashes))] // a hash seen before
		default:
			h = key(r < 4)
		}
		var s ledger.SubjectTag
		if rng.IntN(3) == 0 || len(subjects) == 0 {
			s = key(rng.IntN(2) == 0)
			subjects = append(subjects, s)
		} else {
			s = subjects[rng.IntN(len(subjects))]
		}
		hashes = append(hashes, h)
		idx := uint64(from + i)
		g.add(h, s)
		if _, ok := m.first[h]; !ok {
			m.first[h] = idx
		}
		m.subjects[s] = append(m.subjects[s], idx)
	}
	for h, want := range m.first {
		got, ok := g.lookup(h)
		require.True(t, ok)
		require.Equal(t, want, got)
	}
	for range 200 {
		got, ok := g.lookup(key(rng.IntN(2) == 0))
		require.False(t, ok, "an absent hash found at %d", got)
	}
	for s, all := range m.subjects {
		for range 5 {
			start := uint64(from + rng.IntN(3100) - 50)
			limit := rng.IntN(40) - 2
			var want []uint64
			for _, i := range all {
				if i >= start && len(want) < limit {
					want = append(want, i)
				}
			}
			got := g.scan(s, start, limit, []uint64{7})
			require.Equal(t, append([]uint64{7}, want...), got, "start %d limit %d", start, limit)
		}
	}
	// The batch holds each hash once, at its first index, and every
	// subject record, all in key order, and the new watermark.
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	require.NoError(t, err)
	defer db.Close()
	batch, err := g.batch(db)
	require.NoError(t, err)
	require.NoError(t, batch.Commit(pebble.NoSync))
	require.NoError(t, batch.Close())
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	var nh, ns int
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		switch k[0] {
		case keyIndexedTo:
			require.EqualValues(t, g.end(), binary.BigEndian.Uint64(v))
		case prefixHash:
			var h merkle.Hash
			copy(h[:], k[1:])
			require.Equal(t, m.first[h], binary.BigEndian.Uint64(v))
			nh++
		case prefixSubject:
			var s ledger.SubjectTag
			copy(s[:], k[1:33])
			require.True(t, slices.Contains(m.subjects[s], binary.BigEndian.Uint64(k[33:])))
			ns++
		}
	}
	require.NoError(t, it.Close())
	require.Equal(t, len(m.first), nh)
	require.Equal(t, 3000, ns)
}

// After a crash the index records that were only in memory are rebuilt
// from the tiles and leaves: every entry is found by hash (a retry gets
// its receipt) and by subject, and Check passes.
func TestIndexRebuiltAfterCrash(t *testing.T) {
	for _, gen := range []int{1 << 20, 97} {
		t.Run("", func(t *testing.T) {
			withIndexGenSize(t, gen)
			ctx := context.Background()
			f := newFixture(t)
			const n = 700
			receipts := appendAndEnd(t, f, n, true)
			w := readWatermark(t, f.dir)
			require.Less(t, w, uint64(n), "nothing left to rebuild: the test proves nothing")
			if gen > n {
				require.Zero(t, w)
			}

			st, l := f.open(t)
			defer st.Close()
			defer l.Close()
			require.Equal(t, w, st.b.idx.gens[0].from)
			for i, want := range receipts {
				r, err := l.Append(ctx, entry(i))
				require.NoError(t, err)
				require.True(t, r.Existed, "entry %d appended twice after the crash", i)
				require.Equal(t, want.Index, r.Index)
			}
			for s := range 5 {
				idx, err := l.BySubject(ctx, entry(s).Subject, 0, n)
				require.NoError(t, err)
				require.Len(t, idx, n/5)
				for k, i := range idx {
					require.EqualValues(t, s+5*k, i)
				}
			}
			require.NoError(t, st.Check(ctx, f.v))
		})
	}
}

// Close writes the records kept in memory, synced: the next Open has
// nothing to rebuild.
func TestCloseWritesTheIndex(t *testing.T) {
	f := newFixture(t)
	appendAndEnd(t, f, 300, false)
	require.EqualValues(t, 300, readWatermark(t, f.dir))
}

// A watermark beyond the tree is refused at Open; one raised within the
// tree (records of leaves below it missing from Pebble and so never
// rebuilt) is reported by Check.
func TestTamperedWatermark(t *testing.T) {
	withIndexGenSize(t, 1<<20)
	ctx := context.Background()
	f := newFixture(t)
	appendAndEnd(t, f, 300, true)
	require.Zero(t, readWatermark(t, f.dir))

	put(t, f.dir, []byte{keyIndexedTo}, binary.BigEndian.AppendUint64(nil, 301))
	_, err := Open(ctx, Config{Dir: f.dir})
	require.ErrorIs(t, err, ledger.ErrCorrupt)
	put(t, f.dir, []byte{keyIndexedTo}, []byte{1, 2, 3})
	_, err = Open(ctx, Config{Dir: f.dir})
	require.ErrorIs(t, err, ledger.ErrCorrupt)

	put(t, f.dir, []byte{keyIndexedTo}, binary.BigEndian.AppendUint64(nil, 200))
	st, err := Open(ctx, Config{Dir: f.dir})
	require.NoError(t, err)
	defer st.Close()
	err = st.Check(ctx, f.v)
	var ce *tilestore.CorruptionError
	require.ErrorAs(t, err, &ce)
	kinds := map[string]bool{}
	for _, p := range ce.Problems {
		kinds[p.What] = true
		require.Less(t, p.Index, uint64(200))
	}
	require.True(t, kinds["hash-index"] && kinds["subject-index"], "problems %v", ce.Problems)
}

// A directory written before the store kept index records in memory has
// every record in Pebble and no watermark: Open takes the tree size as the
// watermark and writes it.
func TestDirectoryWithoutWatermark(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	appendAndEnd(t, f, 300, false)
	db, err := pebble.Open(f.dir, &pebble.Options{Logger: quietLogger{}})
	require.NoError(t, err)
	require.NoError(t, db.Delete([]byte{keyIndexedTo}, pebble.Sync))
	require.NoError(t, db.Close())

	st, l := f.open(t)
	require.EqualValues(t, 300, st.b.idx.gens[0].from)
	r, err := l.Append(ctx, entry(5))
	require.NoError(t, err)
	require.True(t, r.Existed)
	require.NoError(t, st.Check(ctx, f.v))
	require.NoError(t, l.Close())
	require.NoError(t, st.Close())
	require.EqualValues(t, 300, readWatermark(t, f.dir))
}

// A commit whose leaves do not continue the log is refused before anything
// is written.
func TestCommitOutOfOrderRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	st, l := f.open(t)
	defer st.Close()
	defer l.Close()
	_, err := l.Append(ctx, entry(0))
	require.NoError(t, err)
	head, cp, err := st.b.ReadHead(ctx)
	require.NoError(t, err)
	data, err := entry(1).MarshalBinary()
	require.NoError(t, err)
	leaf := ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: entry(1).Subject}
	err = st.b.Commit(ctx, &tilestore.Commit{Leaves: []tilestore.IndexedLeaf{{Index: 2, Leaf: leaf}}, Head: head, Checkpoint: cp})
	require.Error(t, err)
	_, err = st.b.ReadLeaf(ctx, 2)
	require.ErrorIs(t, err, ledger.ErrNotFound)
}

// The rebuilt hash index takes each hash from the tree's tiles, not from
// the stored leaf: after a crash and a flipped byte in a leaf that was
// indexed only in memory, a retry of the original entry is still found
// (and refused as corrupt) instead of being appended a second time.
func TestRebuildTakesHashesFromTheTree(t *testing.T) {
	withIndexGenSize(t, 1<<20)
	ctx := context.Background()
	f := newFixture(t)
	appendAndEnd(t, f, 300, true)
	flip(t, f.dir, leafKey(17), 60)

	st, l := f.open(t)
	defer st.Close()
	defer l.Close()
	r, err := l.Append(ctx, entry(17))
	require.ErrorIs(t, err, ledger.ErrCorrupt, "receipt %+v", r)
	require.EqualValues(t, 300, st.Head().Size)
}
