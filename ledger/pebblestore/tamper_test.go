package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
)

// put replaces the value stored under key, bypassing the store.
func put(t *testing.T, dir string, key, value []byte) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	require.NoError(t, err)
	require.NoError(t, db.Set(key, value, pebble.Sync))
	require.NoError(t, db.Close())
}

// appendN appends entries 0..n-1 through a Log on a new store in f.dir,
// from 32 goroutines so that the Log batches them, and closes both.
func appendN(t *testing.T, f *fixture, n int) []*ledger.Receipt {
	ctx := context.Background()
	st, l := f.open(t)
	receipts := make([]*ledger.Receipt, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < n; i += 32 {
				receipts[i], errs[i] = l.Append(ctx, entry(i))
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.NoError(t, l.Close())
	require.NoError(t, st.Close())
	return receipts
}

// Re-appending entries after the store was closed and reopened finds each
// at its index (Existed), through the Log (which prechecks) and through the
// Store's Add (with and without the Log's precheck bound), and adds
// nothing. The entries are the first and last of every tile and others.
func TestReappendAfterReopen(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const n = 700
	receipts := appendN(t, f, n)
	var sample []int
	for i := 0; i < n; i += 37 {
		sample = append(sample, i)
	}
	sample = append(sample, 255, 256, 511, 512, n-1)

	st, l := f.open(t)
	for _, i := range sample {
		r, err := l.Append(ctx, entry(i))
		require.NoError(t, err)
		require.True(t, r.Existed, "entry %d appended again after reopen", i)
		require.Equal(t, receipts[i].Index, r.Index, "entry %d", i)
	}
	require.NoError(t, l.Close())

	leaves := make([]ledger.Leaf, len(sample))
	for k, i := range sample {
		data, err := entry(i).MarshalBinary()
		require.NoError(t, err)
		leaves[k] = ledger.Leaf{Data: data, Hash: mustLeafHash(t, i), Subject: entry(i).Subject}
	}
	res, err := st.Add(ctx, leaves, nil) // nothing to sign: all exist
	require.NoError(t, err)
	for k, i := range sample {
		require.True(t, res.Existed[k], "Store.Add: entry %d", i)
		require.Equal(t, receipts[i].Index, res.Indices[k], "Store.Add: entry %d", i)
	}
	require.EqualValues(t, n, res.Head.Size)
	require.NoError(t, st.Close())

	// Reopened again, without the Log: the store's own dedup finds them.
	st, err = Open(ctx, Config{Dir: f.dir})
	require.NoError(t, err)
	defer st.Close()
	for k, i := range sample {
		idx, found, _, err := st.Precheck(ctx, leaves[k].Hash)
		require.NoError(t, err)
		require.True(t, found, "Precheck: entry %d", i)
		require.Equal(t, receipts[i].Index, idx, "Precheck: entry %d", i)
	}
	res, err = st.Add(ctx, leaves, nil)
	require.NoError(t, err)
	require.Equal(t, receipts[sample[3]].Index, res.Indices[3])
	require.True(t, res.Existed[len(sample)-1])
	require.EqualValues(t, n, st.Head().Size)
}

// A hash index record pointing an entry's hash at another entry's index
// makes the re-append of the entry fail with ErrCorrupt, at the Log and at
// the Store, instead of returning the other entry's receipt.
func TestTamperedHashIndexRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	receipts := appendN(t, f, 300)
	var other [8]byte
	binary.BigEndian.PutUint64(other[:], receipts[7].Index)
	put(t, f.dir, hashKey(mustLeafHash(t, 5)), other[:])

	st, l := f.open(t)
	defer st.Close()
	defer l.Close()
	r, err := l.Append(ctx, entry(5))
	require.ErrorIs(t, err, ledger.ErrCorrupt, "Append returned %+v", r)
	_, err = st.IndexOf(ctx, mustLeafHash(t, 5))
	require.ErrorIs(t, err, ledger.ErrCorrupt, "IndexOf")
	_, _, _, err = st.Precheck(ctx, mustLeafHash(t, 5))
	require.ErrorIs(t, err, ledger.ErrCorrupt, "Precheck")
	data, err := entry(5).MarshalBinary()
	require.NoError(t, err)
	_, err = st.Add(ctx, []ledger.Leaf{{Data: data, Hash: mustLeafHash(t, 5), Subject: entry(5).Subject}}, nil)
	require.ErrorIs(t, err, ledger.ErrCorrupt, "Store.Add")
	// Entry 7 itself is still found where it is.
	r, err = l.Append(ctx, entry(7))
	require.NoError(t, err)
	require.True(t, r.Existed)
	require.Equal(t, receipts[7].Index, r.Index)
}

// Open refuses a stored checkpoint that is not for the stored head: an
// older checkpoint with a valid signature, or one whose root was changed.
func TestOpenRefusesTamperedCheckpoint(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	receipts := appendN(t, f, 300)
	// The checkpoint of the first batch: validly signed, for an older head.
	older, oldest := receipts[0].Checkpoint, uint64(1<<63)
	for _, r := range receipts {
		c, err := ledger.ParseSignedCheckpoint(r.Checkpoint)
		require.NoError(t, err)
		if c.Size < oldest {
			older, oldest = r.Checkpoint, c.Size
		}
	}
	st, err := Open(ctx, Config{Dir: f.dir})
	require.NoError(t, err)
	latest, err := st.Checkpoint(ctx)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	require.NotEqual(t, older, latest)
	rootAt := len(origin) + 1 + len("300") + 1
	changed := append([]byte(nil), latest...)
	changed[rootAt] ^= 'A' ^ 'B'
	for name, cp := range map[string][]byte{"older checkpoint": older, "root changed": changed} {
		t.Run(name, func(t *testing.T) {
			put(t, f.dir, []byte{keyCheckpoint}, cp)
			_, err := Open(ctx, Config{Dir: f.dir})
			require.ErrorIs(t, err, ledger.ErrCorrupt)
		})
	}
	put(t, f.dir, []byte{keyCheckpoint}, latest)
	st, err = Open(ctx, Config{Dir: f.dir})
	require.NoError(t, err)
	require.NoError(t, st.Check(ctx, f.v))
	require.NoError(t, st.Close())
}

// quietLogger is the logger of the raw Pebble databases tests open.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble fatal: "+format, args...))
}
