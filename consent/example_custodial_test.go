package consent_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
)

// A patient signs a paper form at the front desk; the clinic's EHR records
// it on the patient's behalf, the pharmacy reads under it, and a verifier
// with only the log's key checks the scanned form.
func ExampleRegistry_CustodialGrantEntry() {
	ctx := context.Background()
	const origin = "example.clinic/log"
	resolver, _ := identity.NewResolver(identity.Config{})
	skey, vkey, _ := ledger.GenerateKey(origin)
	signer, _ := ledger.NewSigner(skey)
	log, _ := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin, WriterVerifier: resolver})
	defer log.Close()
	resolver.SetLedger(log)
	patient, ehr := exampleDID(ctx, log), exampleDID(ctx, log)

	reg, err := consent.NewRegistry(consent.RegistryConfig{
		Log: log, Checker: resolver, Recorder: ehr,
		InsecureClearBodies: true, InsecurePublicTags: true, // a Vault and a Tagger in production
		Custodial: consent.CustodialPolicy{Accept: true, Custodians: []string{ehr.DID()}},
	})
	if err != nil {
		panic(err)
	}
	scan := []byte("%PDF-1.7 (scan of the signed form)")
	now := time.Now().UTC()
	e, proof, err := reg.CustodialGrantEntry(ctx, &consent.Consent{
		Patient: patient.DID(), Status: consent.StatusActive, Decision: consent.Permit,
		Grantees: []string{"did:hl:org-pharmacy"},
	}, ehr.DID(), consent.Capture{Method: consent.CapturePaper, Witness: "did:hl:staff-7", CapturedAt: now,
		MediaType: "application/pdf", Form: scan}, now)
	if err != nil {
		panic(err)
	}
	if err := ehr.SignEntry(e); err != nil {
		panic(err)
	}
	if proof.Receipt, err = reg.Submit(ctx, e); err != nil {
		panic(err)
	}

	d, _ := reg.Decide(&consent.Request{
		Patient: patient.DID(), Actor: consent.Actor{DID: "did:hl:pharmacist", Organization: "did:hl:org-pharmacy"},
		Action: consent.ActionAccess, Purpose: consent.PurposeTreat, Resource: consent.Resource{Type: "MedicationRequest"}, Time: now,
	})
	fmt.Println("pharmacy:", d.Effect, "custodial:", d.Custodial())

	v, _ := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: vkey})
	fmt.Println("scan:", consent.VerifyCapturedForm(scan, proof, v))
	err = consent.VerifyCapturedForm([]byte("%PDF-1.7 (another form)"), proof, v)
	fmt.Println("another form:", errors.Is(err, consent.ErrFormMismatch), err)
	// Output:
	// pharmacy: permit custodial: true
	// scan: <nil>
	// another form: true consent: not the captured form: form differs
}

// exampleDID creates a did:hl identity on the log and returns its holder.
func exampleDID(ctx context.Context, log *ledger.Log) *identity.Holder {
	rotation, _ := identity.GenerateKey(identity.KeyTypeEd25519)
	device, _ := identity.GenerateKey(identity.KeyTypeEd25519)
	state := identity.State{
		RotationKeys:        []identity.PublicKey{rotation.Public()},
		VerificationMethods: []identity.VerificationMethod{{ID: "key-1", Key: device.Public(), Relationships: identity.AssertionMethod}},
	}
	op, did, err := identity.NewGenesis(state, time.Now().UTC().Add(-time.Second), rotation)
	if err != nil {
		panic(err)
	}
	e, err := identity.OperationEntry(did, op, rotation)
	if err != nil {
		panic(err)
	}
	if _, err := log.Append(ctx, e); err != nil {
		panic(err)
	}
	h, err := identity.NewHolder(did, did+"#key-1", device)
	if err != nil {
		panic(err)
	}
	return h
}
