package ledger_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/healthledger/healthledger/benchmarks/ledger/loadgen"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// The tests below run the body of every benchmark on a small input, so
// `go test ./...` checks that the benchmarks work without timing anything.

func TestEntryMakerEncodesExactLeafSize(t *testing.T) {
	for _, size := range []int{proofLeafSize, leafSize, 4096} {
		m, err := newEntryMaker(size)
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, seq := range []uint64{0, 1, 255, 1 << 40} {
			data, err := m.entry(seq).MarshalBinary()
			require.NoError(t, err)
			require.Len(t, data, size)
			require.False(t, seen[string(data)], "entries must be distinct")
			seen[string(data)] = true
		}
	}
	_, err := newEntryMaker(100)
	require.Error(t, err, "no entry encodes to 100 bytes")
}

func TestAppendSmoke(t *testing.T) {
	tests := []struct {
		kind    string
		writers int
	}{
		{"mem", 1}, {"mem", 64}, {"pebble", 1}, {"pebble", 64},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			ctx := context.Background()
			rig, err := newAppendRig(ctx, tt.kind, t.TempDir(), tt.writers)
			require.NoError(t, err)
			res, err := loadgen.Measure(ctx, 200, tt.writers, rig.op)
			require.NoError(t, err)
			require.Len(t, res.Latencies, 200)
			cp, err := rig.log.Checkpoint(ctx)
			require.NoError(t, err)
			require.Contains(t, string(cp), "\n200\n", "every append is in the tree")
			require.GreaterOrEqual(t, rig.batches(), 1)
			require.LessOrEqual(t, rig.batches(), 200)
			if tt.writers == 1 {
				require.Equal(t, 200, rig.batches(), "one writer commits one entry per batch")
			}
			// Every batch's stages were timed (commit-ms, publish-ms).
			require.EqualValues(t, rig.batches(), rig.stages.commit.n.Load())
			require.EqualValues(t, rig.batches(), rig.stages.publish.n.Load())
			require.Positive(t, rig.stages.commit.meanMillis())
			require.Positive(t, rig.stages.publish.meanMillis())
			require.NoError(t, rig.close())
		})
	}
}

func TestProofAndVerifySmoke(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			p, err := buildProofLog(ctx, kind, t.TempDir(), 2048, 300)
			require.NoError(t, err)
			defer p.close()
			_, err = loadgen.Measure(ctx, 500, 2, p.proofOp)
			require.NoError(t, err)

			f, err := newVerifyFixture(ctx, p, 2*distinctCheckpoints)
			require.NoError(t, err)
			require.NotEqual(t, f.distinct[0].Checkpoint, f.distinct[1].Checkpoint)
			require.Equal(t, f.distinct[0].Checkpoint, f.distinct[distinctCheckpoints].Checkpoint)
			v, err := f.newVerifier()
			require.NoError(t, err)
			for i, r := range f.full {
				require.NoError(t, merkle.VerifyInclusion(f.leafHashes[i], r.Index, p.size, r.Proof, f.root))
				e, err := v.VerifyReceipt(r)
				require.NoError(t, err)
				require.Equal(t, p.maker.entry(r.Index).Digest, e.Digest, "entry %d", r.Index)
				_, err = v.VerifyReceipt(f.distinct[i])
				require.NoError(t, err)
			}
			// A receipt for the wrong index must not verify.
			bad := *f.full[0]
			bad.Index++
			_, err = v.VerifyReceipt(&bad)
			require.ErrorIs(t, err, ledger.ErrInvalidProof)
		})
	}
}

func TestLimitsSmoke(t *testing.T) {
	opts := rawPebbleOptions()
	defer opts.Cache.Unref()
	db, err := pebble.Open(t.TempDir(), opts)
	require.NoError(t, err)
	defer db.Close()
	lat, err := writeRaw(db, 600, rawBatch)
	require.NoError(t, err)
	require.Len(t, lat, 3, "600 writes in batches of 256")
	v, closer, err := db.Get(rawKey(599))
	require.NoError(t, err)
	require.Len(t, v, leafSize)
	require.EqualValues(t, 599, binary.BigEndian.Uint64(v))
	require.NoError(t, closer.Close())
	_, _, err = db.Get(rawKey(600))
	require.ErrorIs(t, err, pebble.ErrNotFound)
}
