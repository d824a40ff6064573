package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/storetest"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ledger.Store { return New() })
}

const origin = "test.healthledger.example/memstore"

var errDisk = errors.New("disk on fire")

// testNow is the log clock of the tests: the time of entry's entries.
func testNow() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) }

func entry(tag string, i int) *ledger.Entry {
	return &ledger.Entry{
		Kind:    ledger.KindRecordAnchored,
		Subject: ledger.DeriveSubjectTag("memstore", fmt.Sprint(i%5)),
		Writer:  "did:key:z6MkMemstoreTest",
		Time:    time.Date(2026, 11, 22, 0, 0, 0, i, time.UTC),
		Digest:  ledger.Digest(merkle.HashLeaf([]byte(fmt.Sprintf("%s/%d", tag, i)))),
	}
}

func leaves(t *testing.T, tag string, first, n int) []ledger.Leaf {
	out := make([]ledger.Leaf, n)
	for k := range out {
		e := entry(tag, first+k)
		data, err := e.MarshalBinary()
		require.NoError(t, err)
		out[k] = ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data), Subject: e.Subject}
	}
	return out
}

type keys struct {
	signer *ledger.Signer
	v      note.Verifier
}

func newKeys(t *testing.T) keys {
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	s, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	return keys{s, v}
}

func (k keys) sign(h ledger.TreeHead) ([]byte, error) {
	return ledger.SignCheckpoint(k.signer, ledger.Checkpoint{Origin: origin, Size: h.Size, Root: h.Root}, time.Now())
}

// snapshot is everything a reader can observe of a store at one size.
type snapshot struct {
	checkpoint  []byte
	head        ledger.TreeHead
	root        merkle.Hash
	inclusion   []merkle.Hash
	consistency []merkle.Hash
	subject     []uint64
}

func takeSnapshot(t *testing.T, st *Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	s.checkpoint, err = st.Checkpoint(ctx)
	require.NoError(t, err)
	s.head = st.Head()
	s.root, err = st.RootHash(ctx, s.head.Size)
	require.NoError(t, err)
	s.inclusion, err = st.InclusionProof(ctx, s.head.Size-1, s.head.Size)
	require.NoError(t, err)
	s.consistency, err = st.ConsistencyProof(ctx, 1, s.head.Size)
	require.NoError(t, err)
	s.subject, err = st.BySubject(ctx, entry("", 0).Subject, 0, 1<<20)
	require.NoError(t, err)
	return s
}

// A commit that fails (as a full disk would) leaves the store exactly as it
// was, whatever the batch would have changed (the right edge tile, a tile
// it would have completed, a new tree level), and the next Add succeeds as
// if the failed one never happened.
func TestFailedCommitChangesNothing(t *testing.T) {
	tests := []struct {
		name        string
		before, add int
	}{
		{"one leaf", 100, 1},
		{"completes a tile", 200, 56},
		{"crosses a tile", 200, 300},
		{"new tree level", 256, 1},
		{"second level tile", 256 * 256, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			k := newKeys(t)
			st := New()
			defer st.Close()
			_, err := st.Add(ctx, leaves(t, "before", 0, tt.before), k.sign)
			require.NoError(t, err)
			want := takeSnapshot(t, st)

			failed := leaves(t, "failed", 0, tt.add)
			st.FailNextCommit(errDisk)
			_, err = st.Add(ctx, failed, k.sign)
			require.ErrorIs(t, err, errDisk)
			require.Equal(t, want, takeSnapshot(t, st), "a failed commit changes nothing a reader sees")
			_, err = st.Leaf(ctx, uint64(tt.before))
			require.ErrorIs(t, err, ledger.ErrNotFound)
			_, err = st.IndexOf(ctx, failed[0].Hash)
			require.ErrorIs(t, err, ledger.ErrNotFound)
			require.NoError(t, st.Check(ctx, k.v))

			// Other leaves go in next, at the indices the failed batch would
			// have had, with the tree a fresh store computes for them.
			next := leaves(t, "next", 0, tt.add)
			res, err := st.Add(ctx, next, k.sign)
			require.NoError(t, err)
			require.Equal(t, uint64(tt.before), res.Indices[0])
			require.Equal(t, []bool(make([]bool, tt.add)), res.Existed)
			fresh := New()
			defer fresh.Close()
			_, err = fresh.Add(ctx, append(leaves(t, "before", 0, tt.before), next...), k.sign)
			require.NoError(t, err)
			require.Equal(t, fresh.Head(), res.Head, "the failed batch left no trace in the tree")
			require.NoError(t, st.Check(ctx, k.v))
			last := uint64(tt.before + tt.add - 1)
			p, err := st.InclusionProof(ctx, last, res.Head.Size)
			require.NoError(t, err)
			require.NoError(t, merkle.VerifyInclusion(next[tt.add-1].Hash, last, res.Head.Size, p, res.Head.Root))
			c, err := st.ConsistencyProof(ctx, want.head.Size, res.Head.Size)
			require.NoError(t, err)
			require.NoError(t, merkle.VerifyConsistency(want.head.Size, res.Head.Size, c, want.head.Root, res.Head.Root))
		})
	}
}

// Through a Log: the appends of a failed batch fail with the store's error,
// the checkpoint stays, and appending the same entry again succeeds at the
// next index.
func TestLogFailedCommit(t *testing.T) {
	ctx := context.Background()
	k := newKeys(t)
	st := New()
	defer st.Close()
	l, err := ledger.Open(ctx, ledger.Config{Store: st, Signer: k.signer, Origin: origin, Now: testNow})
	require.NoError(t, err)
	defer l.Close()
	for i := range 10 {
		_, err := l.Append(ctx, entry("log", i))
		require.NoError(t, err)
	}
	cp, err := l.Checkpoint(ctx)
	require.NoError(t, err)

	st.FailNextCommit(errDisk)
	_, err = l.Append(ctx, entry("log", 10))
	require.ErrorIs(t, err, errDisk)
	got, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	require.Equal(t, cp, got, "a failed append keeps the checkpoint")
	_, err = l.Entry(ctx, 10)
	require.ErrorIs(t, err, ledger.ErrNotFound)
	_, err = l.Receipt(ctx, 10)
	require.ErrorIs(t, err, ledger.ErrNotFound)

	r, err := l.Append(ctx, entry("log", 10))
	require.NoError(t, err)
	require.False(t, r.Existed)
	require.Equal(t, uint64(10), r.Index)
	c, _, err := ledger.OpenCheckpoint(r.Checkpoint, origin, k.v)
	require.NoError(t, err)
	require.Equal(t, uint64(11), c.Size)
	require.NoError(t, merkle.VerifyInclusion(merkle.HashLeaf(r.Leaf), r.Index, c.Size, r.Proof, c.Root))
	old, _, err := ledger.OpenCheckpoint(cp, origin, k.v)
	require.NoError(t, err)
	proof, err := l.ConsistencyProof(ctx, old.Size, c.Size)
	require.NoError(t, err)
	require.NoError(t, merkle.VerifyConsistency(old.Size, c.Size, proof, old.Root, c.Root))
	require.NoError(t, st.Check(ctx, k.v))
}

// Check finds every kind of tampering with the stored data, and a tampered
// leaf is never served.
func TestCheckFindsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(b *backend)
		what   string
	}{
		{"leaf byte", func(b *backend) { (*b.leaves.at(17))[40] ^= 1 }, "leaf"},
		{"leaf swapped", func(b *backend) { *b.leaves.at(3), *b.leaves.at(4) = *b.leaves.at(4), *b.leaves.at(3) }, "leaf"},
		{"leaf truncated", func(b *backend) { *b.leaves.at(9) = (*b.leaves.at(9))[:20] }, "leaf"},
		{"hash index points elsewhere", func(b *backend) { b.index.repoint(5, 6) }, "hash-index"},
		{"hash index lost", func(b *backend) { b.index.repoint(8, maxIndexedLeaves-1) }, "hash-index"},
		{"hash index records another hash", func(b *backend) { b.index.hashes.at(11)[0] ^= 1 }, "hash-index"},
		{"subject index lost", func(b *backend) {
			for _, idx := range b.subjects {
				*idx = (*idx)[1:]
				break
			}
		}, "subject-index"},
		{"full tile", func(b *backend) { b.tiles[merkle.TileID{Level: 0, Index: 0}][2+32*7] ^= 1 }, "tile"},
		{"edge tile", func(b *backend) { b.tiles[merkle.TileID{Level: 0, Index: 1}][2+32*3] ^= 1 }, "tile"},
		{"head root", func(b *backend) { b.head.Root[0] ^= 1 }, "head"},
		{"checkpoint signature", func(b *backend) {
			// A byte of the log's note signature (the line after the body).
			i := bytes.Index(b.checkpoint, []byte("\n\n")) + 2
			i += bytes.IndexByte(b.checkpoint[i:], '\n')
			b.checkpoint[i-4] ^= 1
		}, "checkpoint"},
		{"checkpoint for another size", func(b *backend) { b.head.Size-- }, "checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			k := newKeys(t)
			st := New()
			defer st.Close()
			_, err := st.Add(ctx, leaves(t, "tamper", 0, 300), k.sign)
			require.NoError(t, err)
			require.NoError(t, st.Check(ctx, k.v))

			st.b.mu.Lock()
			tt.tamper(st.b)
			st.b.mu.Unlock()

			err = st.Check(ctx, k.v)
			require.ErrorIs(t, err, ledger.ErrCorrupt)
			var ce *tilestore.CorruptionError
			require.ErrorAs(t, err, &ce)
			var found []string
			for _, p := range ce.Problems {
				found = append(found, p.What)
			}
			require.Contains(t, found, tt.what, "problems: %v", ce.Problems)
			if tt.what == "leaf" {
				for _, i := range []uint64{3, 4, 9, 17} {
					data, err := st.Leaf(ctx, i)
					if err == nil {
						h := merkle.HashLeaf(data)
						want := leaves(t, "tamper", int(i), 1)[0].Hash
						require.Equal(t, want, h, "leaf %d served with other bytes", i)
					} else {
						require.ErrorIs(t, err, ledger.ErrCorrupt)
					}
				}
			}
		})
	}
}

// Many goroutines append while commits fail now and then: every Append
// returns a verified receipt or the store's error, a failed entry goes in
// when appended again, and in the end every entry is in the log once.
func TestLogConcurrentAppendsWithFailures(t *testing.T) {
	ctx := context.Background()
	k := newKeys(t)
	st := New()
	defer st.Close()
	l, err := ledger.Open(ctx, ledger.Config{Store: st, Signer: k.signer, Origin: origin, MaxBatch: 16, Now: testNow})
	require.NoError(t, err)
	defer l.Close()

	const writers, each = 16, 40
	stop := make(chan struct{})
	faults := make(chan struct{})
	go func() {
		defer close(faults)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				st.FailNextCommit(errDisk)
			}
		}
	}()
	failures := make([]int, writers)
	indices := make([][]uint64, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := entry(fmt.Sprintf("concurrent-%d", w), i)
				for {
					r, err := l.Append(ctx, e)
					if errors.Is(err, errDisk) {
						failures[w]++
						continue // appending again is safe
					}
					if err != nil {
						t.Errorf("writer %d entry %d: %v", w, i, err)
						return
					}
					c, _, err := ledger.OpenCheckpoint(r.Checkpoint, origin, k.v)
					if err == nil {
						err = merkle.VerifyInclusion(merkle.HashLeaf(r.Leaf), r.Index, c.Size, r.Proof, c.Root)
					}
					if err != nil {
						t.Errorf("writer %d entry %d: receipt: %v", w, i, err)
						return
					}
					indices[w] = append(indices[w], r.Index)
					break
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-faults
	st.FailNextCommit(nil)

	total := 0
	for _, f := range failures {
		total += f
	}
	t.Logf("%d appends failed and were retried", total)
	require.Equal(t, uint64(writers*each), st.Head().Size, "every entry once, none lost to a failed batch")
	seen := map[uint64]bool{}
	for _, idx := range indices {
		for _, i := range idx {
			require.False(t, seen[i], "index %d handed out twice", i)
			seen[i] = true
		}
	}
	require.NoError(t, st.Check(ctx, k.v))
}

// TestCommitWithAGapChangesNothing hands the backend a commit whose second
// leaf does not follow the first: it must fail before storing either.
func TestCommitWithAGapChangesNothing(t *testing.T) {
	b := New().b
	leaf := func(i uint64) tilestore.IndexedLeaf {
		data := []byte(fmt.Sprint("leaf ", i))
		return tilestore.IndexedLeaf{Index: i, Leaf: ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data)}}
	}
	err := b.Commit(context.Background(), &tilestore.Commit{Leaves: []tilestore.IndexedLeaf{leaf(0), leaf(2)}})
	require.Error(t, err)
	require.Zero(t, b.leaves.len())
	require.Zero(t, b.index.len())
	_, err = b.ReadIndex(context.Background(), leaf(0).Hash)
	require.ErrorIs(t, err, ledger.ErrNotFound)
}

// TestStoredLeavesAreCopies checks that the store keeps its own copy of
// each leaf, not the caller's slice.
func TestStoredLeavesAreCopies(t *testing.T) {
	b := New().b
	data := []byte("leaf 0")
	l := tilestore.IndexedLeaf{Leaf: ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data)}}
	require.NoError(t, b.Commit(context.Background(), &tilestore.Commit{Leaves: []tilestore.IndexedLeaf{l}}))
	data[0] = 'X'
	got, err := b.ReadLeaf(context.Background(), 0)
	require.NoError(t, err)
	require.Equal(t, []byte("leaf 0"), got)
}
