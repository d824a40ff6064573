package client_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/client"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"github.com/healthledger/healthledger/privacy"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"golang.org/x/mod/sumdb/note"
)

// The Client satisfies the interfaces identity and consent read through.
var (
	_ identity.Ledger = (*client.Client)(nil)
	_ consent.Log     = (*client.Client)(nil)
)

type did struct {
	did              string
	rotation, device *identity.PrivateKey
	last             *identity.Operation
	holder           *identity.Holder
}

func newKey(t *testing.T) *identity.PrivateKey {
	k, err := identity.GenerateKey(identity.KeyTypeEd25519)
	require.NoError(t, err)
	return k
}

func deviceState(rotation, device *identity.PrivateKey) identity.State {
	return identity.State{
		RotationKeys:        []identity.PublicKey{rotation.Public()},
		VerificationMethods: []identity.VerificationMethod{{ID: "key-1", Key: device.Public(), Relationships: identity.AssertionMethod | identity.Authentication}},
	}
}

func createDID(t *testing.T, l *ledger.Log, at time.Time) *did {
	d := &did{rotation: newKey(t), device: newKey(t)}
	var err error
	d.last, d.did, err = identity.NewGenesis(deviceState(d.rotation, d.device), at, d.rotation)
	require.NoError(t, err)
	e, err := identity.OperationEntry(d.did, d.last, d.rotation)
	require.NoError(t, err)
	_, err = l.Append(context.Background(), e)
	require.NoError(t, err)
	d.holder, err = identity.NewHolder(d.did, d.did+"#key-1", d.device)
	require.NoError(t, err)
	return d
}

func (d *did) replaceDevice(t *testing.T, l *ledger.Log, at time.Time) {
	d.device = newKey(t)
	h, err := d.last.Hash()
	require.NoError(t, err)
	d.last, err = identity.NewOperation(identity.OpUpdate, h, deviceState(d.rotation, d.device), at, d.rotation)
	require.NoError(t, err)
	e, err := identity.OperationEntry(d.did, d.last, d.rotation)
	require.NoError(t, err)
	_, err = l.Append(context.Background(), e)
	require.NoError(t, err)
	d.holder, err = identity.NewHolder(d.did, d.did+"#key-1", d.device)
	require.NoError(t, err)
}

// A hospital writes identities and consents to its log; a second party
// that reaches the log only over HTTP (a tileserver on a 127.0.0.1
// listener) resolves the DIDs, replays the consents and lists the accesses,
// and gets what the writer gets.
func TestRemoteParty(t *testing.T) {
	ctx := context.Background()
	const origin = "hospital.example/ledger"
	skey, vkey, err := ledger.GenerateKey(origin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	local, err := identity.NewResolver(identity.Config{})
	require.NoError(t, err)
	store := memstore.New()
	l, err := ledger.Open(ctx, ledger.Config{Store: store, Signer: signer, Origin: origin, WriterVerifier: local})
	require.NoError(t, err)
	defer l.Close()
	local.SetLedger(l)

	start := time.Now().UTC().Add(-time.Minute)
	pat := createDID(t, l, start)
	ehr := createDID(t, l, start)
	// Noise, so that the DIDs' entries are spread over several bundles.
	for i := range 300 {
		e := entry(i, "noise")
		require.NoError(t, ehr.holder.SignEntry(e))
		_, err := l.Append(ctx, e)
		require.NoError(t, err)
	}
	pat.replaceDevice(t, l, time.Now().UTC())

	// The deployment seals consent and access bodies and keys its tags; its
	// auditor, below, holds the same keys and reads over HTTP.
	kh, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	require.NoError(t, err)
	kek, err := aead.New(kh)
	require.NoError(t, err)
	vault, err := privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: privacy.NewMemoryKeyStore()})
	require.NoError(t, err)
	th, err := privacy.NewTaggerKeyset()
	require.NoError(t, err)
	tagger, err := privacy.NewTagger(th, origin)
	require.NoError(t, err)
	reg, err := consent.NewRegistry(consent.RegistryConfig{Log: l, Checker: local, Recorder: ehr.holder, Sealer: vault, Tagger: tagger})
	require.NoError(t, err)
	team := "did:hl:team-cardio"
	c := consent.Consent{Patient: pat.did, Status: consent.StatusActive, Decision: consent.Deny, Grantors: []string{pat.did},
		Provisions: []consent.Provision{{Actors: []consent.ActorMatch{{Reference: team}}, Purposes: []consent.Purpose{consent.PurposeTreat}}}}
	g, err := reg.GrantEntry(ctx, &c, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, pat.holder.SignEntry(g))
	_, err = reg.Submit(ctx, g)
	require.NoError(t, err)
	a, err := reg.Authorize(ctx, &consent.Request{
		Patient: pat.did, Actor: consent.Actor{DID: "did:hl:dr-a", Teams: []string{team}},
		Action: consent.ActionAccess, Purpose: consent.PurposeTreat,
		Resource: consent.Resource{Type: "Observation", ID: "obs-1"}, Time: time.Now().UTC(),
	})
	require.NoError(t, err)
	require.True(t, a.Decision.Allowed)

	// The remote party: the log's origin and key, and an HTTP URL.
	h, err := tileserver.New(tileserver.Config{Log: l, Payloads: store})
	require.NoError(t, err)
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	defer srv.Close()
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: vkey})
	require.NoError(t, err)
	remote, err := client.New(client.Config{URL: srv.URL, Verifier: v, FetchPayloads: true})
	require.NoError(t, err)
	nv, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	res, err := identity.NewResolver(identity.Config{Ledger: remote, CheckpointVerifier: nv, Origin: origin})
	require.NoError(t, err)

	for _, d := range []*did{pat, ehr} {
		got, err := res.Resolve(ctx, d.did)
		require.NoError(t, err)
		want, err := local.Resolve(ctx, d.did)
		require.NoError(t, err)
		require.Equal(t, want.Document, got.Document, "%s resolves the same over HTTP", d.did)
		require.Equal(t, want.Head.Hash, got.Head.Hash)
	}
	msg := []byte("example/request/v1")
	sig, err := pat.holder.Sign(msg)
	require.NoError(t, err)
	require.NoError(t, res.CheckSignature(ctx, pat.did, msg, sig, time.Now()), "the current device key verifies remotely")

	// Consents replayed from the read path alone.
	auditor, err := consent.NewRegistry(consent.RegistryConfig{Log: remote, Checker: res, Sealer: vault, Tagger: tagger})
	require.NoError(t, err)
	ids, _, err := auditor.Active(ctx, pat.did)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	re, err := auditor.Reevaluate(ctx, a.Receipt.Index)
	require.NoError(t, err)
	require.True(t, re.Recomputed.Allowed)
	report, err := auditor.AccessReport(ctx, pat.did)
	require.NoError(t, err)
	require.Len(t, report, 1)
	require.Equal(t, ehr.did, report[0].Recorder)

	// The payloads served are checked against the leaves' commitments, and
	// an erased one is reported as such.
	tag, err := reg.SubjectTag(pat.did)
	require.NoError(t, err)
	_, err = remote.Update(ctx)
	require.NoError(t, err)
	cpNow, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	head, err := ledger.ParseSignedCheckpoint(cpNow)
	require.NoError(t, err)
	x, err := ledger.NewErasureEntry(tag, head.Size, "GDPR Art. 17(1)(a)", ehr.did, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, ehr.holder.SignEntry(x))
	_, err = l.Erase(ctx, x)
	require.NoError(t, err)
	_, err = remote.Update(ctx)
	require.NoError(t, err)
	_, err = remote.Entry(ctx, a.Receipt.Index)
	require.ErrorIs(t, err, ledger.ErrErased)

	// The remote party cannot write.
	g2, err := reg.GrantEntry(ctx, &c, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, pat.holder.SignEntry(g2))
	_, err = auditor.Submit(ctx, g2)
	require.ErrorIs(t, err, client.ErrReadOnly)
}
