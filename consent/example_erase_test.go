package consent_test

import (
	"context"
	"fmt"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
)

// A patient asks the clinic to erase their data: the grant they signed is
// erased on the ledger, and the next access is denied at once.
func ExampleRegistry_Erase() {
	ctx := context.Background()
	const origin = "example.clinic/log"
	resolver, _ := identity.NewResolver(identity.Config{})
	skey, _, _ := ledger.GenerateKey(origin)
	signer, _ := ledger.NewSigner(skey)
	log, _ := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin, WriterVerifier: resolver})
	defer log.Close()
	resolver.SetLedger(log)
	patient, ehr := exampleDID(ctx, log), exampleDID(ctx, log)
	reg, err := consent.NewRegistry(consent.RegistryConfig{
		Log: log, Checker: resolver, Recorder: ehr,
		InsecureClearBodies: true, InsecurePublicTags: true, // a Vault and a Tagger in production
	})
	if err != nil {
		panic(err)
	}
	grant, _ := reg.GrantEntry(ctx, &consent.Consent{
		Patient: patient.DID(), Status: consent.StatusActive, Decision: consent.Permit,
		Grantees: []string{"did:hl:org-clinic"},
	}, time.Now().UTC())
	if err := patient.SignEntry(grant); err != nil {
		panic(err)
	}
	rc, err := reg.Submit(ctx, grant)
	if err != nil {
		panic(err)
	}
	req := consent.Request{
		Patient: patient.DID(), Actor: consent.Actor{DID: "did:hl:dr-b", Organization: "did:hl:org-clinic"},
		Action: consent.ActionAccess, Purpose: consent.PurposeTreat, Resource: consent.Resource{Type: "Observation"},
		Time: time.Now().UTC(),
	}
	a, _ := reg.Authorize(ctx, &req)
	fmt.Println("before:", a.Decision.Allowed)

	// The EHR erases the payloads of the patient's entries up to the grant.
	tag, _ := reg.SubjectTag(patient.DID())
	ex, _ := ledger.NewErasureEntry(tag, rc.Index+1, "GDPR Art. 17(1)(a)", ehr.DID(), time.Now().UTC())
	if err := ehr.SignEntry(ex); err != nil {
		panic(err)
	}
	if _, err := reg.Erase(ctx, patient.DID(), ex); err != nil {
		panic(err)
	}
	a, _ = reg.Authorize(ctx, &req)
	fmt.Println("after:", a.Decision.Allowed, a.Decision.Reason)

	// The log itself takes erasures only through Log.Erase.
	_, err = log.Append(ctx, ex)
	fmt.Println(err)
	// Output:
	// before: true
	// after: false no-consent-default
	// ledger: invalid entry: an erasure entry is appended by Log.Erase: kind: refused by Log.Append
}
