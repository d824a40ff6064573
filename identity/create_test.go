package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/stretchr/testify/require"
)

func TestCreate(t *testing.T) {
	ctx := context.Background()
	skey, _, err := ledger.GenerateKey("ledger.example.org/create")
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	res, err := identity.NewResolver(identity.Config{})
	require.NoError(t, err)
	log, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: "ledger.example.org/create", WriterVerifier: res})
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	res.SetLedger(log)

	for _, kt := range []identity.KeyType{identity.KeyTypeEd25519, identity.KeyTypeP256} {
		t.Run(kt.String(), func(t *testing.T) {
			at := time.Now().UTC().Add(-time.Second)
			c, err := identity.Create(ctx, log, kt, at)
			require.NoError(t, err)
			did := c.Holder.DID()
			require.Equal(t, did+"#"+identity.AssertionKeyID, c.Holder.KeyID())
			r, err := res.Resolve(ctx, did)
			require.NoError(t, err)
			require.Equal(t, []identity.PublicKey{c.Rotation.Public()}, r.RotationKeys, "the returned rotation key is the identity's")
			require.Equal(t, c.Receipt.Index, r.Head.Index, "the receipt is the genesis entry's")

			msg := []byte("a consent")
			sig, err := c.Holder.Sign(msg)
			require.NoError(t, err)
			require.NoError(t, res.CheckSignature(ctx, did, msg, sig, time.Now()), "the holder's key verifies as the identity")
			rsig, err := c.Rotation.Sign(msg)
			require.NoError(t, err)
			require.Error(t, res.CheckSignature(ctx, did, msg, rsig, time.Now()), "the rotation key is not an assertion key")
			k, err := r.Document.Key(c.Holder.KeyID(), identity.AssertionMethod)
			require.NoError(t, err)
			require.NotEqual(t, c.Rotation.Public(), k, "two distinct keys")
		})
	}
}

type failingAppender struct{}

var errAppend = errors.New("append failed")

func (failingAppender) Append(context.Context, *ledger.Entry) (*ledger.Receipt, error) {
	return nil, errAppend
}

func TestCreateFailsWithItsAppend(t *testing.T) {
	c, err := identity.Create(context.Background(), failingAppender{}, identity.KeyTypeEd25519, time.Now())
	require.ErrorIs(t, err, errAppend)
	require.Nil(t, c)
}
