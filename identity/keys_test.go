package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/signature"
	tinkecdsa "github.com/tink-crypto/tink-go/v2/signature/ecdsa"
	tinked25519 "github.com/tink-crypto/tink-go/v2/signature/ed25519"
)

var keyTypes = []KeyType{KeyTypeEd25519, KeyTypeP256}

func mustKey(t testing.TB, kt KeyType) *PrivateKey {
	t.Helper()
	k, err := GenerateKey(kt)
	require.NoError(t, err)
	return k
}

func TestSignVerify(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(kt.String(), func(t *testing.T) {
			k, other := mustKey(t, kt), mustKey(t, kt)
			msg := []byte("consent v1")
			sig, err := k.Sign(msg)
			require.NoError(t, err)
			require.Len(t, sig, SignatureSize)
			require.NoError(t, k.Public().Verify(msg, sig))
			require.ErrorIs(t, other.Public().Verify(msg, sig), ErrBadSignature)
			require.ErrorIs(t, k.Public().Verify([]byte("consent v2"), sig), ErrBadSignature)
			require.ErrorIs(t, k.Public().Verify(msg, sig[:63]), ErrBadSignature)
			bad := bytes.Clone(sig)
			bad[10] ^= 1
			require.ErrorIs(t, k.Public().Verify(msg, bad), ErrBadSignature)
		})
	}
}

func TestP256HighSRefused(t *testing.T) {
	k := mustKey(t, KeyTypeP256)
	msg := []byte("m")
	for range 8 {
		sig, err := k.Sign(msg)
		require.NoError(t, err)
		high := bytes.Clone(sig)
		s := new(big.Int).SetBytes(high[32:])
		s.Sub(elliptic.P256().Params().N, s)
		s.FillBytes(high[32:])
		require.ErrorIs(t, k.Public().Verify(msg, high), ErrBadSignature, "the high-s twin of a valid signature must fail")
		require.Equal(t, sig, normalizeP256(high))
	}
}

func TestPublicKeyForms(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(kt.String(), func(t *testing.T) {
			pub := mustKey(t, kt).Public()
			mb, err := ParseMultibase(pub.Multibase())
			require.NoError(t, err)
			require.True(t, pub.Equal(mb))
			j, err := json.Marshal(pub.JWK())
			require.NoError(t, err)
			fromJWK, err := ParseJWK(j)
			require.NoError(t, err)
			require.True(t, pub.Equal(fromJWK))
			prefix := map[KeyType]string{KeyTypeEd25519: "z6Mk", KeyTypeP256: "zDn"}[kt]
			require.Equal(t, prefix, pub.Multibase()[:len(prefix)])
			d, err := ParseDID(pub.DIDKey())
			require.NoError(t, err)
			require.Equal(t, MethodKey, d.Method)
		})
	}
}

func TestP256MatchesStdlib(t *testing.T) {
	sk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	unc, err := sk.PublicKey.Bytes()
	require.NoError(t, err)
	c, err := compressP256(unc)
	require.NoError(t, err)
	pub, err := NewPublicKey(KeyTypeP256, c)
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("x"))
	r, s, err := ecdsa.Sign(rand.Reader, sk, digest[:])
	require.NoError(t, err)
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	require.NoError(t, pub.Verify([]byte("x"), normalizeP256(sig)))
}

type didKeyVectors struct {
	Valid []struct {
		DID, Type, RawBase58 string
	}
	Invalid []struct{ DID, Err string }
}

func loadDIDKeyVectors(t *testing.T) didKeyVectors {
	b, err := os.ReadFile("testdata/didkey.json")
	require.NoError(t, err)
	var v didKeyVectors
	require.NoError(t, json.Unmarshal(b, &v))
	require.NotEmpty(t, v.Valid)
	require.NotEmpty(t, v.Invalid)
	return v
}

var sentinels = map[string]error{
	"ErrMalformedDID": ErrMalformedDID, "ErrUnsupportedMethod": ErrUnsupportedMethod,
	"ErrMalformedOperation": ErrMalformedOperation, "ErrOperationTooLarge": ErrOperationTooLarge,
	"ErrUnknownKeyType": ErrUnknownKeyType, "ErrMalformedKey": ErrMalformedKey,
	"ErrMalformedDocument": ErrMalformedDocument,
}

func TestDIDKeyVectors(t *testing.T) {
	v := loadDIDKeyVectors(t)
	for _, tc := range v.Valid {
		t.Run(tc.DID, func(t *testing.T) {
			d, err := ParseDID(tc.DID)
			require.NoError(t, err)
			k, err := ParseMultibase(d.ID)
			require.NoError(t, err)
			require.Equal(t, tc.Type, k.Type().String())
			require.Equal(t, tc.DID, k.DIDKey())
			if tc.RawBase58 != "" {
				raw, err := base58Decode(tc.RawBase58)
				require.NoError(t, err)
				require.Equal(t, raw, k.Bytes())
			}
		})
	}
	for _, tc := range v.Invalid {
		t.Run("invalid/"+tc.DID, func(t *testing.T) {
			_, err := ParseDID(tc.DID)
			require.ErrorIs(t, err, sentinels[tc.Err])
		})
	}
}

func TestJWKErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		jwk string
		err error
	}{
		"rsa":          {`{"kty":"RSA","n":"AQAB","e":"AQAB"}`, ErrUnknownKeyType},
		"secp256k1":    {`{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"}`, ErrUnknownKeyType},
		"short ed":     {`{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`, ErrMalformedKey},
		"not on curve": {`{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, ErrMalformedKey},
		"bad json":     {`{`, ErrMalformedKey},
		"bad base64":   {`{"kty":"OKP","crv":"Ed25519","x":"!!"}`, ErrMalformedKey},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseJWK([]byte(tc.jwk))
			require.ErrorIs(t, err, tc.err)
		})
	}
}

func TestEncryptedKeyset(t *testing.T) {
	kekHandle, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	require.NoError(t, err)
	kek, err := aead.New(kekHandle)
	require.NoError(t, err)
	for _, kt := range keyTypes {
		t.Run(kt.String(), func(t *testing.T) {
			k := mustKey(t, kt)
			var buf bytes.Buffer
			require.NoError(t, k.WriteEncrypted(&buf, kek, []byte("patient-42")))
			require.False(t, bytes.Contains(buf.Bytes(), privateBytes(t, k)), "keyset must be encrypted")
			back, err := ReadPrivateKey(bytes.NewReader(buf.Bytes()), kek, []byte("patient-42"))
			require.NoError(t, err)
			require.True(t, back.Public().Equal(k.Public()))
			sig, err := back.Sign([]byte("m"))
			require.NoError(t, err)
			require.NoError(t, k.Public().Verify([]byte("m"), sig))
			_, err = ReadPrivateKey(bytes.NewReader(buf.Bytes()), kek, []byte("patient-43"))
			require.Error(t, err, "wrong associated data must fail")
		})
	}
}

func TestUnsupportedTinkKeys(t *testing.T) {
	for name, tmpl := range map[string]func() *keyset.Handle{
		"ed25519 with tink prefix": func() *keyset.Handle { h, _ := keyset.NewHandle(signature.ED25519KeyTemplate()); return h },
		"ecdsa DER": func() *keyset.Handle {
			h, _ := keyset.NewHandle(signature.ECDSAP256KeyWithoutPrefixTemplate())
			return h
		},
		"ecdsa P-384": func() *keyset.Handle {
			h, _ := keyset.NewHandle(signature.ECDSAP384SHA384KeyWithoutPrefixTemplate())
			return h
		},
		"aead": func() *keyset.Handle { h, _ := keyset.NewHandle(aead.AES128GCMKeyTemplate()); return h },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewPrivateKey(tmpl())
			require.ErrorIs(t, err, ErrUnknownKeyType)
		})
	}
	_, err := GenerateKey(KeyType(9))
	require.ErrorIs(t, err, ErrUnknownKeyType)
}

// privateBytes extracts the secret for the leak tests only.
func privateBytes(t *testing.T, k *PrivateKey) []byte {
	t.Helper()
	e, err := k.handle.Primary()
	require.NoError(t, err)
	switch p := e.Key().(type) {
	case *tinked25519.PrivateKey:
		return p.PrivateKeyBytes().Data(insecuresecretdataaccess.Token{})
	case *tinkecdsa.PrivateKey:
		return p.PrivateKeyValue().Data(insecuresecretdataaccess.Token{})
	}
	t.Fatalf("unexpected key %T", e.Key())
	return nil
}

func TestPrivateKeyNeverPrints(t *testing.T) {
	for _, kt := range keyTypes {
		t.Run(kt.String(), func(t *testing.T) {
			k := mustKey(t, kt)
			secret := privateBytes(t, k)
			require.Len(t, secret, 32)
			var logBuf bytes.Buffer
			slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("key", "k", k)
			outs := []string{
				fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k),
				fmt.Sprintf("%v", struct{ K *PrivateKey }{k}), logBuf.String(),
				fmt.Sprintf("%+v", *k),
			}
			// A Holder holds the key: bad verbs print structs without their
			// methods, so print it every way too.
			did := "did:key:" + k.Public().Multibase()
			h, err := NewHolder(did, did+"#"+k.Public().Multibase(), k)
			require.NoError(t, err)
			var hlog bytes.Buffer
			slog.New(slog.NewTextHandler(&hlog, nil)).Info("holder", "h", h)
			outs = append(outs, hlog.String())
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
				outs = append(outs, fmt.Sprintf(verb, h), fmt.Sprintf(verb, *h))
			}
			for _, forms := range [][]byte{secret} {
				for _, o := range outs {
					require.NotContains(t, o, hex.EncodeToString(forms))
					require.NotContains(t, o, base58Encode(forms))
					require.NotContains(t, o, base64.StdEncoding.EncodeToString(forms))
					require.NotContains(t, o, base64.RawURLEncoding.EncodeToString(forms))
					require.NotContains(t, o, strings.Trim(fmt.Sprint(forms), "[]"))
					require.False(t, bytes.Contains([]byte(o), forms))
				}
			}
			require.Contains(t, fmt.Sprint(k), k.Public().Multibase())
			_, err = NewPrivateKey(nil)
			require.True(t, errors.Is(err, ErrUnknownKeyType))
		})
	}
}
