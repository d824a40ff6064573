package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

// Reference RFC 6962 tree (section 2.1), written from the RFC's recursive
// definitions and independent of package merkle's proof code.

func refLargestPow2Below(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}

func refRoot(leaves [][]byte) merkle.Hash {
	switch n := len(leaves); n {
	case 0:
		return merkle.EmptyRoot()
	case 1:
		return merkle.HashLeaf(leaves[0])
	default:
		k := refLargestPow2Below(n)
		return merkle.HashChildren(refRoot(leaves[:k]), refRoot(leaves[k:]))
	}
}

func refInclusion(m int, leaves [][]byte) []merkle.Hash {
	n := len(leaves)
	if n <= 1 {
		return nil
	}
	k := refLargestPow2Below(n)
	if m < k {
		return append(refInclusion(m, leaves[:k]), refRoot(leaves[k:]))
	}
	return append(refInclusion(m-k, leaves[k:]), refRoot(leaves[:k]))
}

func refSubproof(m int, leaves [][]byte, complete bool) []merkle.Hash {
	n := len(leaves)
	if m == n {
		if complete {
			return nil
		}
		return []merkle.Hash{refRoot(leaves)}
	}
	k := refLargestPow2Below(n)
	if m <= k {
		return append(refSubproof(m, leaves[:k], complete), refRoot(leaves[k:]))
	}
	return append(refSubproof(m-k, leaves[k:], false), refRoot(leaves[:k]))
}

func refConsistency(m int, leaves [][]byte) []merkle.Hash {
	if m == 0 || m == len(leaves) {
		return nil
	}
	return refSubproof(m, leaves, true)
}

// testLog is an in-memory log that signs and cosigns checkpoints.
type testLog struct {
	t         testing.TB
	origin    string
	signer    *Signer
	vkey      string
	cosigners []*Cosigner
	leaves    [][]byte
	entries   []*Entry
}

func newTestLog(t testing.TB, witnesses int) *testLog {
	t.Helper()
	s, vkey := newTestKey(t, testOrigin)
	l := &testLog{t: t, origin: testOrigin, signer: s, vkey: vkey}
	for i := range witnesses {
		c, _ := newTestCosigner(t, fmt.Sprintf("witness%d.example", i))
		l.cosigners = append(l.cosigners, c)
	}
	return l
}

func (l *testLog) witnessKeys() []string {
	var keys []string
	for _, c := range l.cosigners {
		keys = append(keys, c.VerifierKey())
	}
	return keys
}

func testEntry(i int) *Entry {
	e := validEntry()
	e.Writer = fmt.Sprintf("did:hl:writer-%d", i)
	e.Digest[1] = byte(i)
	return e
}

func (l *testLog) appendN(n int) {
	for range n {
		e := testEntry(len(l.leaves))
		b, err := e.MarshalBinary()
		require.NoError(l.t, err)
		l.leaves = append(l.leaves, b)
		l.entries = append(l.entries, e)
	}
}

// testLogTime is the signed time of testLog's checkpoints: after the times
// of the entries of the tests (2026-11-22 10:00 and 12:00:0x).
var testLogTime = time.Date(2026, 11, 22, 12, 1, 0, 0, time.UTC)

// checkpoint returns the checkpoint of the first size leaves, cosigned by
// the first cosigs cosigners.
func (l *testLog) checkpoint(size, cosigs int) []byte {
	signed, err := SignCheckpoint(l.signer, Checkpoint{Origin: l.origin, Size: uint64(size), Root: refRoot(l.leaves[:size])}, testLogTime)
	require.NoError(l.t, err)
	for _, c := range l.cosigners[:cosigs] {
		signed, err = c.Cosign(signed, time.Unix(1800000000, 0))
		require.NoError(l.t, err)
	}
	return signed
}

func (l *testLog) receipt(index, size int) *Receipt {
	return &Receipt{
		Index:      uint64(index),
		Leaf:       bytes.Clone(l.leaves[index]),
		Proof:      refInclusion(index, l.leaves[:size]),
		Checkpoint: l.checkpoint(size, len(l.cosigners)),
	}
}

func (l *testLog) verifier(threshold int, trusted []byte) *Verifier {
	v, err := NewVerifier(VerifierConfig{
		Origin: l.origin, LogKey: l.vkey, Witnesses: l.witnessKeys(),
		WitnessThreshold: threshold, Trusted: trusted,
	})
	require.NoError(l.t, err)
	return v
}

func TestVerifyReceiptAllSizes(t *testing.T) {
	l := newTestLog(t, 0)
	l.appendN(17)
	v := l.verifier(0, nil)
	for size := 1; size <= 17; size++ {
		for i := range size {
			e, err := v.VerifyReceipt(l.receipt(i, size))
			require.NoError(t, err, "index %d size %d", i, size)
			require.Equal(t, l.entries[i], e)
		}
	}
}

func TestVerifyReceiptRejects(t *testing.T) {
	l := newTestLog(t, 0)
	l.appendN(11)
	good := l.receipt(5, 11)

	otherLog := newTestLog(t, 0)
	otherLog.leaves, otherLog.entries = l.leaves, l.entries

	tests := []struct {
		name   string
		mutate func(r *Receipt)
		want   error
	}{
		{"forged signature", func(r *Receipt) {
			// Signed by another key under the log's own name.
			r.Checkpoint = otherLog.checkpoint(11, 0)
		}, ErrBadSignature},
		{"wrong origin", func(r *Receipt) {
			otherOrigin := *l
			otherOrigin.origin = "other.example/log"
			r.Checkpoint = otherOrigin.checkpoint(11, 0)
		}, ErrWrongOrigin},
		{"tampered checkpoint root", func(r *Receipt) {
			cp := string(r.Checkpoint)
			root := refRoot(l.leaves).String()
			r.Checkpoint = []byte(strings.Replace(cp, root, refRoot(l.leaves[:10]).String(), 1))
		}, ErrBadSignature},
		{"unsigned checkpoint", func(r *Receipt) { r.Checkpoint = Checkpoint{Origin: testOrigin, Size: 11}.Marshal() }, ErrMalformed},
		{"empty leaf", func(r *Receipt) { r.Leaf = nil }, ErrInvalidProof},
		{"other leaf", func(r *Receipt) { r.Leaf = bytes.Clone(l.leaves[4]) }, ErrInvalidProof},
		{"index past size", func(r *Receipt) { r.Index = 11 }, ErrInvalidProof},
		{"other index", func(r *Receipt) { r.Index = 4 }, ErrInvalidProof},
		{"proof too short", func(r *Receipt) { r.Proof = r.Proof[:len(r.Proof)-1] }, ErrInvalidProof},
		{"proof too long", func(r *Receipt) { r.Proof = append(r.Proof, merkle.Hash{}) }, ErrInvalidProof},
		{"no proof", func(r *Receipt) { r.Proof = nil }, ErrInvalidProof},
		{"huge proof", func(r *Receipt) { r.Proof = make([]merkle.Hash, 100) }, ErrInvalidProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := l.verifier(0, nil)
			r := *good
			r.Proof = append([]merkle.Hash(nil), good.Proof...)
			tt.mutate(&r)
			_, err := v.VerifyReceipt(&r)
			require.ErrorIs(t, err, tt.want)
		})
	}

	t.Run("wrong key", func(t *testing.T) {
		v := otherLog.verifier(0, nil)
		_, err := v.VerifyReceipt(good)
		require.ErrorIs(t, err, ErrBadSignature)
	})
	t.Run("nil receipt", func(t *testing.T) {
		_, err := l.verifier(0, nil).VerifyReceipt(nil)
		require.ErrorIs(t, err, ErrMalformed)
	})
}

func TestVerifyReceiptTamperedBytes(t *testing.T) {
	l := newTestLog(t, 0)
	l.appendN(6)
	v := l.verifier(0, nil)
	good := l.receipt(3, 6)
	for i := range good.Leaf {
		r := *good
		r.Leaf = bytes.Clone(good.Leaf)
		r.Leaf[i] ^= 0x01
		_, err := v.VerifyReceipt(&r)
		require.ErrorIs(t, err, ErrInvalidProof, "leaf byte %d", i)
	}
	for h := range good.Proof {
		for i := range merkle.HashSize {
			r := *good
			r.Proof = append([]merkle.Hash(nil), good.Proof...)
			r.Proof[h][i] ^= 0x80
			_, err := v.VerifyReceipt(&r)
			require.ErrorIs(t, err, ErrInvalidProof, "proof hash %d byte %d", h, i)
		}
	}
}

func TestVerifyReceiptUndecodableLeaf(t *testing.T) {
	l := newTestLog(t, 0)
	l.appendN(2)
	l.leaves = append(l.leaves, []byte("not an entry"))
	_, err := l.verifier(0, nil).VerifyReceipt(l.receipt(2, 3))
	require.ErrorIs(t, err, ErrMalformed)
}

func TestCosignatureThresholds(t *testing.T) {
	l := newTestLog(t, 3)
	l.appendN(4)
	tests := []struct {
		threshold, cosigs int
		ok                bool
	}{
		{1, 0, false}, {1, 1, true}, {2, 1, false}, {2, 2, true}, {2, 3, true},
		{3, 2, false}, {3, 3, true}, {0, 2, false}, {0, 3, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d of 3 with %d", tt.threshold, tt.cosigs), func(t *testing.T) {
			v := l.verifier(tt.threshold, nil)
			r := l.receipt(1, 4)
			r.Checkpoint = l.checkpoint(4, tt.cosigs)
			_, err := v.VerifyReceipt(r)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBadSignature)
			var qe *QuorumError
			require.ErrorAs(t, err, &qe)
			require.Equal(t, tt.cosigs, qe.Valid)
		})
	}

	t.Run("impostors and repeats do not count", func(t *testing.T) {
		v := l.verifier(2, nil)
		signed := l.checkpoint(4, 1)
		impostor, _ := newTestCosigner(t, "witness1.example")
		signed, err := impostor.Cosign(signed, time.Now())
		require.NoError(t, err)
		// The same witness's line again, with another timestamp.
		line, err := l.cosigners[0].SignatureLine(l.checkpoint(4, 0)[:strings.Index(string(signed), "\n\n")+1], time.Unix(5, 0))
		require.NoError(t, err)
		signed = append(signed, line...)
		r := l.receipt(1, 4)
		r.Checkpoint = signed
		_, err = v.VerifyReceipt(r)
		var qe *QuorumError
		require.ErrorAs(t, err, &qe)
		require.Equal(t, 1, qe.Valid)
	})
	t.Run("config errors", func(t *testing.T) {
		for _, cfg := range []VerifierConfig{
			{Origin: testOrigin, LogKey: l.vkey, Witnesses: l.witnessKeys(), WitnessThreshold: 4},
			{Origin: testOrigin, LogKey: l.vkey, Witnesses: l.witnessKeys(), WitnessThreshold: -1},
			{Origin: testOrigin, LogKey: l.vkey, Witnesses: append(l.witnessKeys(), l.witnessKeys()[0])},
			{Origin: testOrigin, LogKey: l.vkey, Witnesses: []string{l.vkey}},
			{Origin: testOrigin, LogKey: l.witnessKeys()[0]},
			{Origin: "", LogKey: l.vkey},
			{Origin: testOrigin, LogKey: l.vkey, Trusted: []byte("junk")},
			{Origin: testOrigin, LogKey: l.vkey, Witnesses: l.witnessKeys(), Trusted: l.checkpoint(4, 2)},
		} {
			_, err := NewVerifier(cfg)
			require.Error(t, err)
		}
	})
}

func TestAdvance(t *testing.T) {
	l := newTestLog(t, 1)
	l.appendN(20)
	v := l.verifier(0, nil)
	require.Nil(t, v.Trusted())

	// Trust on first use; a proof is refused when nothing is trusted.
	require.ErrorIs(t, v.Advance(l.checkpoint(3, 1), []merkle.Hash{{}}), ErrInvalidProof)
	require.NoError(t, v.Advance(l.checkpoint(3, 1), nil))
	prev := 3
	for _, size := range []int{3, 4, 8, 9, 16, 20} {
		require.NoError(t, v.Advance(l.checkpoint(size, 1), refConsistency(prev, l.leaves[:size])), "%d to %d", prev, size)
		cp, ok := v.TrustedCheckpoint()
		require.True(t, ok)
		require.Equal(t, uint64(size), cp.Size)
		prev = size
	}

	t.Run("rollback", func(t *testing.T) {
		err := v.Advance(l.checkpoint(19, 1), nil)
		require.ErrorIs(t, err, ErrStaleCheckpoint)
	})
	t.Run("same checkpoint with a proof", func(t *testing.T) {
		err := v.Advance(l.checkpoint(20, 1), []merkle.Hash{{}})
		require.ErrorIs(t, err, ErrInvalidProof)
		var ie *InconsistencyError
		require.False(t, errors.As(err, &ie))
	})
	t.Run("missing cosignature", func(t *testing.T) {
		require.ErrorIs(t, v.Advance(l.checkpoint(20, 0), nil), ErrBadSignature)
	})
	t.Run("Trusted returns a copy", func(t *testing.T) {
		got := v.Trusted()
		got[0] ^= 0xff
		require.Equal(t, l.checkpoint(20, 1)[:10], v.Trusted()[:10])
	})
}

func TestAdvanceRejectsInvalidProof(t *testing.T) {
	l := newTestLog(t, 0)
	l.appendN(13)
	trusted := l.checkpoint(5, 0)
	good := refConsistency(5, l.leaves)
	for i := range good {
		v := l.verifier(0, trusted)
		bad := append([]merkle.Hash(nil), good...)
		bad[i][0] ^= 1
		candidate := l.checkpoint(13, 0)
		err := v.Advance(candidate, bad)
		require.ErrorIs(t, err, ErrInvalidProof)
		var ie *InconsistencyError
		require.ErrorAs(t, err, &ie)
		require.Equal(t, trusted, ie.Trusted)
		require.Equal(t, candidate, ie.Candidate)
		require.Equal(t, bad, ie.Proof)
		require.Equal(t, trusted, v.Trusted(), "trusted checkpoint moved")
	}
	v := l.verifier(0, trusted)
	require.ErrorIs(t, v.Advance(l.checkpoint(13, 0), good[:len(good)-1]), ErrInvalidProof)
	require.ErrorIs(t, v.Advance(l.checkpoint(13, 0), nil), ErrInvalidProof)
	require.NoError(t, v.Advance(l.checkpoint(13, 0), good))
}

func TestFork(t *testing.T) {
	l := newTestLog(t, 0)
	l.appendN(8)
	trusted := l.checkpoint(8, 0)

	// The same log key signs another history of the same size.
	fork := *l
	fork.leaves = append([][]byte(nil), l.leaves...)
	fork.leaves[7] = testEntryBytes(t, 99)
	forked := fork.checkpoint(8, 0)

	t.Run("Advance", func(t *testing.T) {
		v := l.verifier(0, trusted)
		err := v.Advance(forked, nil)
		var ie *InconsistencyError
		require.ErrorAs(t, err, &ie)
		require.ErrorIs(t, err, ErrInvalidProof)
		require.Equal(t, trusted, ie.Trusted)
		require.Equal(t, forked, ie.Candidate)
		require.Nil(t, ie.Proof)
		require.Contains(t, err.Error(), "fork")
		require.Equal(t, trusted, v.Trusted())
	})
	t.Run("VerifyReceipt", func(t *testing.T) {
		v := l.verifier(0, trusted)
		// A receipt that is valid on its own in the forked tree.
		r := fork.receipt(7, 8)
		_, err := v.VerifyReceipt(r)
		var ie *InconsistencyError
		require.ErrorAs(t, err, &ie)
		require.Equal(t, trusted, ie.Trusted)
		require.Equal(t, r.Checkpoint, ie.Candidate)
		// Without a trusted checkpoint it verifies: forks need two views.
		_, err = l.verifier(0, nil).VerifyReceipt(r)
		require.NoError(t, err)
	})
	t.Run("larger fork", func(t *testing.T) {
		fork.appendN(4)
		v := l.verifier(0, trusted)
		// The honest proof from the honest tree does not connect the fork.
		l.appendN(4)
		err := v.Advance(fork.checkpoint(12, 0), refConsistency(8, l.leaves))
		var ie *InconsistencyError
		require.ErrorAs(t, err, &ie)
		require.Contains(t, err.Error(), "not proven consistent")
	})
}

func testEntryBytes(t testing.TB, i int) []byte {
	b, err := testEntry(i).MarshalBinary()
	require.NoError(t, err)
	return b
}

func TestVerifierConcurrent(t *testing.T) {
	l := newTestLog(t, 2)
	l.appendN(64)
	v := l.verifier(2, nil)
	cps := make([][]byte, 65)
	for size := 1; size <= 64; size++ {
		cps[size] = l.checkpoint(size, 2)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 64 {
				size := 1 + (i*7+g)%64
				idx := (i * 13) % size
				r := &Receipt{Index: uint64(idx), Leaf: l.leaves[idx], Proof: refInclusion(idx, l.leaves[:size]), Checkpoint: cps[size]}
				if _, err := v.VerifyReceipt(r); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		prev := 0
		for size := 1; size <= 64; size += 3 {
			var proof []merkle.Hash
			if prev > 0 {
				proof = refConsistency(prev, l.leaves[:size])
			}
			if err := v.Advance(cps[size], proof); err != nil {
				t.Error(err)
			}
			prev = size
		}
	})
	wg.Wait()
	cp, ok := v.TrustedCheckpoint()
	require.True(t, ok)
	require.Equal(t, uint64(64), cp.Size)
}

func BenchmarkVerifyReceipt(b *testing.B) {
	l := newTestLog(b, 0)
	l.appendN(1000)
	v := l.verifier(0, nil)
	r := l.receipt(517, 1000)
	_, err := v.VerifyReceipt(r)
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.VerifyReceipt(r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}

// BenchmarkVerifyReceiptNewCheckpoint cycles through more checkpoints than
// the Verifier remembers, so every call verifies the log signature and two
// cosignatures.
func BenchmarkVerifyReceiptNewCheckpoint(b *testing.B) {
	l := newTestLog(b, 2)
	l.appendN(1000)
	v := l.verifier(2, nil)
	var rs []*Receipt
	for size := 1000 - 2*verifiedCacheSize; size < 1000; size++ {
		rs = append(rs, l.receipt(517, size))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := v.VerifyReceipt(rs[i%len(rs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}

// TestVerifyReceiptAllocs checks that verifying a receipt against an
// already verified checkpoint allocates only the decoded entry: the proof
// check itself allocates nothing.
func TestVerifyReceiptAllocs(t *testing.T) {
	l := newTestLog(t, 1)
	l.appendN(300)
	v := l.verifier(0, nil)
	r := l.receipt(123, 300)
	_, err := v.VerifyReceipt(r)
	require.NoError(t, err)
	decode := testing.AllocsPerRun(50, func() {
		if _, err := UnmarshalEntry(r.Leaf); err != nil {
			t.Fatal(err)
		}
	})
	verify := testing.AllocsPerRun(50, func() {
		if _, err := v.VerifyReceipt(r); err != nil {
			t.Fatal(err)
		}
	})
	require.Equal(t, decode, verify)
}

func TestErrorMessages(t *testing.T) {
	q := &QuorumError{Valid: 1, Required: 2}
	require.Equal(t, "ledger: bad signature: 1 valid witness cosignatures, 2 required", q.Error())
	require.ErrorIs(t, q, ErrBadSignature)

	l := newTestLog(t, 0)
	l.appendN(3)
	ie := &InconsistencyError{Trusted: l.checkpoint(2, 0), Candidate: l.checkpoint(3, 0)}
	require.ErrorIs(t, ie, ErrInvalidProof)
	require.Equal(t, "ledger: invalid proof: checkpoint of size 3 is not proven consistent with trusted size 2", ie.Error())
	ie.Err = merkle.ErrInvalidProof
	require.ErrorIs(t, ie, merkle.ErrInvalidProof)
}
