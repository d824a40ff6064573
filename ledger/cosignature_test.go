package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
)

func newTestCosigner(t testing.TB, name string) (*Cosigner, *CosignatureVerifier) {
	t.Helper()
	skey, vkey, err := GenerateCosignerKey(name)
	require.NoError(t, err)
	c, err := NewCosigner(skey)
	require.NoError(t, err)
	require.Equal(t, vkey, c.VerifierKey())
	v, err := NewCosignatureVerifier(vkey)
	require.NoError(t, err)
	return c, v
}

func signedTestCheckpoint(t testing.TB, size uint64) ([]byte, note.Verifier) {
	t.Helper()
	s, vkey := newTestKey(t, testOrigin)
	signed, err := SignCheckpoint(s, Checkpoint{Origin: testOrigin, Size: size, Root: testRoot("c")}, time.Now())
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	return signed, v
}

// TestCosignatureFormat rebuilds the signed message and key ID from the
// C2SP text, independently of the implementation.
func TestCosignatureFormat(t *testing.T) {
	c, v := newTestCosigner(t, "witness.example/w1")
	signed, _ := signedTestCheckpoint(t, 42)
	when := time.Unix(1679315147, 999)
	out, err := c.Cosign(signed, when)
	require.NoError(t, err)

	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	last := lines[len(lines)-1]
	b64, ok := strings.CutPrefix(last, "\u2014 witness.example/w1 ")
	require.True(t, ok, last)
	raw, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	require.Len(t, raw, 4+8+64)

	pubB64 := strings.SplitN(c.VerifierKey(), "+", 3)[2]
	pubRaw, err := base64.StdEncoding.DecodeString(pubB64)
	require.NoError(t, err)
	require.Equal(t, byte(0x04), pubRaw[0])
	pub := ed25519.PublicKey(pubRaw[1:])

	id := sha256.Sum256(append([]byte("witness.example/w1\n\x04"), pub...))
	require.Equal(t, id[:4], raw[:4])
	require.Equal(t, uint64(1679315147), binary.BigEndian.Uint64(raw[4:12]))

	body := string(signed[:strings.Index(string(signed), "\n\n")+1])
	msg := "cosignature/v1\ntime 1679315147\n" + body
	require.True(t, ed25519.Verify(pub, []byte(msg), raw[12:]))
	require.Equal(t, c.KeyHash(), v.KeyHash())
	require.Equal(t, "witness.example/w1", v.Name())
}

func TestCosignatureOpensWithNote(t *testing.T) {
	c, v := newTestCosigner(t, "witness.example/w1")
	signed, logV := signedTestCheckpoint(t, 7)
	out, err := c.Cosign(signed, time.Now())
	require.NoError(t, err)
	// The cosignature verifier is a note.Verifier.
	n, err := note.Open(out, note.VerifierList(logV, v))
	require.NoError(t, err)
	require.Len(t, n.Sigs, 2)
	// A plain verifier of the log alone still opens the cosigned note.
	_, _, err = OpenCheckpoint(out, testOrigin, logV)
	require.NoError(t, err)
}

func TestVerifyCosignatures(t *testing.T) {
	signed, _ := signedTestCheckpoint(t, 5)
	c1, v1 := newTestCosigner(t, "w1.example")
	c2, v2 := newTestCosigner(t, "w2.example")
	_, v3 := newTestCosigner(t, "w3.example")
	impostor, _ := newTestCosigner(t, "w2.example") // same name, other key

	cosigned := signed
	for _, c := range []*Cosigner{c1, impostor, c2} {
		var err error
		cosigned, err = c.Cosign(cosigned, time.Unix(1700000000, 0))
		require.NoError(t, err)
	}
	got, err := VerifyCosignatures(cosigned, []*CosignatureVerifier{v3, v2, v1})
	require.NoError(t, err)
	require.Equal(t, []Cosignature{
		{Name: "w2.example", KeyHash: v2.KeyHash(), Time: time.Unix(1700000000, 0).UTC()},
		{Name: "w1.example", KeyHash: v1.KeyHash(), Time: time.Unix(1700000000, 0).UTC()},
	}, got)

	t.Run("cosignature of another checkpoint", func(t *testing.T) {
		other, _ := signedTestCheckpoint(t, 6)
		line, err := c1.SignatureLine(other[:strings.Index(string(other), "\n\n")+1], time.Now())
		require.NoError(t, err)
		moved := append(append([]byte{}, signed...), line...)
		got, err := VerifyCosignatures(moved, []*CosignatureVerifier{v1})
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("tampered timestamp", func(t *testing.T) {
		line, err := c1.SignatureLine(signed[:strings.Index(string(signed), "\n\n")+1], time.Unix(100, 0))
		require.NoError(t, err)
		s := string(line)
		sp := strings.LastIndexByte(s, ' ')
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s[sp+1:]))
		require.NoError(t, err)
		raw[11]++
		bad := s[:sp+1] + base64.StdEncoding.EncodeToString(raw) + "\n"
		got, err := VerifyCosignatures(append(append([]byte{}, signed...), bad...), []*CosignatureVerifier{v1})
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("malformed note", func(t *testing.T) {
		_, err := VerifyCosignatures([]byte("no signatures\n"), []*CosignatureVerifier{v1})
		require.ErrorIs(t, err, ErrMalformed)
	})
}

func TestCosignRejects(t *testing.T) {
	c, _ := newTestCosigner(t, "w.example")
	signed, _ := signedTestCheckpoint(t, 3)
	once, err := c.Cosign(signed, time.Now())
	require.NoError(t, err)
	_, err = c.Cosign(once, time.Now())
	require.ErrorIs(t, err, ErrMalformed)
	_, err = c.Cosign(signed, time.Unix(-1, 0))
	require.ErrorIs(t, err, ErrMalformed)
	_, err = c.Cosign([]byte("x\n1\nAAAA\n\n\u2014 k AAAA\n"), time.Now())
	require.ErrorIs(t, err, ErrMalformed)
	_, err = c.Cosign([]byte("body only\n"), time.Now())
	require.ErrorIs(t, err, ErrMalformed)
}

func TestCosignerKeysRejected(t *testing.T) {
	skey, vkey, err := GenerateCosignerKey("w.example")
	require.NoError(t, err)
	_, logVkey, err := GenerateKey("w.example")
	require.NoError(t, err)
	logParts := strings.Split(logVkey, "+")
	logVkey = logParts[0] + "+00000000+" + logParts[2]
	parts := strings.Split(vkey, "+")
	tests := []struct{ name, key string }{
		{"empty", ""},
		{"note key with a wrong key ID", logVkey},
		{"wrong key ID", parts[0] + "+00000000+" + parts[2]},
		{"renamed", "x.example+" + parts[1] + "+" + parts[2]},
		{"signer key", skey},
		{"short key", parts[0] + "+" + parts[1] + "+BAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCosignatureVerifier(tt.key)
			require.Error(t, err)
		})
	}
	_, err = NewCosigner(vkey)
	require.Error(t, err)
	_, err = NewCosigner(skey[:len(skey)-2] + "xx")
	require.Error(t, err)
	require.NotContains(t, fmt.Sprint(err), skey[len(skey)-20:])
	for _, name := range []string{"", "a b", "a+b", "a\nb"} {
		_, _, err := GenerateCosignerKey(name)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
}

// FuzzVerifyCosignatures feeds arbitrary verifier keys and notes to the
// cosignature parsers: they must not panic, and only configured witnesses
// may be reported.
func FuzzVerifyCosignatures(f *testing.F) {
	c, v := newTestCosigner(f, "w.example")
	signed, _ := signedTestCheckpoint(f, 3)
	cosigned, err := c.Cosign(signed, time.Unix(1, 0))
	require.NoError(f, err)
	f.Add(c.VerifierKey(), cosigned)
	f.Add("w.example+00000000+BAAA", []byte("o\n1\n\n\u2014 w.example AAAAAAAA\n"))
	f.Fuzz(func(t *testing.T, vkey string, signedNote []byte) {
		ws := []*CosignatureVerifier{v}
		if w, err := NewCosignatureVerifier(vkey); err == nil {
			ws = append(ws, w)
		}
		got, err := VerifyCosignatures(signedNote, ws)
		if err != nil {
			return
		}
		for _, g := range got {
			found := false
			for _, w := range ws {
				found = found || (w.Name() == g.Name && w.KeyHash() == g.KeyHash)
			}
			if !found {
				t.Fatalf("reported an unconfigured witness %q", g.Name)
			}
		}
	})
}

func TestCosignatureVerifierRejectsShapes(t *testing.T) {
	c, v := newTestCosigner(t, "w.example")
	require.Equal(t, "w.example", c.Name())
	signed, _ := signedTestCheckpoint(t, 3)
	body := signed[:strings.Index(string(signed), "\n\n")+1]
	line, err := c.SignatureLine(body, time.Unix(10, 0))
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.SplitN(string(line), " ", 3)[2]))
	require.NoError(t, err)
	sig := raw[4:]
	require.True(t, v.Verify(body, sig))
	require.False(t, v.Verify(body, sig[:len(sig)-1]), "short signature")
	huge := append([]byte{}, sig...)
	huge[0] = 0x80 // timestamp above 2^63-1
	require.False(t, v.Verify(body, huge))
}

// TestNoteEd25519Keys checks that standard note Ed25519 keys (type 0x01)
// serve as cosigner keys, with the cosignature/v1 key ID.
func TestNoteEd25519Keys(t *testing.T) {
	skey, vkey, err := note.GenerateKey(nil, "w.example")
	require.NoError(t, err)
	c, err := NewCosigner(skey)
	require.NoError(t, err)
	v, err := NewCosignatureVerifier(vkey)
	require.NoError(t, err)
	noteV, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	require.NotEqual(t, noteV.KeyHash(), v.KeyHash(), "cosignatures use the type 0x04 key ID")
	require.Equal(t, c.KeyHash(), v.KeyHash())

	signed, _ := signedTestCheckpoint(t, 4)
	out, err := c.Cosign(signed, time.Unix(1, 0))
	require.NoError(t, err)
	got, err := VerifyCosignatures(out, []*CosignatureVerifier{v})
	require.NoError(t, err)
	require.Len(t, got, 1)
	// The 0x04 verifier key of the same public key is equivalent.
	v4, err := NewCosignatureVerifier(c.VerifierKey())
	require.NoError(t, err)
	require.Equal(t, v.KeyHash(), v4.KeyHash())
}
