package tilestore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tilestore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// A leaf prechecked absent below some size and then appended by another
// caller is deduplicated exactly however many leaves were committed in
// between: while the in-memory window of recent leaves still covers the
// precheck (a few leaves later, in the newer or the older of its two
// generations) and after the window moved past it (thousands later), with
// and without a dedup filter.
func TestDedupAcrossRecentWindow(t *testing.T) {
	ctx := context.Background()
	sign := newSign(t)
	for _, filter := range []int{0, 1 << 20} {
		for _, between := range []int{1, 300, 4000, 5000, 9000, 70000} {
			t.Run(fmt.Sprintf("filter %d, %d leaves between", filter, between), func(t *testing.T) {
				st, err := tilestore.Open(ctx, tilestore.Config{Backend: newMapBackend(), DedupFilterSize: filter})
				require.NoError(t, err)
				defer st.Close()
				st.WaitDedupFilter()
				_, err = st.Add(ctx, benchLeaves("before", 10, 0), sign)
				require.NoError(t, err)
				target := benchLeaves("target", 1, 0)[0]
				// The caller prechecked target at size 10; then the other
				// caller's copy and `between` more leaves were committed.
				_, _, absentBelow, err := st.Precheck(ctx, target.Hash)
				require.NoError(t, err)
				require.Equal(t, uint64(10), absentBelow)
				res, err := st.Add(ctx, []ledger.Leaf{target}, sign)
				require.NoError(t, err)
				require.Equal(t, uint64(10), res.Indices[0])
				for done := 0; done < between; done += 256 {
					_, err = st.Add(ctx, benchLeaves(fmt.Sprint("between", done), min(256, between-done), 0), sign)
					require.NoError(t, err)
				}
				head := st.Head()
				target.AbsentBelow = absentBelow
				res, err = st.Add(ctx, []ledger.Leaf{target}, sign)
				require.NoError(t, err)
				require.True(t, res.Existed[0], "the second append of target is a duplicate")
				require.Equal(t, uint64(10), res.Indices[0])
				require.Equal(t, head, st.Head(), "a duplicate adds nothing")
			})
		}
	}
}

// benchLeaves returns n distinct leaves (a few bytes each, unlike the
// entries of makeLeaves) whose names start with tag, AbsentBelow set.
func benchLeaves(tag string, n int, absentBelow uint64) []ledger.Leaf {
	out := make([]ledger.Leaf, n)
	for i := range out {
		data := fmt.Appendf(nil, "%s/%d", tag, i)
		out[i] = ledger.Leaf{Data: data, Hash: merkle.HashLeaf(data),
			Subject: ledger.DeriveSubjectTag("tilestore", fmt.Sprint(i%7)), AbsentBelow: absentBelow}
	}
	return out
}

// BenchmarkAdd measures the engine's own work per leaf over a backend in
// maps: batches of 128 leaves, each prechecked one batch earlier (as
// ledger.Log's callers are), with a dedup filter. Signing is a stub that
// formats a checkpoint without a signature, so that it does not dominate.
func BenchmarkAdd(b *testing.B) {
	ctx := context.Background()
	st, err := tilestore.Open(ctx, tilestore.Config{Backend: newMapBackend(), DedupFilterSize: 64 << 20})
	require.NoError(b, err)
	defer st.Close()
	st.WaitDedupFilter()
	skey, _, err := ledger.GenerateKey("test.healthledger.example/tilestore")
	require.NoError(b, err)
	s, err := ledger.NewSigner(skey)
	require.NoError(b, err)
	sign := func(h ledger.TreeHead) ([]byte, error) {
		return ledger.SignCheckpoint(s, ledger.Checkpoint{Origin: "test.healthledger.example/tilestore", Size: h.Size, Root: h.Root}, time.Now())
	}
	const batch = 128
	batches := make([][]ledger.Leaf, 64)
	for i := range batches {
		batches[i] = benchLeaves(fmt.Sprint("bench", i), batch, 0)
	}
	bases := make([][]merkle.Hash, len(batches))
	for i, ls := range batches {
		for _, l := range ls {
			bases[i] = append(bases[i], l.Hash)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ls := batches[i%len(batches)]
		size := st.Head().Size
		for j := range ls {
			// Fresh, well spread hashes each round, as new entries have:
			// the base hash with its first 16 bytes (which the dedup
			// filter reads) mixed with the round.
			ls[j].Hash = bases[i%len(batches)][j]
			r := mix64(uint64(i / len(batches)))
			binary.LittleEndian.PutUint64(ls[j].Hash[:8], binary.LittleEndian.Uint64(ls[j].Hash[:8])^r)
			binary.LittleEndian.PutUint64(ls[j].Hash[8:16], binary.LittleEndian.Uint64(ls[j].Hash[8:16])^mix64(r))
			ls[j].AbsentBelow = size - min(size, batch)
		}
		if _, err := st.Add(ctx, ls, sign); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/leaf")
}

// mix64 is SplitMix64's finalizer: distinct inputs give distinct, well
// spread outputs.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
