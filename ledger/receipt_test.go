package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

var updateReceiptVectors = flag.Bool("update-receipt-vectors", false, "rewrite testdata/receipts.json")

const receiptVectorsFile = "testdata/receipts.json"

func TestReceiptTextFormat(t *testing.T) {
	l := newTestLog(t, 1)
	l.appendN(5)
	r := l.receipt(2, 5)
	r.Existed = true
	text, err := r.MarshalText()
	require.NoError(t, err)

	lines := strings.Split(string(text), "\n")
	require.Equal(t, "c2sp.org/tlog-proof@v1", lines[0])
	require.Equal(t, "extra "+b64(r.Leaf), lines[1])
	require.Equal(t, "index 2", lines[2])
	require.Len(t, r.Proof, 3)
	for i, h := range r.Proof {
		require.Equal(t, h.String(), lines[3+i])
	}
	require.Equal(t, "", lines[6])
	require.Equal(t, string(r.Checkpoint), strings.Join(lines[7:], "\n"))

	got, err := ParseReceipt(text)
	require.NoError(t, err)
	r.Existed = false // not part of the proof
	require.Equal(t, r, got)
	again, err := got.MarshalText()
	require.NoError(t, err)
	require.Equal(t, text, again)

	// Size 1: an empty proof.
	one := l.receipt(0, 1)
	text, err = one.MarshalText()
	require.NoError(t, err)
	require.Contains(t, string(text), "index 0\n\n"+testOrigin+"\n1\n")
	got, err = ParseReceipt(text)
	require.NoError(t, err)
	require.Empty(t, got.Proof)
}

func TestParseReceiptRejects(t *testing.T) {
	l := newTestLog(t, 0)
	l.appendN(5)
	text, err := l.receipt(2, 5).MarshalText()
	require.NoError(t, err)
	good := string(text)
	lines := strings.SplitN(good, "\n", 7)
	join := func(ls ...string) string { return strings.Join(ls, "\n") }
	h, idx, extra, p0, p1, p2, rest := lines[0], lines[2], lines[1], lines[3], lines[4], lines[5], lines[6]

	tests := []struct{ name, text, field string }{
		{"empty", "", "receipt.header"},
		{"other header", join("c2sp.org/tlog-proof@v2", extra, idx, p0, p1, p2, rest), "receipt.header"},
		{"header with trailing bytes", join("c2sp.org/tlog-proof@v10", extra, idx, p0, p1, p2, rest), "receipt.header"},
		{"header with a trailing space", join("c2sp.org/tlog-proof@v1 ", extra, idx, p0, p1, p2, rest), "receipt.header"},
		{"missing extra", join(h, idx, p0, p1, p2, rest), "receipt.extra"},
		{"empty extra", join(h, "extra ", idx, p0, p1, p2, rest), "receipt.extra"},
		{"bad base64 extra", join(h, "extra !!!!", idx, p0, p1, p2, rest), "receipt.extra"},
		{"extra with carriage return", join(h, extra+"\r", idx, p0, p1, p2, rest), "receipt.extra"},
		{"extra truncated", join(h, extra[:len(extra)-1], idx, p0, p1, p2, rest), "receipt.extra"},
		{"missing index", join(h, extra, p0, p1, p2, rest), "receipt.index"},
		{"leading zero index", join(h, extra, "index 02", p0, p1, p2, rest), "receipt.index"},
		{"negative index", join(h, extra, "index -2", p0, p1, p2, rest), "receipt.index"},
		{"index past size", join(h, extra, "index 5", p0, p1, p2, rest), "receipt.index"},
		{"double space", join(h, extra, "index  2", p0, p1, p2, rest), "receipt.index"},
		{"bad proof hash", join(h, extra, idx, p0, "AAAA", p2, rest), "receipt.proof"},
		{"no blank line", join(h, extra, idx, p0, p1, p2), "receipt.proof"},
		{"too many hashes", join(h, extra, idx, strings.Repeat(p0+"\n", MaxProofHashes+1)+p1, p2, rest), "receipt.proof"},
		{"no checkpoint", join(h, extra, idx, p0, p1, p2, "\n"), "checkpoint"},
		{"unsigned checkpoint", join(h, extra, idx, p0, p1, p2, "\no\n5\n"+p0+"\n"), "checkpoint"},
		{"checkpoint control char", join(h, extra, idx, p0, p1, p2, "\n\x01"+rest[1:]), "checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseReceipt([]byte(tt.text))
			require.Error(t, err)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
		})
	}
	_, err = ParseReceipt(make([]byte, MaxReceiptSize+1))
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestMarshalReceiptRejects(t *testing.T) {
	l := newTestLog(t, 0)
	l.appendN(3)
	tests := []struct {
		name   string
		mutate func(r *Receipt)
	}{
		{"empty leaf", func(r *Receipt) { r.Leaf = nil }},
		{"huge leaf", func(r *Receipt) { r.Leaf = make([]byte, MaxEntrySize+1) }},
		{"huge proof", func(r *Receipt) { r.Proof = make([]merkle.Hash, MaxProofHashes+1) }},
		{"index past size", func(r *Receipt) { r.Index = 3 }},
		{"no checkpoint", func(r *Receipt) { r.Checkpoint = nil }},
		{"unsigned checkpoint", func(r *Receipt) { r.Checkpoint = Checkpoint{Origin: "o", Size: 3}.Marshal() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := l.receipt(1, 3)
			tt.mutate(r)
			_, err := r.MarshalText()
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
		})
	}
	var nilReceipt *Receipt
	_, err := nilReceipt.MarshalText()
	require.ErrorIs(t, err, ErrMalformed)
}

func FuzzParseReceipt(f *testing.F) {
	vs := readReceiptVectors(f)
	for _, c := range vs.Cases {
		f.Add([]byte(c.Receipt))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		r, err := ParseReceipt(text)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := r.MarshalText()
		if err != nil {
			t.Fatalf("parsed receipt does not marshal: %v", err)
		}
		if !bytes.Equal(again, text) {
			t.Fatalf("round trip changed the receipt:\n in  %q\n out %q", text, again)
		}
	})
}

// receiptVectors is the layout of testdata/receipts.json: a log and its
// witnesses, with receipts that must verify or fail as stated.
type receiptVectors struct {
	Comment          string          `json:"comment"`
	Origin           string          `json:"origin"`
	LogKey           string          `json:"log_key"`
	Witnesses        []string        `json:"witnesses"`
	WitnessThreshold int             `json:"witness_threshold"`
	Cases            []receiptVector `json:"cases"`
}

type receiptVector struct {
	Name     string `json:"name"`
	Receipt  string `json:"receipt"`
	Error    string `json:"error"` // empty: verifies
	LeafHash string `json:"leaf_hash,omitempty"`
}

var receiptErrorNames = map[string]error{
	"malformed":     ErrMalformed,
	"bad_signature": ErrBadSignature,
	"invalid_proof": ErrInvalidProof,
	"no_timestamp":  ErrNoTimestamp,
	"clock_skew":    ErrClockSkew,
}

func readReceiptVectors(t testing.TB) receiptVectors {
	t.Helper()
	data, err := os.ReadFile(receiptVectorsFile)
	require.NoError(t, err)
	var vs receiptVectors
	require.NoError(t, json.Unmarshal(data, &vs))
	require.NotEmpty(t, vs.Cases, "no receipt vectors loaded")
	return vs
}

func TestReceiptVectors(t *testing.T) {
	if *updateReceiptVectors {
		writeReceiptVectors(t)
	}
	vs := readReceiptVectors(t)
	v, err := NewVerifier(VerifierConfig{Origin: vs.Origin, LogKey: vs.LogKey, Witnesses: vs.Witnesses, WitnessThreshold: vs.WitnessThreshold})
	require.NoError(t, err)
	for _, c := range vs.Cases {
		t.Run(c.Name, func(t *testing.T) {
			r, err := ParseReceipt([]byte(c.Receipt))
			if err == nil {
				var e *Entry
				e, err = v.VerifyReceipt(r)
				if err == nil {
					lh, herr := e.LeafHash()
					require.NoError(t, herr)
					require.Equal(t, c.LeafHash, fmt.Sprintf("%x", lh[:]))
				}
			}
			if c.Error == "" {
				require.NoError(t, err)
				return
			}
			want, ok := receiptErrorNames[c.Error]
			require.True(t, ok, "unknown error %q", c.Error)
			require.ErrorIs(t, err, want)
		})
	}
}

// detReader is a deterministic byte stream for reproducible vector keys.
type detReader struct {
	seed string
	n    uint64
	buf  []byte
}

func (r *detReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		var ctr [8]byte
		binary.BigEndian.PutUint64(ctr[:], r.n)
		r.n++
		sum := sha256.Sum256(append([]byte(r.seed), ctr[:]...))
		r.buf = append(r.buf, sum[:]...)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func fixedCosigner(t testing.TB, name, seed string) *Cosigner {
	s := sha256.Sum256([]byte(seed))
	pub := ed25519.NewKeyFromSeed(s[:]).Public().(ed25519.PublicKey)
	c, err := NewCosigner(fmt.Sprintf("%s%s+%08x+%s", signerKeyPrefix, name, cosignerKeyID(name, pub), encodeAlgKey(s[:])))
	require.NoError(t, err)
	return c
}

// writeReceiptVectors regenerates testdata/receipts.json (go test -run
// TestReceiptVectors -update-receipt-vectors) from fixed keys.
func writeReceiptVectors(t *testing.T) {
	const origin = "ledger.example.org/vectors"
	skey, vkey, err := note.GenerateKey(&detReader{seed: "healthledger receipt vectors log key"}, origin)
	require.NoError(t, err)
	signer, err := NewSigner(skey)
	require.NoError(t, err)
	l := &testLog{t: t, origin: origin, signer: signer, vkey: vkey,
		cosigners: []*Cosigner{
			fixedCosigner(t, "witness1.example", "healthledger receipt vectors witness 1"),
			fixedCosigner(t, "witness2.example", "healthledger receipt vectors witness 2"),
			fixedCosigner(t, "witness3.example", "healthledger receipt vectors witness 3"),
		}}
	for i := range 7 {
		e := testEntry(i)
		e.Time = time.Date(2026, 11, 22, 12, 0, i, 0, time.UTC)
		b, err := e.MarshalBinary()
		require.NoError(t, err)
		l.leaves = append(l.leaves, b)
	}
	vs := receiptVectors{
		Comment:          "healthledger receipts (C2SP tlog-proof with the leaf as extra data), see ../SPEC.md",
		Origin:           origin,
		LogKey:           vkey,
		Witnesses:        l.witnessKeys(),
		WitnessThreshold: 2,
	}
	add := func(name string, r *Receipt, text []byte, errName string) {
		if text == nil {
			text, err = r.MarshalText()
			require.NoError(t, err)
		}
		c := receiptVector{Name: name, Receipt: string(text), Error: errName}
		if errName == "" {
			lh := merkle.HashLeaf(r.Leaf)
			c.LeafHash = fmt.Sprintf("%x", lh[:])
		}
		vs.Cases = append(vs.Cases, c)
	}
	for _, ix := range [][2]int{{0, 1}, {3, 7}, {6, 7}} {
		add(fmt.Sprintf("index %d of %d", ix[0], ix[1]), l.receipt(ix[0], ix[1]), nil, "")
	}
	r := l.receipt(3, 7)
	r.Checkpoint = l.checkpoint(7, 1)
	add("one cosignature of two required", r, nil, "bad_signature")
	r = l.receipt(3, 7)
	r.Leaf = bytes.Clone(r.Leaf)
	r.Leaf[len(r.Leaf)-1] ^= 1
	add("tampered leaf", r, nil, "invalid_proof")
	r = l.receipt(3, 7)
	r.Index = 2
	add("wrong index", r, nil, "invalid_proof")
	r = l.receipt(3, 7)
	text, err := r.MarshalText()
	require.NoError(t, err)
	add("tampered checkpoint size", r, bytes.Replace(text, []byte("\n7\n"), []byte("\n8\n"), 1), "bad_signature")
	add("non-minimal index", r, bytes.Replace(text, []byte("index 3"), []byte("index 03"), 1), "malformed")
	// The log's timestamp line is the first line after its note signature.
	cp := l.checkpoint(7, 3)
	sigAt := bytes.Index(cp, []byte("\n\n")) + 2
	sigLine := bytes.IndexByte(cp[sigAt:], '\n') + sigAt + 1
	tsLine := bytes.IndexByte(cp[sigLine:], '\n') + sigLine + 1
	r = l.receipt(3, 7)
	r.Checkpoint = append(bytes.Clone(cp[:sigLine]), cp[tsLine:]...)
	add("checkpoint without the log's timestamp", r, nil, "no_timestamp")
	// An entry dated 6 minutes after the log's signed time for a checkpoint
	// that covers it.
	future := &testLog{t: t, origin: origin, signer: signer, vkey: vkey, cosigners: l.cosigners}
	for i := range 7 {
		e := testEntry(i)
		e.Time = testLogTime.Add(6 * time.Minute)
		b, err := e.MarshalBinary()
		require.NoError(t, err)
		future.leaves = append(future.leaves, b)
	}
	add("entry dated after its checkpoint by more than the skew", future.receipt(3, 7), nil, "clock_skew")

	out, err := json.MarshalIndent(vs, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(receiptVectorsFile, append(out, '\n'), 0o644))
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
