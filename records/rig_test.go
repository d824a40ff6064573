package records

import (
	"context"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/privacy/privacytest"
	"github.com/stretchr/testify/require"
)

const testOrigin = "test.example/records"

// rig is a ledger with a patient, an EHR, a consent registry and a records
// Service, all on one memory store.
type rig struct {
	log      *ledger.Log
	verifier *ledger.Verifier
	patient  *identity.Holder
	ehr      *identity.Holder
	keys     KeyRing
	reg      *consent.Registry
	svc      *Service
}

func newRig(t testing.TB) *rig {
	t.Helper()
	ctx := context.Background()
	resolver, err := identity.NewResolver(identity.Config{})
	require.NoError(t, err)
	skey, vkey, err := ledger.GenerateKey(testOrigin)
	require.NoError(t, err)
	signer, err := ledger.NewSigner(skey)
	require.NoError(t, err)
	log, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: testOrigin, WriterVerifier: resolver})
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	resolver.SetLedger(log)
	r := &rig{log: log, keys: KeyRing{}}
	r.patient = r.newDID(t, ctx)
	r.ehr = r.newDID(t, ctx)
	vault, tagger := privacytest.Vault(t, testOrigin), privacytest.Tagger(t, testOrigin)
	r.reg, err = consent.NewRegistry(consent.RegistryConfig{Log: log, Checker: resolver, Recorder: r.ehr, Sealer: vault, Tagger: tagger,
		Evaluator: consent.Config{NoConsent: consent.OptIn, BreakGlassRoles: []string{"ER-PHYSICIAN"}},
		Custodial: consent.CustodialPolicy{Accept: true, Custodians: []string{r.ehr.DID()}}})
	require.NoError(t, err)
	r.svc, err = New(Config{Log: log, Registry: r.reg, Signer: r.ehr, Sealer: vault})
	require.NoError(t, err)
	r.verifier, err = ledger.NewVerifier(ledger.VerifierConfig{Origin: testOrigin, LogKey: vkey})
	require.NoError(t, err)
	return r
}

func (r *rig) newDID(t testing.TB, ctx context.Context) *identity.Holder {
	rotation, err := identity.GenerateKey(identity.KeyTypeEd25519)
	require.NoError(t, err)
	device, err := identity.GenerateKey(identity.KeyTypeEd25519)
	require.NoError(t, err)
	state := identity.State{
		RotationKeys:        []identity.PublicKey{rotation.Public()},
		VerificationMethods: []identity.VerificationMethod{{ID: "key-1", Key: device.Public(), Relationships: identity.AssertionMethod}},
	}
	op, did, err := identity.NewGenesis(state, time.Now().UTC().Add(-time.Second), rotation)
	require.NoError(t, err)
	e, err := identity.OperationEntry(did, op, rotation)
	require.NoError(t, err)
	_, err = r.log.Append(ctx, e)
	require.NoError(t, err)
	h, err := identity.NewHolder(did, did+"#key-1", device)
	require.NoError(t, err)
	r.keys[did] = []identity.PublicKey{device.Public()}
	return h
}

const careTeam = "did:hl:team-cardiology"

// grantTreatment has the patient permit treatment by the care team.
func (r *rig) grantTreatment(t testing.TB) *ledger.Receipt {
	ctx := context.Background()
	c := consent.Consent{Patient: r.patient.DID(), Status: consent.StatusActive, Decision: consent.Deny,
		Grantors: []string{r.patient.DID()},
		Provisions: []consent.Provision{{
			Actors:   []consent.ActorMatch{{Reference: careTeam}},
			Purposes: []consent.Purpose{consent.PurposeTreat},
		}}}
	e, err := r.reg.GrantEntry(ctx, &c, time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, r.patient.SignEntry(e))
	rc, err := r.reg.Submit(ctx, e)
	require.NoError(t, err)
	return rc
}

var (
	clinician  = consent.Actor{DID: "did:hl:dr-alice", Teams: []string{careTeam}, Roles: []string{"PRCP"}}
	researcher = consent.Actor{DID: "did:hl:researcher", Organization: "did:hl:org-university"}
	erDoctor   = consent.Actor{DID: "did:hl:er-doctor", Roles: []string{"ER-PHYSICIAN"}}
)
