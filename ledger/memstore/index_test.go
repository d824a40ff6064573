package memstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"runtime"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// testHash returns a distinct hash for each i.
func testHash(i uint64) merkle.Hash {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], i)
	return sha256.Sum256(b[:])
}

// slotKey is what x's table keeps of h: its shard and its tag (which
// holds its home slot). Two hashes with one slotKey are told apart only by
// the recorded hash.
func (x *hashIndex) slotKey(h merkle.Hash) uint64 {
	h64 := maphash.Comparable(x.seed, h)
	return h64&^indexMask | h64%indexShards
}

// collision searches gen(0), gen(1), ... for two values whose hashes have
// one slotKey in x, and returns their numbers. It is a birthday search on
// 32 bits: about 2^16 tries.
func collision(t *testing.T, x *hashIndex, gen func(i uint64) merkle.Hash) (a, b uint64) {
	t.Helper()
	seen := map[uint64]uint64{}
	for i := range uint64(1 << 20) {
		k := x.slotKey(gen(i))
		if j, ok := seen[k]; ok {
			return j, i
		}
		seen[k] = i
	}
	t.Fatal("no slot key collision in 2^20 hashes")
	return 0, 0
}

// repoint makes the slot that holds leaf from hold leaf to instead, as a
// damaged index would (a test of Check).
func (x *hashIndex) repoint(from, to uint64) {
	for s := range x.shards {
		for i, slot := range x.shards[s].slots {
			if slot != 0 && slot&indexMask-1 == from {
				x.shards[s].slots[i] = slot&^indexMask | (to + 1)
			}
		}
	}
}

// The index answers as a map does, through many grows of its shards.
func TestHashIndexAgainstMap(t *testing.T) {
	const n = 20000
	x := newHashIndex()
	want := map[merkle.Hash]uint64{}
	for i := range uint64(n) {
		h := testHash(i % (n - 1000)) // the last 1000 record earlier hashes again
		x.add(h)
		want[h] = i
	}
	require.Equal(t, uint64(n), x.len())
	for h, i := range want {
		got, ok := x.get(h)
		require.True(t, ok)
		require.Equal(t, i, got, "a hash recorded again answers its latest index")
	}
	for i := uint64(n); i < 2*n; i++ {
		_, ok := x.get(testHash(i))
		require.False(t, ok, "hash %d was never added", i)
	}
	for i := range uint64(n) {
		h, ok := x.hashAt(i)
		require.True(t, ok)
		require.Equal(t, testHash(i%(n-1000)), h)
	}
	_, ok := x.hashAt(n)
	require.False(t, ok)
}

// Two hashes that agree on everything the table keeps of them (shard, tag,
// home slot) are different leaves: neither is ever taken for the other.
func TestHashIndexTellsCollidingHashesApart(t *testing.T) {
	x := newHashIndex()
	a, b := collision(t, x, testHash)
	ha, hb := testHash(a), testHash(b)
	require.NotEqual(t, ha, hb)
	require.Equal(t, x.slotKey(ha), x.slotKey(hb))

	x.add(ha)
	_, ok := x.get(hb)
	require.False(t, ok, "a colliding hash is not a duplicate")
	x.add(hb)
	got, ok := x.get(ha)
	require.True(t, ok)
	require.Equal(t, uint64(0), got)
	got, ok = x.get(hb)
	require.True(t, ok)
	require.Equal(t, uint64(1), got)
}

// A used slot's home, recomputed when a shard grows, is the top bits of
// its hash's maphash at every table size, also beyond those the tag holds.
func TestHashIndexHome(t *testing.T) {
	x := newHashIndex()
	h := testHash(7)
	x.add(h)
	h64 := maphash.Comparable(x.seed, h)
	s := &x.shards[h64%indexShards]
	var slot uint64
	for _, v := range s.slots {
		if v != 0 {
			slot = v
		}
	}
	require.Equal(t, uint64(1), slot&indexMask, "leaf 0 is kept as 1")
	for k := minShardSlotsBits; k <= 40; k++ {
		require.Equal(t, h64>>(64-k), x.home(slot, k, uint8(64-k)), "k=%d", k)
	}
}

// The backend refuses a commit beyond the index's capacity, storing
// nothing.
func TestCommitBeyondCapacityChangesNothing(t *testing.T) {
	b := New().b
	b.capacity = 2
	leaf := func(i uint64) tilestore.IndexedLeaf {
		data := []byte(fmt.Sprint("leaf ", i))
		return tilestore.IndexedLeaf{Index: i, Leaf: ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data)}}
	}
	require.NoError(t, b.Commit(context.Background(), &tilestore.Commit{Leaves: []tilestore.IndexedLeaf{leaf(0)}}))
	err := b.Commit(context.Background(), &tilestore.Commit{Leaves: []tilestore.IndexedLeaf{leaf(1), leaf(2)}})
	require.Error(t, err)
	require.Equal(t, uint64(1), b.index.len())
	require.Equal(t, uint64(1), b.leaves.len())
	_, err = b.ReadIndex(context.Background(), leaf(1).Hash)
	require.ErrorIs(t, err, ledger.ErrNotFound)
}

// Through a Log: an entry whose leaf hash collides with an earlier one's in
// the index's table gets an index and a receipt of its own, and retrying
// either entry returns its original index.
func TestLogDedupWithCollidingLeafHashes(t *testing.T) {
	ctx := context.Background()
	k := newKeys(t)
	st := New()
	defer st.Close()
	l, err := ledger.Open(ctx, ledger.Config{Store: st, Signer: k.signer, Origin: origin, Now: testNow})
	require.NoError(t, err)
	defer l.Close()

	leafHash := func(i uint64) merkle.Hash {
		data, err := entry("collide", int(i)).MarshalBinary()
		require.NoError(t, err)
		return merkle.HashLeaf(data)
	}
	a, b := collision(t, st.b.index, leafHash)

	first := map[uint64]uint64{}
	for _, i := range []uint64{a, b} {
		rc, err := l.Append(ctx, entry("collide", int(i)))
		require.NoError(t, err)
		require.False(t, rc.Existed, "entry %d is new", i)
		first[i] = rc.Index
	}
	require.NotEqual(t, first[a], first[b])
	for _, i := range []uint64{b, a} {
		rc, err := l.Append(ctx, entry("collide", int(i)))
		require.NoError(t, err)
		require.True(t, rc.Existed, "entry %d again", i)
		require.Equal(t, first[i], rc.Index)
		c, _, err := ledger.OpenCheckpoint(rc.Checkpoint, origin, k.v)
		require.NoError(t, err)
		require.NoError(t, merkle.VerifyInclusion(merkle.HashLeaf(rc.Leaf), rc.Index, c.Size, rc.Proof, c.Root))
	}
	require.Equal(t, uint64(2), st.Head().Size)
}

// BenchmarkHashIndex compares the index with the Go map it replaced, in
// one run: adding leaf hashes one by one up to a million, and looking up
// hashes that are not there (every new entry's dedup check) in an index of
// a million. Report the ratios of the two impls.
func BenchmarkHashIndex(b *testing.B) {
	const size = 1 << 20
	hashes := make([]merkle.Hash, size)
	for i := range hashes {
		hashes[i] = testHash(uint64(i))
	}
	absent := make([]merkle.Hash, 1<<16)
	for i := range absent {
		absent[i] = testHash(uint64(size + i))
	}
	b.Run("op=add/impl=index", func(b *testing.B) {
		x := newHashIndex()
		for i := 0; b.Loop(); i++ {
			if i%size == 0 {
				x = newHashIndex()
			}
			x.add(hashes[i%size])
		}
	})
	b.Run("op=add/impl=map", func(b *testing.B) {
		m := map[merkle.Hash]uint64{}
		for i := 0; b.Loop(); i++ {
			if i%size == 0 {
				m = map[merkle.Hash]uint64{}
			}
			m[hashes[i%size]] = uint64(i % size)
		}
	})
	x := newHashIndex()
	m := make(map[merkle.Hash]uint64)
	for i, h := range hashes {
		x.add(h)
		m[h] = uint64(i)
	}
	runtime.GC() // not during the lookups: building both left much garbage
	b.Run("op=get-absent/impl=index", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, ok := x.get(absent[i%len(absent)]); ok {
				b.Fatal("found an absent hash")
			}
		}
	})
	b.Run("op=get-absent/impl=map", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, ok := m[absent[i%len(absent)]]; ok {
				b.Fatal("found an absent hash")
			}
		}
	})
}
