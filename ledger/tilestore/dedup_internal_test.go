package tilestore

import (
	"math/rand/v2"
	"testing"

	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

func randomHashes(seed uint64, n int) []merkle.Hash {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]merkle.Hash, n)
	for i := range out {
		for j := 0; j < merkle.HashSize; j += 8 {
			v := r.Uint64()
			for k := range 8 {
				out[i][j+k] = byte(v >> (8 * k))
			}
		}
	}
	return out
}

func TestHashFilterSizes(t *testing.T) {
	for _, tc := range []struct{ size, words int }{
		{0, 0}, {-1, 0}, {63, 0}, {64, 8}, {127, 8}, {128, 16}, {1000, 64}, {1 << 20, 1 << 17},
	} {
		f := newHashFilter(tc.size)
		if tc.words == 0 {
			require.Nil(t, f, "size %d", tc.size)
			require.True(t, f.has(merkle.Hash{}), "a nil filter has every hash")
			continue
		}
		require.Len(t, f.words, tc.words, "size %d", tc.size)
	}
}

// A filter has no false negatives, says "maybe" to everything until it is
// ready, and has about the false-positive rate of a blocked Bloom filter
// of its load.
func TestHashFilter(t *testing.T) {
	const n = 100_000
	in, out := randomHashes(1, n), randomHashes(2, n)
	for _, tc := range []struct {
		size         int
		minFP, maxFP float64 // bounds on the false-positive rate at n hashes
	}{
		{64, 1, 1},             // one block, saturated
		{1 << 20, 0, 0.001},    // 84 bits a hash: (1-e^(-4/84))^4, about 5e-6
		{1 << 17, 0.007, 0.02}, // 10.5 bits a hash: about 0.010
		{1 << 16, 0.06, 0.11},  // 5.2 bits a hash: about 0.081
	} {
		f := newHashFilter(tc.size)
		for _, h := range in {
			f.add(h)
		}
		require.True(t, f.has(out[0]), "an unready filter says maybe")
		f.setReady()
		for i, h := range in {
			require.True(t, f.has(h), "size %d: hash %d added but not found", tc.size, i)
		}
		fp := 0
		for _, h := range out {
			if f.has(h) {
				fp++
			}
		}
		rate := float64(fp) / n
		require.GreaterOrEqual(t, rate, tc.minFP, "size %d", tc.size)
		require.LessOrEqual(t, rate, tc.maxFP, "size %d", tc.size)
		t.Logf("size %d: false-positive rate %.5f at %d hashes", tc.size, rate, n)
	}
}
