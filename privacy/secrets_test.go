package privacy_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/healthledger/healthledger/privacy"
	"github.com/healthledger/healthledger/privacy/filekeystore"
	"github.com/stretchr/testify/require"
)

// Every type that holds a key (or a wrapped key) prints only its public
// description, whatever verb or logger is used; the raw keys are taken out
// of the Tink handles through insecuresecretdataaccess to look for them.
func TestKeyHoldersPrintNoSecrets(t *testing.T) {
	ctx := t.Context()
	tagger, prfHandle := newTagger(t, origin)
	kek, kekHandle := newKEK(t)
	keys := privacy.NewMemoryKeyStore()
	fileKeys, err := filekeystore.Open(filekeystore.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	v := newVault(t, kek, keys)
	fv := newVault(t, kek, fileKeys)
	s := subject("alice")
	_, err = v.Seal(ctx, s, nil, []byte("x"))
	require.NoError(t, err)
	_, err = fv.Seal(ctx, s, nil, []byte("x"))
	require.NoError(t, err)
	wrapped, err := keys.Get(ctx, s)
	require.NoError(t, err)

	secrets := map[string][]byte{
		"PRF key":                  prfKeyBytes(t, prfHandle),
		"KEK":                      aesKeyBytes(t, kekHandle),
		"data key":                 aesKeyBytes(t, dataKeyHandle(t, keys, kek, s)),
		"data key (file store)":    aesKeyBytes(t, dataKeyHandle(t, fileKeys, kek, s)),
		"wrapped key (ciphertext)": wrapped[len(wrapped)-32:],
	}
	holders := []struct {
		name   string
		v      any
		prefix string
	}{
		{"*Tagger", tagger, "privacy.Tagger("},
		{"Tagger", *tagger, "privacy.Tagger("},
		{"*Vault", v, "privacy.Vault("},
		{"*Vault on a file store", fv, "privacy.Vault("},
		{"*BoundSealer", v.Bind([]byte("ctx")), "privacy.BoundSealer("},
		{"*MemoryKeyStore", keys, "privacy.MemoryKeyStore("},
		{"*filekeystore.Store", fileKeys, "filekeystore.Store("},
	}
	for _, h := range holders {
		t.Run(h.name, func(t *testing.T) {
			printed := printEveryWay(h.v)
			for name, secret := range secrets {
				t.Run(name, func(t *testing.T) { requireNoSecret(t, printed, secret) })
			}
			// Every verb goes through the description, so nothing else can
			// print: no struct fields, no pointers into key material.
			for _, verb := range verbs {
				out := fmt.Sprintf(verb, h.v)
				if verb == "%q" {
					require.Contains(t, out, h.prefix, verb)
					continue
				}
				require.Equal(t, fmt.Sprint(h.v), out, verb)
				require.Contains(t, out, h.prefix, verb)
			}
			var b bytes.Buffer
			slog.New(slog.NewJSONHandler(&b, nil)).Info("m", "k", h.v)
			require.Contains(t, b.String(), h.prefix)
		})
	}
}

// A Vault's logs name subjects and events, never payloads or keys.
func TestVaultLogsNoPayloadOrKey(t *testing.T) {
	var logs syncBuffer
	kek, kekHandle := newKEK(t)
	keys := privacy.NewMemoryKeyStore()
	v, err := privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: keys,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	ctx := t.Context()
	s := subject("alice")
	secretPlaintext := []byte("PATIENT-CANARY-7f3a9c")
	sealed, err := v.Seal(ctx, s, []byte("AD-CANARY-91b2"), secretPlaintext)
	require.NoError(t, err)
	dataKey := aesKeyBytes(t, dataKeyHandle(t, keys, kek, s))
	_, err = v.Open(ctx, s, []byte("wrong"), sealed)
	require.Error(t, err)
	require.NoError(t, v.EraseSubject(ctx, s))

	out := logs.String()
	require.Contains(t, out, "data key created")
	require.Contains(t, out, "subject erased")
	require.Contains(t, out, s.String())
	require.NotContains(t, out, string(secretPlaintext))
	require.NotContains(t, out, "AD-CANARY")
	requireNoSecret(t, out, dataKey)
	requireNoSecret(t, out, aesKeyBytes(t, kekHandle))
}
