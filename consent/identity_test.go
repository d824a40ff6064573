package consent_test

import (
	"context"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/privacy"
	"github.com/healthledger/healthledger/privacy/privacytest"
	"github.com/stretchr/testify/require"
)

// didFixture is a did:hl identity on the test ledger.
type didFixture struct {
	did      string
	rotation *identity.PrivateKey
	device   *identity.PrivateKey
	last     *identity.Operation
	holder   *identity.Holder
}

func newKey(t *testing.T) *identity.PrivateKey {
	k, err := identity.GenerateKey(identity.KeyTypeEd25519)
	require.NoError(t, err)
	return k
}

func deviceState(rotation, device *identity.PrivateKey) identity.State {
	return identity.State{
		RotationKeys:        []identity.PublicKey{rotation.Public()},
		VerificationMethods: []identity.VerificationMethod{{ID: "key-1", Key: device.Public(), Relationships: identity.AssertionMethod}},
	}
}

func createDID(t *testing.T, l *ledger.Log, at time.Time) *didFixture {
	f := &didFixture{rotation: newKey(t), device: newKey(t)}
	var err error
	f.last, f.did, err = identity.NewGenesis(deviceState(f.rotation, f.device), at, f.rotation)
	require.NoError(t, err)
	e, err := identity.OperationEntry(f.did, f.last, f.rotation)
	require.NoError(t, err)
	_, err = l.Append(context.Background(), e)
	require.NoError(t, err)
	f.holder, err = identity.NewHolder(f.did, f.did+"#key-1", f.device)
	require.NoError(t, err)
	return f
}

// replaceDevice swaps the device key: the old one stops being valid at at.
func (f *didFixture) replaceDevice(t *testing.T, l *ledger.Log, at time.Time) *identity.PrivateKey {
	old := f.device
	f.device = newKey(t)
	h, err := f.last.Hash()
	require.NoError(t, err)
	f.last, err = identity.NewOperation(identity.OpUpdate, h, deviceState(f.rotation, f.device), at, f.rotation)
	require.NoError(t, err)
	e, err := identity.OperationEntry(f.did, f.last, f.rotation)
	require.NoError(t, err)
	_, err = l.Append(context.Background(), e)
	require.NoError(t, err)
	f.holder, err = identity.NewHolder(f.did, f.did+"#key-1", f.device)
	require.NoError(t, err)
	return old
}

// TestWithRealDIDs runs the consent flow against did:hl identities resolved
// from the same ledger, which also requires every entry to be signed by
// its writer.
func TestWithRealDIDs(t *testing.T) {
	var _ consent.Sealer = (*privacy.Vault)(nil)
	var _ consent.Tagger = (*privacy.Tagger)(nil)
	ctx := context.Background()
	res, err := identity.NewResolver(identity.Config{})
	require.NoError(t, err)
	skey, _, err := ledger.GenerateKey("consent.test/identity")
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	l, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: "consent.test/identity", WriterVerifier: res})
	require.NoError(t, err)
	defer l.Close()
	res.SetLedger(l)

	start := time.Now().UTC().Add(-time.Minute)
	pat := createDID(t, l, start)
	ehr := createDID(t, l, start)
	// Sealed bodies and keyed tags, as a deployment runs it.
	vault, tagger := privacytest.Vault(t, "consent.test/identity"), privacytest.Tagger(t, "consent.test/identity")
	reg, err := consent.NewRegistry(consent.RegistryConfig{Log: l, Checker: res, Recorder: ehr.holder, Sealer: vault, Tagger: tagger})
	require.NoError(t, err)

	team := "did:hl:team-cardio"
	c := consent.Consent{Patient: pat.did, Status: consent.StatusActive, Decision: consent.Deny, Grantors: []string{pat.did},
		Provisions: []consent.Provision{{Actors: []consent.ActorMatch{{Reference: team}}, Purposes: []consent.Purpose{consent.PurposeTreat}}}}

	// A grant signed by the EHR's key for the patient is refused (by the
	// ledger's writer check or by the registry, either way not appended).
	forged, err := reg.GrantEntry(ctx, &c, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, identity.SignEntry(forged, ehr.device))
	_, err = reg.Submit(ctx, forged)
	require.Error(t, err)

	// The patient's own signature is accepted.
	g, err := reg.GrantEntry(ctx, &c, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, pat.holder.SignEntry(g))
	_, err = reg.Submit(ctx, g)
	require.NoError(t, err)

	req := consent.Request{
		Patient: pat.did, Actor: consent.Actor{DID: "did:hl:dr-a", Teams: []string{team}},
		Action: consent.ActionAccess, Purpose: consent.PurposeTreat,
		Resource: consent.Resource{Type: "Observation", ID: "obs-1"}, Time: time.Now().UTC(),
	}
	a, err := reg.Authorize(ctx, &req)
	require.NoError(t, err)
	require.True(t, a.Decision.Allowed)

	// The patient replaces their device key; the old key is now revoked.
	old := pat.replaceDevice(t, l, time.Now().UTC())
	late, err := reg.GrantEntry(ctx, &consent.Consent{Patient: pat.did, Status: consent.StatusActive, Decision: consent.Permit}, time.Now().UTC().Add(time.Second))
	require.NoError(t, err)
	late.Writer = pat.did
	require.NoError(t, identity.SignEntry(late, old))
	_, err = reg.Submit(ctx, late)
	require.ErrorIs(t, err, consent.ErrNotSignedByPatient, "a revoked key cannot grant")

	// The grant signed before the rotation still counts on replay, and the
	// recorded decision re-evaluates the same.
	fresh, err := consent.NewRegistry(consent.RegistryConfig{Log: l, Checker: res, Sealer: vault, Tagger: tagger})
	require.NoError(t, err)
	ids, _, err := fresh.Active(ctx, pat.did)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	re, err := fresh.Reevaluate(ctx, a.Receipt.Index)
	require.NoError(t, err)
	require.True(t, re.Recomputed.Allowed)
	report, err := fresh.AccessReport(ctx, pat.did)
	require.NoError(t, err)
	require.Len(t, report, 1)
	require.Equal(t, ehr.did, report[0].Recorder)

	// Consent entries stay off the DID's own tag: its resolution reads
	// only the two identity operations.
	idx, err := l.BySubject(ctx, identity.SubjectTag(pat.did), 0, 100)
	require.NoError(t, err)
	require.Len(t, idx, 2)
	_, err = res.Resolve(ctx, pat.did)
	require.NoError(t, err)
}
