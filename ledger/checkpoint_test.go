package ledger

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

const testOrigin = "ledger.example.org/test"

func testRoot(s string) merkle.Hash { return sha256.Sum256([]byte(s)) }

func TestCheckpointMarshalParse(t *testing.T) {
	root := testRoot("r")
	tests := []struct {
		name string
		cp   Checkpoint
		want string
	}{
		{"empty tree", Checkpoint{Origin: testOrigin, Size: 0, Root: merkle.EmptyRoot()},
			testOrigin + "\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"},
		{"max size", Checkpoint{Origin: "o", Size: 1<<64 - 1, Root: root},
			"o\n18446744073709551615\n" + root.String() + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, string(tt.cp.Marshal()))
			got, err := ParseCheckpoint([]byte(tt.want))
			require.NoError(t, err)
			require.Equal(t, tt.cp, got)
		})
	}
}

func TestParseCheckpointExtensions(t *testing.T) {
	root := testRoot("r")
	body := "o\n5\n" + root.String() + "\next one\next two\n"
	got, err := ParseCheckpoint([]byte(body))
	require.NoError(t, err)
	require.Equal(t, Checkpoint{Origin: "o", Size: 5, Root: root}, got)
}

func TestParseCheckpointRejects(t *testing.T) {
	root := testRoot("r").String()
	// A root whose last base64 character has non-zero padding bits.
	nonCanonical := root[:42] + string(root[42]+1) + "="
	tests := []struct{ name, body, field string }{
		{"empty", "", "checkpoint"},
		{"no final newline", "o\n1\n" + root, "checkpoint"},
		{"two lines", "o\n1\n", "checkpoint"},
		{"empty origin", "\n1\n" + root + "\n", "checkpoint.origin"},
		{"control char in origin", "o\x01\n1\n" + root + "\n", "checkpoint.origin"},
		{"leading zero", "o\n01\n" + root + "\n", "checkpoint.size"},
		{"signed size", "o\n+1\n" + root + "\n", "checkpoint.size"},
		{"empty size", "o\n\n" + root + "\n", "checkpoint.size"},
		{"size overflow", "o\n18446744073709551616\n" + root + "\n", "checkpoint.size"},
		{"hex size", "o\n0x1\n" + root + "\n", "checkpoint.size"},
		{"short root", "o\n1\nAAAA\n", "checkpoint.root"},
		{"unpadded root", "o\n1\n" + strings.TrimRight(root, "=") + "\n", "checkpoint.root"},
		{"url base64 root", "o\n1\n" + strings.ReplaceAll(merkle.Hash{0xff, 0xff, 0xff}.String(), "/", "_") + "\n", "checkpoint.root"},
		{"non-canonical root", "o\n1\n" + nonCanonical + "\n", "checkpoint.root"},
		{"empty extension", "o\n1\n" + root + "\n\n", "checkpoint.extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCheckpoint([]byte(tt.body))
			require.ErrorIs(t, err, ErrMalformed)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
		})
	}
	_, err := ParseCheckpoint(make([]byte, MaxCheckpointSize+1))
	require.ErrorIs(t, err, ErrTooLarge)
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte(Checkpoint{Origin: "o", Size: 7, Root: testRoot("a")}.Marshal()))
	f.Add([]byte("o\n1\n" + testRoot("a").String() + "\next\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseCheckpoint(body)
		if err != nil {
			return
		}
		again, err := ParseCheckpoint(c.Marshal())
		if err != nil || again != c {
			t.Fatalf("re-parse of %q: %v %v", c.Marshal(), again, err)
		}
	})
}

func newTestKey(t testing.TB, origin string) (*Signer, string) {
	t.Helper()
	skey, vkey, err := GenerateKey(origin)
	require.NoError(t, err)
	s, err := NewSigner(skey)
	require.NoError(t, err)
	return s, vkey
}

func TestSignOpenCheckpoint(t *testing.T) {
	s, vkey := newTestKey(t, testOrigin)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	for _, size := range []uint64{0, 1, 2, 1000} {
		cp := Checkpoint{Origin: testOrigin, Size: size, Root: testRoot("x")}
		signed, err := SignCheckpoint(s, cp, time.Now())
		require.NoError(t, err)

		// Plain sumdb/note opens it under the published key.
		n, err := note.Open(signed, note.VerifierList(v))
		require.NoError(t, err)
		require.Equal(t, string(cp.Marshal()), n.Text)

		got, n2, err := OpenCheckpoint(signed, testOrigin, v)
		require.NoError(t, err)
		require.Equal(t, cp, got)
		require.Len(t, n2.Sigs, 1)
	}
}

func TestOpenCheckpointRejects(t *testing.T) {
	s, vkey := newTestKey(t, testOrigin)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	_, otherKey := newTestKey(t, testOrigin)
	other, err := note.NewVerifier(otherKey)
	require.NoError(t, err)
	signed, err := SignCheckpoint(s, Checkpoint{Origin: testOrigin, Size: 3, Root: testRoot("x")}, time.Now())
	require.NoError(t, err)

	t.Run("wrong key", func(t *testing.T) {
		_, _, err := OpenCheckpoint(signed, testOrigin, other)
		require.ErrorIs(t, err, ErrBadSignature)
	})
	t.Run("wrong origin", func(t *testing.T) {
		_, _, err := OpenCheckpoint(signed, "other.example/log", v)
		require.ErrorIs(t, err, ErrWrongOrigin)
	})
	t.Run("tampered size", func(t *testing.T) {
		bad := []byte(strings.Replace(string(signed), "\n3\n", "\n4\n", 1))
		_, _, err := OpenCheckpoint(bad, testOrigin, v)
		require.ErrorIs(t, err, ErrBadSignature)
	})
	t.Run("not a note", func(t *testing.T) {
		_, _, err := OpenCheckpoint([]byte("hello\n"), testOrigin, v)
		require.ErrorIs(t, err, ErrMalformed)
	})
	t.Run("signed garbage body", func(t *testing.T) {
		bad, err := note.Sign(&note.Note{Text: "just text\n"}, s)
		require.NoError(t, err)
		_, _, err = OpenCheckpoint(bad, testOrigin, v)
		require.ErrorIs(t, err, ErrMalformed)
	})
}

func TestSignerErrorsHideKey(t *testing.T) {
	skey, _, err := GenerateKey(testOrigin)
	require.NoError(t, err)
	bad := skey[:len(skey)-4] + "!!!!"
	_, err = NewSigner(bad)
	require.Error(t, err)
	require.NotContains(t, err.Error(), bad[len("PRIVATE+KEY+"):])
	_, _, err = GenerateKey("")
	require.ErrorIs(t, err, ErrMalformed)
}

func TestSignerFuncRefusesAnotherKey(t *testing.T) {
	s, _ := newTestKey(t, testOrigin)
	other, _ := newTestKey(t, testOrigin)
	_, err := NewSignerFunc(testOrigin, other.PublicKey(), s.Sign)
	require.Error(t, err, "signatures by another key than the public key given")
	_, err = NewSignerFunc(testOrigin, s.PublicKey(), func([]byte) ([]byte, error) { return make([]byte, 64), nil })
	require.Error(t, err, "signatures that do not verify")
	_, err = NewSignerFunc(testOrigin, s.PublicKey()[:31], s.Sign)
	require.ErrorIs(t, err, ErrInvalidConfig)
	ok, err := NewSignerFunc(testOrigin, s.PublicKey(), s.Sign)
	require.NoError(t, err)
	require.Equal(t, s.VerifierKey(), ok.VerifierKey())
}

func TestSignCheckpointRejectsBadOrigin(t *testing.T) {
	s, _ := newTestKey(t, testOrigin)
	for _, origin := range []string{"", "two\nlines"} {
		_, err := SignCheckpoint(s, Checkpoint{Origin: origin, Size: 1, Root: testRoot("x")}, time.Now())
		require.ErrorIs(t, err, ErrMalformed, "%q", origin)
	}
	_, _, err := OpenCheckpoint([]byte("x"), testOrigin, nil)
	require.Error(t, err)
}
