package pebblestore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
)

// After an erasure, no byte of the erased payloads is left in any file of
// the store's directory (tables, write-ahead logs, MANIFEST), while the
// payloads of other subjects still are: the scan sees what it should.
// The payloads here are in clear, the worst case; a deployment seals them.
func TestErasedPayloadsLeaveNoBytesOnDisk(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st, l := f.open(t)
	alice, bob := ledger.DeriveSubjectTag("erase", "alice"), ledger.DeriveSubjectTag("erase", "bob")
	canary := func(who string, i int) []byte { return []byte(fmt.Sprintf("CANARY-%s-%04d-7f3a9c", who, i)) }
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < 400; i += 16 {
				who, subj := "alice", alice
				if i%2 == 1 {
					who, subj = "bob", bob
				}
				e := entry(1000 + i)
				e.Subject = subj
				e.Body = nil
				if err := e.SetPayload(bytes.Repeat(canary(who, i), 8)); err != nil {
					t.Error(err)
					return
				}
				if _, err := l.Append(ctx, e); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Some of it is flushed to tables, some is still only in the WAL.
	require.NoError(t, st.b.db.Flush())
	for i := 400; i < 420; i++ {
		e := entry(1000 + i)
		e.Subject, e.Body = alice, nil
		require.NoError(t, e.SetPayload(canary("alice", i)))
		_, err := l.Append(ctx, e)
		require.NoError(t, err)
	}
	cp, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	size, err := ledger.ParseSignedCheckpoint(cp)
	require.NoError(t, err)
	x, err := ledger.NewErasureEntry(alice, size.Size, "GDPR Art. 17(1)(a)", "did:key:z6MkPebbleTest", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	_, err = l.Erase(ctx, x)
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.NoError(t, st.Close())

	found := func(who string) (n int) {
		err := filepath.Walk(f.dir, func(path string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			n += bytes.Count(data, []byte("CANARY-"+who+"-"))
			return nil
		})
		require.NoError(t, err)
		return n
	}
	require.Positive(t, found("bob"), "the scan finds payloads that were not erased")
	require.Zero(t, found("alice"), "no byte of an erased payload survives in the directory")

	// Reopened, the erasure holds and the other payloads read back.
	st, l = f.open(t)
	defer st.Close()
	defer l.Close()
	var erased, kept int
	for i := range size.Size {
		e, err := l.Entry(ctx, i)
		switch {
		case err == nil:
			require.Equal(t, bob, e.Subject)
			kept++
		default:
			require.ErrorIs(t, err, ledger.ErrErased)
			erased++
		}
	}
	require.Equal(t, 220, erased)
	require.Equal(t, 200, kept)
}
