package storetest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// rfc6962Vectors are Certificate Transparency's published RFC 6962 test
// vectors, shared with package merkle.
type rfc6962Vectors struct {
	Leaves    []string `json:"leaves"`
	Roots     []string `json:"roots"`
	Inclusion []struct {
		Index, Size uint64
		Proof       []string
	} `json:"inclusion"`
	Consistency []struct {
		First, Second uint64
		Proof         []string
	} `json:"consistency"`
}

func loadVectors(t *testing.T) rfc6962Vectors {
	t.Helper()
	data, err := os.ReadFile("../../merkle/testdata/rfc6962.json")
	require.NoError(t, err)
	var v rfc6962Vectors
	require.NoError(t, json.Unmarshal(data, &v))
	require.NotEmpty(t, v.Leaves)
	require.NotEmpty(t, v.Inclusion)
	require.NotEmpty(t, v.Consistency)
	return v
}

func hexHash(t *testing.T, s string) merkle.Hash {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	require.Len(t, b, merkle.HashSize)
	return merkle.Hash(b)
}

func hexHashes(t *testing.T, ss []string) []merkle.Hash {
	out := make([]merkle.Hash, len(ss))
	for i, s := range ss {
		out[i] = hexHash(t, s)
	}
	return out
}

// The reference tree the suite judges stores by reproduces the published
// RFC 6962 vectors.
func TestReferenceVectors(t *testing.T) {
	v := loadVectors(t)
	ref := newRefTree()
	for _, l := range v.Leaves {
		b, err := hex.DecodeString(l)
		require.NoError(t, err)
		ref.add(merkle.HashLeaf(b))
	}
	t.Run("roots", func(t *testing.T) {
		for n, want := range v.Roots {
			require.Equal(t, hexHash(t, want), ref.root(uint64(n)), "size %d", n)
		}
	})
	t.Run("inclusion", func(t *testing.T) {
		for _, c := range v.Inclusion {
			require.True(t, equalHashes(hexHashes(t, c.Proof), ref.inclusion(c.Index, c.Size)), "index %d size %d", c.Index, c.Size)
		}
	})
	t.Run("consistency", func(t *testing.T) {
		for _, c := range v.Consistency {
			require.True(t, equalHashes(hexHashes(t, c.Proof), ref.consistency(c.First, c.Second)), "%d to %d", c.First, c.Second)
		}
	})
}

// Every proof of the reference verifies with package merkle's verifiers, at
// every size up to 70 (all shapes of a few levels), and a proof for the
// wrong index or size does not.
func TestReferenceVerifies(t *testing.T) {
	ref := newRefTree()
	for i := range 70 {
		ref.add(merkle.HashLeaf([]byte{byte(i)}))
	}
	for n := uint64(1); n <= 70; n++ {
		for i := range n {
			p := ref.inclusion(i, n)
			require.NoError(t, merkle.VerifyInclusion(ref.leaves[i], i, n, p, ref.root(n)), "leaf %d size %d", i, n)
			if n > 1 {
				require.Error(t, merkle.VerifyInclusion(ref.leaves[i], (i+1)%n, n, p, ref.root(n)), "leaf %d size %d at the wrong index", i, n)
			}
		}
		for m := uint64(1); m <= n; m++ {
			p := ref.consistency(m, n)
			require.NoError(t, merkle.VerifyConsistency(m, n, p, ref.root(m), ref.root(n)), "%d to %d", m, n)
			if m < n {
				require.Error(t, merkle.VerifyConsistency(m, n, p, ref.root(m+1), ref.root(n)), "%d to %d with the wrong old root", m, n)
			}
		}
	}
}

// broken wraps a correct store and breaks one answer, to show that the
// suite's checks catch it.
type broken struct {
	ledger.Store
	inclusion   func([]merkle.Hash) []merkle.Hash
	consistency func([]merkle.Hash) []merkle.Hash
	root        func(merkle.Hash) merkle.Hash
}

func (b *broken) InclusionProof(ctx context.Context, i, n uint64) ([]merkle.Hash, error) {
	p, err := b.Store.InclusionProof(ctx, i, n)
	if err == nil && b.inclusion != nil {
		p = b.inclusion(p)
	}
	return p, err
}

func (b *broken) ConsistencyProof(ctx context.Context, m, n uint64) ([]merkle.Hash, error) {
	p, err := b.Store.ConsistencyProof(ctx, m, n)
	if err == nil && b.consistency != nil {
		p = b.consistency(p)
	}
	return p, err
}

func (b *broken) RootHash(ctx context.Context, n uint64) (merkle.Hash, error) {
	r, err := b.Store.RootHash(ctx, n)
	if err == nil && b.root != nil {
		r = b.root(r)
	}
	return r, err
}

func TestChecksCatchBrokenStores(t *testing.T) {
	ctx := context.Background()
	leaves := makeLeaves(t, "broken", 0, 300)
	st := memstore.New()
	defer st.Close()
	s := newSuite(t, Harness{Open: func(*testing.T) ledger.Store { return st }})
	_, err := st.Add(ctx, leaves, s.newSigner().Sign)
	require.NoError(t, err)
	ref := newRefTree()
	for _, l := range leaves {
		ref.add(l.Hash)
	}
	const i, m, n = 37, 100, 300
	require.NoError(t, checkInclusion(ctx, st, ref, i, n), "the correct store passes")
	require.NoError(t, checkConsistency(ctx, st, ref, m, n), "the correct store passes")
	require.NoError(t, checkRoot(ctx, st, ref, n), "the correct store passes")

	flip := func(p []merkle.Hash) []merkle.Hash {
		p = append([]merkle.Hash(nil), p...)
		p[len(p)-1][0] ^= 1
		return p
	}
	swap := func(p []merkle.Hash) []merkle.Hash {
		p = append([]merkle.Hash(nil), p...)
		p[0], p[1] = p[1], p[0]
		return p
	}
	tests := []struct {
		name  string
		store *broken
	}{
		{"flipped inclusion hash", &broken{inclusion: flip}},
		{"swapped inclusion hashes", &broken{inclusion: swap}},
		{"short inclusion proof", &broken{inclusion: func(p []merkle.Hash) []merkle.Hash { return p[1:] }}},
		{"flipped consistency hash", &broken{consistency: flip}},
		{"extra consistency hash", &broken{consistency: func(p []merkle.Hash) []merkle.Hash { return append(p, p[0]) }}},
		{"wrong root", &broken{root: func(r merkle.Hash) merkle.Hash { r[31] ^= 1; return r }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.store.Store = st
			err := checkInclusion(ctx, tt.store, ref, i, n)
			err2 := checkConsistency(ctx, tt.store, ref, m, n)
			err3 := checkRoot(ctx, tt.store, ref, n)
			require.True(t, err != nil || err2 != nil || err3 != nil, "the suite must notice")
			if tt.store.inclusion != nil {
				require.Error(t, err)
			}
			if tt.store.consistency != nil {
				require.Error(t, err2)
			}
			if tt.store.root != nil {
				require.Error(t, err3)
			}
		})
	}
}

// A reader that sees a checkpoint move backwards or to an inconsistent
// tree reports it.
func TestCheckHeadMoves(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()
	s := newSuite(t, Harness{Open: func(*testing.T) ledger.Store { return st }})
	leaves := makeLeaves(t, "heads", 0, 20)
	res10, err := st.Add(ctx, leaves[:10], s.newSigner().Sign)
	require.NoError(t, err)
	res20, err := st.Add(ctx, leaves[10:], s.newSigner().Sign)
	require.NoError(t, err)

	require.NoError(t, checkHeadMoves(ctx, st, nil, res20.Head))
	require.NoError(t, checkHeadMoves(ctx, st, &res10.Head, res20.Head))
	require.Error(t, checkHeadMoves(ctx, st, &res20.Head, res10.Head), "backwards")
	forged := res10.Head
	forged.Root[0] ^= 1
	require.Error(t, checkHeadMoves(ctx, st, &forged, res20.Head), "inconsistent earlier head")
	require.Error(t, checkHeadMoves(ctx, st, &res10.Head, forged), "a head the store does not have")
}

// The suite's own SignFunc produces checkpoints the suite accepts, for the
// suite's origin only.
func TestSuiteCheckpoints(t *testing.T) {
	s := newSuite(t, Harness{Open: func(*testing.T) ledger.Store { return nil }})
	h := ledger.TreeHead{Size: 3, Root: merkle.HashLeaf([]byte("x"))}
	cp, err := s.newSigner().Sign(h)
	require.NoError(t, err)
	got, err := s.openCheckpoint(cp)
	require.NoError(t, err)
	require.Equal(t, h, got)
	bad := append([]byte(nil), cp...)
	// A byte of the log's note signature: the line after the body (the
	// last line is the log's timestamp).
	i := bytes.Index(bad, []byte("\n\n")) + 2
	i += bytes.IndexByte(bad[i:], '\n')
	bad[i-5] ^= 1
	_, err = s.openCheckpoint(bad)
	require.Error(t, err, "a bad signature is refused")
}
