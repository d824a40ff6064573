package privacy_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/privacy"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf/hmacprf"
	"github.com/tink-crypto/tink-go/v2/tink"
)

const origin = "hospital.example/log"

func newKEK(t testing.TB) (tink.AEAD, *keyset.Handle) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	require.NoError(t, err)
	a, err := aead.New(h)
	require.NoError(t, err)
	return a, h
}

func newVault(t testing.TB, kek tink.AEAD, keys privacy.KeyStore) *privacy.Vault {
	v, err := privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: keys})
	require.NoError(t, err)
	return v
}

func subject(s string) ledger.SubjectTag { return ledger.DeriveSubjectTag("privacy-test", s) }

// readTestKeyset reads a cleartext test keyset from testdata.
func readTestKeyset(t testing.TB, path string) *keyset.Handle {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(b)))
	require.NoError(t, err)
	return h
}

// prfKeyBytes returns the raw HMAC key of h's primary key, through Tink's
// visibly insecure access path: tests only.
func prfKeyBytes(t testing.TB, h *keyset.Handle) []byte {
	p, err := h.Primary()
	require.NoError(t, err)
	k, ok := p.Key().(*hmacprf.Key)
	require.True(t, ok)
	return k.KeyBytes().Data(insecuresecretdataaccess.Token{})
}

// aesKeyBytes returns the raw AES key of h's primary key (tests only).
func aesKeyBytes(t testing.TB, h *keyset.Handle) []byte {
	p, err := h.Primary()
	require.NoError(t, err)
	k, ok := p.Key().(*aesgcm.Key)
	require.True(t, ok)
	return k.KeyBytes().Data(insecuresecretdataaccess.Token{})
}

func field(b []byte, f []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
	return append(b, f...)
}

// dataKeyHandle unwraps subject's data key from keys, rebuilding the
// associated data from SPEC.md (which this also checks).
func dataKeyHandle(t testing.TB, keys privacy.KeyStore, kek tink.AEAD, s ledger.SubjectTag) *keyset.Handle {
	wrapped, err := keys.Get(context.Background(), s)
	require.NoError(t, err)
	require.Equal(t, byte(1), wrapped[0])
	ad := field(nil, []byte(privacy.DataKeyNamespace))
	ad = field(ad, []byte(origin))
	ad = field(ad, s[:])
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(wrapped[1:])), kek, ad)
	require.NoError(t, err)
	return h
}

// secretForms returns every way a secret's bytes could show up in text,
// and the same for each 12-byte window of it, so that a partial leak is
// caught too.
func secretForms(secret []byte) []string {
	var out []string
	add := func(b []byte) {
		out = append(out, string(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			strings.Trim(fmt.Sprint(b), "[]"), strings.Trim(fmt.Sprintf("%#v", b), "[]byte{}"))
	}
	add(secret)
	for i := 0; i+12 <= len(secret); i += 4 {
		add(secret[i : i+12])
	}
	return out
}

var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}

// printEveryWay prints v with every fmt verb and through slog's text and
// JSON handlers.
func printEveryWay(v any) string {
	var b strings.Builder
	for _, f := range verbs {
		fmt.Fprintf(&b, f+"\n", v)
	}
	fmt.Fprintln(&b, v)
	fmt.Fprintf(&b, "%v\n", []any{v})
	fmt.Fprintf(&b, "%+v\n", struct{ Inner any }{v})
	slog.New(slog.NewTextHandler(&b, nil)).Info("m", "k", v)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("m", "k", v)
	return b.String()
}

func requireNoSecret(t *testing.T, printed string, secret []byte) {
	t.Helper()
	require.GreaterOrEqual(t, len(secret), 16, "not a key")
	for _, form := range secretForms(secret) {
		require.NotContains(t, printed, form, "secret key material printed")
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (slog handlers).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
