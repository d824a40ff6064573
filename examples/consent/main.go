// Command consent walks through a patient's consent on a healthledger
// ledger: the patient permits treatment by a care team but keeps
// mental-health notes from one organization, a research team is denied,
// an ER doctor breaks the glass, and the patient reads the access report,
// checking a receipt for every access.
//
// Every identity is a did:hl DID on the same ledger, and the ledger only
// accepts entries signed by their writer's DID key.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/identity"
	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/memstore"
	"github.com/healthledger/healthledger/privacy"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

const origin = "example.org/consent-demo"

// Actors of the story. Clinicians and teams are plain identifiers here;
// only the patient and the EHR sign entries.
const (
	careTeam   = "did:hl:team-cardiology"
	orgGeneral = "did:hl:org-general-hospital"
	orgUniv    = "did:hl:org-university"
	drAlice    = "did:hl:dr-alice"   // cardiology team, General Hospital
	drBob      = "did:hl:dr-bob"     // cardiology team, private practice
	researcher = "did:hl:researcher" // University
	erDoctor   = "did:hl:er-doctor"
)

var names = map[string]string{
	drAlice: "Dr Alice (care team, General)", drBob: "Dr Bob (care team)",
	researcher: "Researcher (University)", erDoctor: "ER doctor",
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "consent example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	// A ledger whose writers must sign with their DID keys.
	resolver, err := identity.NewResolver(identity.Config{})
	if err != nil {
		return err
	}
	skey, vkey, err := ledger.GenerateKey(origin)
	if err != nil {
		return err
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		return err
	}
	log, err := ledger.Open(ctx, ledger.Config{Store: memstore.New(), Signer: signer, Origin: origin, WriterVerifier: resolver})
	if err != nil {
		return err
	}
	defer log.Close()
	resolver.SetLedger(log)

	patient, err := newDID(ctx, log)
	if err != nil {
		return err
	}
	ehr, err := newDID(ctx, log)
	if err != nil {
		return err
	}
	// Consent and access bodies are sealed under a key per patient, and
	// patients' entries are filed under keyed tags: the log shows that
	// something happened, not to whom or what. The key-encryption key is a
	// local Tink keyset here; in production, a KMS key.
	vault, tagger, err := newPrivacy()
	if err != nil {
		return err
	}
	reg, err := consent.NewRegistry(consent.RegistryConfig{
		Log: log, Checker: resolver, Recorder: ehr, Sealer: vault, Tagger: tagger,
		Evaluator: consent.Config{NoConsent: consent.OptIn, BreakGlassRoles: []string{"ER-PHYSICIAN"}},
	})
	if err != nil {
		return err
	}

	// 1. The patient signs a consent: treatment by the care team, except
	//    mental-health notes for General Hospital staff.
	c := consent.Consent{
		Patient: patient.DID(), Status: consent.StatusActive, Decision: consent.Deny,
		Grantors: []string{patient.DID()}, PolicyBasis: "https://example.org/policy/hipaa",
		Provisions: []consent.Provision{{
			Actors:   []consent.ActorMatch{{Reference: careTeam}},
			Purposes: []consent.Purpose{consent.PurposeTreat},
			Provisions: []consent.Provision{{
				Actors: []consent.ActorMatch{{Organization: orgGeneral}},
				Labels: []consent.Label{consent.LabelPsychiatry, consent.LabelPsychotherapyNote},
			}},
		}},
	}
	grant, err := reg.GrantEntry(ctx, &c, time.Now().UTC())
	if err != nil {
		return err
	}
	if err := patient.SignEntry(grant); err != nil {
		return err
	}
	rcpt, err := reg.Submit(ctx, grant)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "consent granted at ledger index %d\n", rcpt.Index)

	// 2. Access requests, each decided and recorded.
	psyNote := consent.Resource{Type: "DocumentReference", ID: "note-7", Labels: []consent.Label{consent.LabelPsychiatry}}
	labs := consent.Resource{Type: "Observation", ID: "hba1c-3"}
	requests := []struct {
		actor    consent.Actor
		purpose  consent.Purpose
		resource consent.Resource
	}{
		{consent.Actor{DID: drAlice, Organization: orgGeneral, Teams: []string{careTeam}}, consent.PurposeTreat, labs},
		{consent.Actor{DID: drAlice, Organization: orgGeneral, Teams: []string{careTeam}}, consent.PurposeTreat, psyNote},
		{consent.Actor{DID: drBob, Teams: []string{careTeam}}, consent.PurposeTreat, psyNote},
		{consent.Actor{DID: researcher, Organization: orgUniv}, consent.PurposeResearch, labs},
		{consent.Actor{DID: erDoctor, Organization: orgGeneral, Roles: []string{"ER-PHYSICIAN"}}, consent.PurposeBreakTheGlass, psyNote},
	}
	for _, r := range requests {
		req := consent.Request{Patient: patient.DID(), Actor: r.actor, Action: consent.ActionAccess,
			Purpose: r.purpose, Resource: r.resource, Time: time.Now().UTC()}
		a, err := reg.Authorize(ctx, &req)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-30s %-7s %-17s -> %s\n", names[r.actor.DID], r.purpose, r.resource.Type, describe(&a.Decision))
	}

	// 3. The patient reads the access report and checks every receipt
	//    with nothing but the log's public key.
	v, err := ledger.NewVerifier(ledger.VerifierConfig{Origin: origin, LogKey: vkey})
	if err != nil {
		return err
	}
	report, err := reg.AccessReport(ctx, patient.DID())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "access report: %d entries\n", len(report))
	for _, item := range report {
		if _, err := v.VerifyReceipt(item.Receipt); err != nil {
			return fmt.Errorf("receipt of entry %d: %w", item.Index, err)
		}
		re, err := reg.Reevaluate(ctx, item.Index)
		if err != nil {
			return fmt.Errorf("re-evaluating entry %d: %w", item.Index, err)
		}
		notify := ""
		if item.Record.Decision.BreakGlass {
			notify = "  << break-glass: patient notified"
		}
		fmt.Fprintf(out, "  #%d %-30s allowed=%-5v receipt ok, re-evaluated ok (%s)%s\n", item.Index,
			names[item.Record.Request.Actor.DID], item.Record.Decision.Allowed, re.Recomputed.Effect, notify)
	}
	return nil
}

func describe(d *consent.Decision) string {
	s := "DENY"
	if d.Allowed {
		s = "PERMIT"
	}
	switch {
	case d.BreakGlass:
		s += " (break-glass: audited, patient notified)"
	case d.Reason == consent.ReasonNoConsentDefault:
		s += " (no consent)"
	case len(d.Basis) > 0:
		path := d.Basis[0].Path
		if path == "" {
			path = "base decision"
		} else {
			path = "provision " + path
		}
		s += " by consent " + d.Basis[0].Consent.String()[:8] + ", " + path
	}
	for _, o := range d.Obligations {
		if o.Kind == consent.ObligationRedact {
			s += ", redact " + o.Label.String()
		}
	}
	return s
}

// newDID creates a did:hl identity on the ledger and returns its holder
// (its rotation key, which a real holder keeps offline, is dropped here).
func newDID(ctx context.Context, log *ledger.Log) (*identity.Holder, error) {
	id, err := identity.Create(ctx, log, identity.KeyTypeEd25519, time.Now().UTC().Add(-time.Second))
	if err != nil {
		return nil, err
	}
	return id.Holder, nil
}

// newPrivacy returns the deployment's sealer and tagger: a privacy.Vault
// whose data keys are wrapped by a local key-encryption key, and a keyed
// tagger. A deployment keeps the KEK in a KMS (registry.KMSClient), the
// wrapped keys in a durable privacy/filekeystore, and the tagger's keyset
// written encrypted (privacy.Tagger.WriteEncrypted).
func newPrivacy() (*privacy.Vault, *privacy.Tagger, error) {
	kh, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, nil, err
	}
	kek, err := aead.New(kh)
	if err != nil {
		return nil, nil, err
	}
	vault, err := privacy.NewVault(privacy.VaultConfig{Origin: origin, KEK: kek, Keys: privacy.NewMemoryKeyStore()})
	if err != nil {
		return nil, nil, err
	}
	th, err := privacy.NewTaggerKeyset()
	if err != nil {
		return nil, nil, err
	}
	tagger, err := privacy.NewTagger(th, origin)
	if err != nil {
		return nil, nil, err
	}
	return vault, tagger, nil
}
