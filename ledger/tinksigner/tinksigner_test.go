package tinksigner_test

import (
	"testing"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/tinksigner"
	"github.com/healthledger/healthledger/merkle"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/signature"
	"golang.org/x/mod/sumdb/note"
)

const origin = "ledger.example.org/tink"

func TestTinkSigner(t *testing.T) {
	h, err := keyset.NewHandle(signature.ED25519KeyWithoutPrefixTemplate())
	require.NoError(t, err)
	s, vkey, err := tinksigner.New(h, origin)
	require.NoError(t, err)
	require.Equal(t, origin, s.Name())

	signed, err := ledger.SignCheckpoint(s, ledger.Checkpoint{Origin: origin, Size: 9, Root: merkle.HashLeaf([]byte("t"))}, time.Now())
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	require.Equal(t, v.KeyHash(), s.KeyHash())
	n, err := note.Open(signed, note.VerifierList(v))
	require.NoError(t, err)
	require.Len(t, n.Sigs, 1)
}

func TestTinkSignerRefuses(t *testing.T) {
	tests := []struct {
		name string
		h    func(t *testing.T) *keyset.Handle
	}{
		{"nil handle", func(t *testing.T) *keyset.Handle { return nil }},
		{"Tink prefix", func(t *testing.T) *keyset.Handle {
			h, err := keyset.NewHandle(signature.ED25519KeyTemplate())
			require.NoError(t, err)
			return h
		}},
		{"ECDSA key", func(t *testing.T) *keyset.Handle {
			h, err := keyset.NewHandle(signature.ECDSAP256RawKeyTemplate())
			require.NoError(t, err)
			return h
		}},
		{"public keyset", func(t *testing.T) *keyset.Handle {
			h, err := keyset.NewHandle(signature.ED25519KeyWithoutPrefixTemplate())
			require.NoError(t, err)
			pub, err := h.Public()
			require.NoError(t, err)
			return pub
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tinksigner.New(tt.h(t), origin)
			require.Error(t, err)
		})
	}
}
