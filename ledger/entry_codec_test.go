package ledger

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
)

var updateEntryVectors = flag.Bool("update-entry-vectors", false, "rewrite testdata/entries.json")

const entryVectorsFile = "testdata/entries.json"

// entryVectors is the layout of testdata/entries.json.
type entryVectors struct {
	Comment string              `json:"comment"`
	Valid   []validEntryVector  `json:"valid"`
	Invalid []invalidEntryVecor `json:"invalid"`
}

type validEntryVector struct {
	Name          string `json:"name"`
	Kind          uint16 `json:"kind"`
	Subject       string `json:"subject"`
	Time          string `json:"time"`
	Digest        string `json:"digest"`
	Writer        string `json:"writer"`
	Body          string `json:"body"`
	Commitment    string `json:"payload_commitment,omitempty"`
	Salt          string `json:"payload_salt,omitempty"`
	Payload       string `json:"payload,omitempty"`
	Signature     string `json:"signature"`
	Encoding      string `json:"encoding"`
	SignedMessage string `json:"signed_message"`
	LeafHash      string `json:"leaf_hash"`
}

type invalidEntryVecor struct {
	Name     string `json:"name"`
	Encoding string `json:"encoding"`
	Error    string `json:"error"`
	Field    string `json:"field"`
}

var sentinelNames = map[string]error{
	"malformed":       ErrMalformed,
	"unknown_version": ErrUnknownVersion,
	"too_large":       ErrTooLarge,
	"invalid_entry":   ErrInvalidEntry,
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func (v validEntryVector) entry(t testing.TB) *Entry {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, v.Time)
	require.NoError(t, err)
	e := &Entry{Kind: Kind(v.Kind), Writer: v.Writer, Time: tm.UTC()}
	copy(e.Subject[:], mustHex(t, v.Subject))
	copy(e.Digest[:], mustHex(t, v.Digest))
	if v.Body != "" {
		e.Body = mustHex(t, v.Body)
	}
	if v.Signature != "" {
		e.Signature = mustHex(t, v.Signature)
	}
	if v.Commitment != "" {
		copy(e.PayloadCommitment[:], mustHex(t, v.Commitment))
		// The payload travels beside the leaf: check the commitment to it.
		p := &Payload{Data: mustHex(t, v.Payload)}
		copy(p.Salt[:], mustHex(t, v.Salt))
		require.Equal(t, e.PayloadCommitment, p.Commitment(), "the payload matches its commitment")
	}
	return e
}

func loadEntryVectors(t *testing.T) entryVectors {
	t.Helper()
	if *updateEntryVectors {
		writeEntryVectors(t)
	}
	data, err := os.ReadFile(entryVectorsFile)
	require.NoError(t, err)
	var vs entryVectors
	require.NoError(t, json.Unmarshal(data, &vs))
	require.NotEmpty(t, vs.Valid, "no valid vectors loaded")
	require.NotEmpty(t, vs.Invalid, "no invalid vectors loaded")
	return vs
}

func TestEntryVectors(t *testing.T) {
	vs := loadEntryVectors(t)
	for _, v := range vs.Valid {
		t.Run("valid/"+v.Name, func(t *testing.T) {
			e := v.entry(t)
			enc, err := e.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, v.Encoding, hex.EncodeToString(enc))

			msg, err := e.SignedMessage()
			require.NoError(t, err)
			require.Equal(t, v.SignedMessage, hex.EncodeToString(msg))

			lh, err := e.LeafHash()
			require.NoError(t, err)
			require.Equal(t, v.LeafHash, hex.EncodeToString(lh[:]))

			got, err := UnmarshalEntry(mustHex(t, v.Encoding))
			require.NoError(t, err)
			require.Equal(t, e, got)
		})
	}
	for _, v := range vs.Invalid {
		t.Run("invalid/"+v.Name, func(t *testing.T) {
			_, err := UnmarshalEntry(mustHex(t, v.Encoding))
			require.Error(t, err)
			want, ok := sentinelNames[v.Error]
			require.True(t, ok, "unknown error name %q in vector", v.Error)
			require.ErrorIs(t, err, want)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, v.Field, fe.Field)
		})
	}
}

// TestEntryLayoutByHand builds one encoding byte by byte from SPEC.md,
// independently of the encoder.
func TestEntryLayoutByHand(t *testing.T) {
	e := &Entry{
		Kind:      0x0102,
		Writer:    "did:x",
		Time:      time.Unix(0, 0x0102030405060708),
		Body:      []byte{0xaa, 0xbb},
		Signature: bytes.Repeat([]byte{0x55}, 200),
	}
	for i := range e.Subject {
		e.Subject[i] = 0x11
		e.Digest[i] = 0x22
	}
	var want []byte
	want = append(want, 'H', 'L', 'E', 0x01, 0x01, 0x02)
	want = append(want, bytes.Repeat([]byte{0x11}, 32)...)
	want = append(want, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08)
	want = append(want, bytes.Repeat([]byte{0x22}, 32)...)
	want = append(want, 5, 'd', 'i', 'd', ':', 'x')
	want = append(want, 2, 0xaa, 0xbb)
	want = append(want, 0xc8, 0x01) // 200 as a uvarint
	want = append(want, bytes.Repeat([]byte{0x55}, 200)...)

	got, err := e.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, want, got)

	msg, err := e.SignedMessage()
	require.NoError(t, err)
	unsigned := append([]byte("healthledger/entry-signature/v1\n"), want[:len(want)-202]...)
	unsigned = append(unsigned, 0)
	require.Equal(t, unsigned, msg)

	lh, err := e.LeafHash()
	require.NoError(t, err)
	require.Equal(t, merkle.HashLeaf(want), lh)
}

func validEntry() *Entry {
	e := &Entry{
		Kind:   KindRecordAnchored,
		Writer: "did:hl:writer",
		Time:   time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC),
		Body:   []byte("sealed"),
	}
	e.Subject = DeriveSubjectTag("test", "subject")
	e.Digest[0] = 1
	return e
}

func TestMarshalRejects(t *testing.T) {
	secret := "SECRET-PHI-VALUE"
	tests := []struct {
		name   string
		modify func(e *Entry)
		want   error
		field  string
	}{
		{"zero kind", func(e *Entry) { e.Kind = 0 }, ErrInvalidEntry, "kind"},
		{"zero time", func(e *Entry) { e.Time = time.Time{} }, ErrInvalidEntry, "time"},
		{"time before 1677", func(e *Entry) { e.Time = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) }, ErrInvalidEntry, "time"},
		{"time after 2262", func(e *Entry) { e.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, ErrInvalidEntry, "time"},
		{"empty writer", func(e *Entry) { e.Writer = "" }, ErrInvalidEntry, "writer"},
		{"non-UTF-8 writer", func(e *Entry) { e.Writer = secret + "\xff" }, ErrInvalidEntry, "writer"},
		{"long writer", func(e *Entry) { e.Writer = secret + strings.Repeat("w", MaxWriterSize) }, ErrTooLarge, "writer"},
		{"long body", func(e *Entry) { e.Body = append([]byte(secret), make([]byte, MaxBodySize)...) }, ErrTooLarge, "body"},
		{"long signature", func(e *Entry) { e.Signature = append([]byte(secret), make([]byte, MaxSignatureSize)...) }, ErrTooLarge, "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEntry()
			tt.modify(e)
			prefix := []byte("keep")
			out, err := e.AppendBinary(prefix)
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, prefix, out)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
			require.NotContains(t, err.Error(), secret)
			if tt.field != "signature" {
				_, err = e.SignedMessage()
				require.ErrorIs(t, err, tt.want)
			}
		})
	}
	var nilEntry *Entry
	_, err := nilEntry.MarshalBinary()
	require.ErrorIs(t, err, ErrInvalidEntry)
}

func TestMaxSizeEntry(t *testing.T) {
	e := validEntry()
	e.Writer = strings.Repeat("w", MaxWriterSize)
	e.Body = make([]byte, MaxBodySize)
	e.Signature = make([]byte, MaxSignatureSize)
	b, err := e.MarshalBinary()
	require.NoError(t, err)
	require.LessOrEqual(t, len(b), MaxEntrySize)
	got, err := UnmarshalEntry(b)
	require.NoError(t, err)
	require.Equal(t, e, got)

	_, err = UnmarshalEntry(make([]byte, MaxEntrySize+1))
	require.ErrorIs(t, err, ErrTooLarge)

	// Every entry fits the uint16 length prefix of a C2SP tlog-tiles
	// entry bundle, and a 65536-byte input is refused.
	require.Equal(t, math.MaxUint16, MaxEntrySize)
	require.Equal(t, 61952, MaxBodySize, "the body limit did not move with the entry limit")
	_, err = UnmarshalEntry(make([]byte, 1<<16))
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestSignedMessageIgnoresSignature(t *testing.T) {
	a, b := validEntry(), validEntry()
	b.Signature = []byte("sig")
	ma, err := a.SignedMessage()
	require.NoError(t, err)
	mb, err := b.SignedMessage()
	require.NoError(t, err)
	require.Equal(t, ma, mb)
	enc, err := a.MarshalBinary()
	require.NoError(t, err)
	require.Equal(t, append([]byte(EntrySignatureDomain), enc...), ma)
}

func TestUnmarshalDoesNotAlias(t *testing.T) {
	e := validEntry()
	e.Signature = []byte("sig")
	b, err := e.MarshalBinary()
	require.NoError(t, err)
	got, err := UnmarshalEntry(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = 0
	}
	require.Equal(t, e, got)
	// Appending to Body must not overwrite Signature.
	_ = append(got.Body, 'x')
	require.Equal(t, []byte("sig"), got.Signature)
}

func TestAppendBinaryAllocs(t *testing.T) {
	e := validEntry()
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		_, err := e.AppendBinary(buf[:0])
		if err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

func TestTimesRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		minEntryTime, maxEntryTime, time.Unix(0, 0), time.Unix(0, -1),
		time.Date(2026, 1, 1, 0, 0, 0, 1, time.FixedZone("x", 3600)),
	} {
		t.Run(tm.String(), func(t *testing.T) {
			e := validEntry()
			e.Time = tm
			b, err := e.MarshalBinary()
			require.NoError(t, err)
			got, err := UnmarshalEntry(b)
			require.NoError(t, err)
			require.True(t, tm.Equal(got.Time))
			require.Equal(t, time.UTC, got.Time.Location())
		})
	}
}

func TestFieldErrorIsTyped(t *testing.T) {
	_, err := UnmarshalEntry([]byte("nope"))
	var fe *FieldError
	require.True(t, errors.As(err, &fe))
	require.Equal(t, "magic", fe.Field)
}

// writeEntryVectors regenerates testdata/entries.json (go test -run
// TestEntryVectors -update-entry-vectors). Review the diff: the encoding is frozen.
func writeEntryVectors(t *testing.T) {
	t.Helper()
	subject := DeriveSubjectTag("example", "patient-1")
	var digest Digest
	for i := range digest {
		digest[i] = byte(i)
	}
	entries := []struct {
		name string
		e    *Entry
	}{
		{"minimal", &Entry{Kind: KindRecordAnchored, Writer: "w", Time: time.Unix(1, 0).UTC()}},
		{"anchored record", &Entry{Kind: KindRecordAnchored, Subject: subject, Writer: "did:hl:ehr.example",
			Time: time.Date(2026, 11, 22, 20, 0, 0, 123456789, time.UTC), Digest: digest}},
		{"sealed body and signature", &Entry{Kind: KindConsentFirst, Subject: subject, Writer: "did:key:z6Mk",
			Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Digest: digest,
			Body: []byte("sealed payload"), Signature: bytes.Repeat([]byte{0xab}, 64)}},
		{"non-ASCII writer, pre-1970 time", &Entry{Kind: 0xffff, Writer: "did:web:kl\u00ednika.example",
			Time: time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), Body: bytes.Repeat([]byte{0}, 130)}},
		{"v2: payload beside the tree, signed", func() *Entry {
			e := &Entry{Kind: KindConsentFirst, Subject: subject, Writer: "did:key:z6Mk",
				Time: time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC), Digest: digest}
			e.Payload = &Payload{Data: []byte("sealed payload, kept beside the tree")}
			for i := range e.Payload.Salt {
				e.Payload.Salt[i] = byte(0xa0 + i)
			}
			e.PayloadCommitment = e.Payload.Commitment()
			e.Signature = bytes.Repeat([]byte{0xcd}, 64)
			return e
		}()},
	}
	var vs entryVectors
	vs.Comment = "healthledger entry encoding v1 and v2 test vectors, see ../SPEC.md. A v2 vector gives the payload kept beside the leaf (salt and data) that its commitment binds. Hex fields are lowercase; time is RFC 3339 in UTC."
	for _, x := range entries {
		enc, err := x.e.MarshalBinary()
		require.NoError(t, err)
		msg, err := x.e.SignedMessage()
		require.NoError(t, err)
		lh := merkle.HashLeaf(enc)
		vs.Valid = append(vs.Valid, validEntryVector{
			Name: x.name, Kind: uint16(x.e.Kind), Subject: hex.EncodeToString(x.e.Subject[:]),
			Time: x.e.Time.Format(time.RFC3339Nano), Digest: hex.EncodeToString(x.e.Digest[:]),
			Writer: x.e.Writer, Body: hex.EncodeToString(x.e.Body), Signature: hex.EncodeToString(x.e.Signature),
			Encoding: hex.EncodeToString(enc), SignedMessage: hex.EncodeToString(msg), LeafHash: hex.EncodeToString(lh[:]),
		})
		if p := x.e.Payload; p != nil {
			v := &vs.Valid[len(vs.Valid)-1]
			v.Commitment, v.Salt, v.Payload = hex.EncodeToString(x.e.PayloadCommitment[:]), hex.EncodeToString(p.Salt[:]), hex.EncodeToString(p.Data)
		}
	}
	v2, err := entries[len(entries)-1].e.MarshalBinary()
	require.NoError(t, err)
	mut2 := func(f func(b []byte) []byte) string {
		return hex.EncodeToString(f(bytes.Clone(v2)))
	}
	base, err := entries[0].e.MarshalBinary()
	require.NoError(t, err)
	mut := func(f func(b []byte) []byte) string {
		return hex.EncodeToString(f(bytes.Clone(base)))
	}
	const varOff = entryFixedSize // offset of the writer length
	vs.Invalid = []invalidEntryVecor{
		{"empty", "", "malformed", "magic"},
		{"bad magic", mut(func(b []byte) []byte { b[0] = 'X'; return b }), "malformed", "magic"},
		{"version 3", mut(func(b []byte) []byte { b[3] = 3; return b }), "unknown_version", "version"},
		{"v1 read as v2: header too short", mut(func(b []byte) []byte { b[3] = 2; return b }), "malformed", "header"},
		{"v2 with a zero commitment", mut2(func(b []byte) []byte { clear(b[entryFixedSize : entryFixedSize+32]); return b }), "invalid_entry", "payload commitment"},
		{"v2 truncated header", mut2(func(b []byte) []byte { return b[:entryFixedSize+31] }), "malformed", "header"},
		{"v2 trailing byte", mut2(func(b []byte) []byte { return append(b, 0) }), "malformed", "entry"},
		{"version 0", mut(func(b []byte) []byte { b[3] = 0; return b }), "unknown_version", "version"},
		{"truncated header", mut(func(b []byte) []byte { return b[:40] }), "malformed", "header"},
		{"kind 0", mut(func(b []byte) []byte { b[4], b[5] = 0, 0; return b }), "invalid_entry", "kind"},
		{"no writer length", mut(func(b []byte) []byte { return b[:varOff] }), "malformed", "writer"},
		{"empty writer", mut(func(b []byte) []byte { return append(b[:varOff], 0, 0, 0) }), "invalid_entry", "writer"},
		{"non-UTF-8 writer", mut(func(b []byte) []byte { b[varOff+1] = 0xff; return b }), "invalid_entry", "writer"},
		{"non-minimal writer length", mut(func(b []byte) []byte {
			return append(append(b[:varOff], 0x81, 0x00), b[varOff+1:]...)
		}), "malformed", "writer"},
		{"writer too long", mut(func(b []byte) []byte { return append(b[:varOff], 0x81, 0x10) }), "too_large", "writer"},
		{"truncated writer", mut(func(b []byte) []byte { return append(b[:varOff], 5, 'a') }), "malformed", "writer"},
		{"body too long", mut(func(b []byte) []byte { return append(b[:varOff+2], 0x81, 0xe4, 0x03) }), "too_large", "body"},
		{"body length overflows", mut(func(b []byte) []byte {
			return append(b[:varOff+2], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
		}), "malformed", "body"},
		{"missing signature length", mut(func(b []byte) []byte { return b[:len(b)-1] }), "malformed", "signature"},
		{"signature too long", mut(func(b []byte) []byte { return append(b[:len(b)-1], 0x81, 0x08) }), "too_large", "signature"},
		{"trailing byte", mut(func(b []byte) []byte { return append(b, 0) }), "malformed", "entry"},
	}
	out, err := json.MarshalIndent(vs, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(entryVectorsFile), 0o755))
	require.NoError(t, os.WriteFile(entryVectorsFile, append(out, '\n'), 0o644))
}
