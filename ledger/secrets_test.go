package ledger_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tinksigner"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/signature"
)

// secretForms returns every way a secret's bytes could show up in text:
// raw, hex (both cases), standard and URL base64 (with and without
// padding), decimal and Go-syntax byte lists, and the same for each 12-byte window of it, so that a partial
// leak is caught too. For Ed25519 the secret is the seed: the private key
// is the seed followed by the public key, which may print.
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

// printEveryWay prints v with every fmt verb and flag the package user is
// likely to use, and through slog's text and JSON handlers.
func printEveryWay(v any) string {
	var b strings.Builder
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
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
	for _, form := range secretForms(secret) {
		require.NotContains(t, printed, form, "secret key material printed")
	}
}

func TestKeyHoldersPrintOnlyPublicParts(t *testing.T) {
	// Signer from a note signer key.
	skey, vkey, err := ledger.GenerateKey("print.example/log")
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	seed := keySeed(t, skey)
	printed := printEveryWay(signer)
	requireNoSecret(t, printed, seed)
	require.Contains(t, printed, vkey, "the public verifier key is what prints")

	// Cosigner.
	cskey, cvkey, err := ledger.GenerateCosignerKey("witness.print.example")
	require.NoError(t, err)
	cosigner, err := ledger.NewCosigner(cskey)
	require.NoError(t, err)
	cseed := keySeed(t, cskey)
	printed = printEveryWay(cosigner)
	requireNoSecret(t, printed, cseed)
	require.Contains(t, printed, cvkey)

	// A Witness holds a Cosigner.
	w, err := ledger.NewWitness(ledger.WitnessConfig{Cosigner: cosigner, Logs: []ledger.WitnessedLog{{Origin: "print.example/log", LogKey: vkey}}})
	require.NoError(t, err)
	printed = printEveryWay(w)
	requireNoSecret(t, printed, cseed)

	// A Signer from a Tink keyset: the key stays in the handle.
	h, err := keyset.NewHandle(signature.ED25519KeyWithoutPrefixTemplate())
	require.NoError(t, err)
	tinkSigner, tinkVkey, err := tinksigner.New(h, "print.example/tink")
	require.NoError(t, err)
	printed = printEveryWay(tinkSigner)
	require.Contains(t, printed, tinkVkey)
	require.NotContains(t, printed, "PRIVATE")
}

// keySeed returns the Ed25519 seed of a "PRIVATE+KEY+name+id+base64(alg ||
// seed)" key.
func keySeed(t *testing.T, skey string) []byte {
	t.Helper()
	// The base64 part may itself contain '+': take all after the key ID.
	parts := strings.SplitN(strings.TrimPrefix(skey, "PRIVATE+KEY+"), "+", 3)
	require.Len(t, parts, 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	require.Len(t, raw, 33)
	return bytes.Clone(raw[1:])
}
